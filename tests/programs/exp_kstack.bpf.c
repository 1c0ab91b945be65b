// SPDX-License-Identifier: GPL-2.0
/* Counter keyed by kernel stack id (bpf_get_stackid into a stack trace map):
 * context switches per kernel stack, decoded with kstack + stack_map. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "exp_common.h"

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 1024);
	__uint(key_size, sizeof(u32));
	__uint(value_size, 127 * sizeof(u64));
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, u32);
	__type(value, u64);
} switches_total SEC(".maps");

SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	long id = bpf_get_stackid(ctx, &stacks, 0);
	u32 key;

	if (id < 0)
		return 0;
	key = id;
	increment(&switches_total, &key, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

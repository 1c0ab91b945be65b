// SPDX-License-Identifier: GPL-2.0
/*
 * syscalls.bpf.c - exact syscall counts per (syscall number, process name).
 *
 * Attach alternatives on raw_syscalls:sys_enter (loader enables one):
 *   sys_enter__tp_btf  SEC("tp_btf/sys_enter")                   (regs, id)
 *   sys_enter__raw_tp  SEC("raw_tp/sys_enter")                   args[1] = id
 *   sys_enter__tp      SEC("tracepoint/raw_syscalls/sys_enter")  ctx->id
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "syscalls.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct syscall_key);
	__type(value, __u64);
} syscall_counts SEC(".maps");

static __always_inline int count_syscall(long id)
{
	struct syscall_key key = {};
	__u64 zero = 0, *count;

	if (id < 0)
		return 0;
	key.syscall_id = (__u32)id;
	bpf_get_current_comm(key.comm, sizeof(key.comm));

	/* Create the slot if absent (never overwrite a concurrent insert),
	 * then increment: the first call for a key is counted too. */
	count = bpf_map_lookup_elem(&syscall_counts, &key);
	if (!count) {
		bpf_map_update_elem(&syscall_counts, &key, &zero, BPF_NOEXIST);
		count = bpf_map_lookup_elem(&syscall_counts, &key);
		if (!count)
			return 0;	/* map full */
	}
	/* Atomic even though per-CPU: sys_enter programs may be preemptible
	 * (faultable syscall tracepoints), and two threads with the same comm
	 * on one CPU must not lose an increment. */
	__sync_fetch_and_add(count, 1);
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(sys_enter__tp_btf, struct pt_regs *regs, long id)
{
	return count_syscall(id);
}

SEC("raw_tp/sys_enter")
int sys_enter__raw_tp(struct bpf_raw_tracepoint_args *ctx)
{
	return count_syscall((long)ctx->args[1]);
}

SEC("tracepoint/raw_syscalls/sys_enter")
int sys_enter__tp(struct trace_event_raw_sys_enter *ctx)
{
	return count_syscall(ctx->id);
}

char LICENSE[] SEC("license") = "GPL";

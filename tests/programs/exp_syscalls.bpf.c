// SPDX-License-Identifier: GPL-2.0
/* Counter keyed by syscall number (ebpf_exporter's syscalls example kind). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "exp_common.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, __u64);
} syscalls_total SEC(".maps");

SEC("tp_btf/sys_enter")
int BPF_PROG(sys_enter, struct pt_regs *regs, long id)
{
	__u64 key = id;

	increment(&syscalls_total, &key, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

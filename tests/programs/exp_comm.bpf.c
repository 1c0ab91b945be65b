// SPDX-License-Identifier: GPL-2.0
/* String-keyed counter: getppid calls per process name. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "exp_common.h"

struct comm_key {
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct comm_key);
	__type(value, __u64);
} getppid_calls_total SEC(".maps");

SEC("tp_btf/sys_enter")
int BPF_PROG(sys_enter, struct pt_regs *regs, long id)
{
	struct comm_key key = {};

	if (id != NR_GETPPID)
		return 0;
	bpf_get_current_comm(key.comm, sizeof(key.comm));
	increment(&getppid_calls_total, &key, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

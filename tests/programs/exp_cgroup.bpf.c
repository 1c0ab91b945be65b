// SPDX-License-Identifier: GPL-2.0
/* Cgroup-keyed counter: getppid calls per cgroup v2 id, per CPU. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "exp_common.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, __u64);
} cgroup_getppid_total SEC(".maps");

SEC("tp_btf/sys_enter")
int BPF_PROG(sys_enter, struct pt_regs *regs, long id)
{
	__u64 cgroup_id;

	if (id != NR_GETPPID)
		return 0;
	cgroup_id = bpf_get_current_cgroup_id();
	increment(&cgroup_getppid_total, &cgroup_id, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

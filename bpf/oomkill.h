/* SPDX-License-Identifier: GPL-2.0 */
/* oomkill.h - struct event of bpf/oomkill.bpf.c: one OOM kill. */
#ifndef __EBPF_COLLECTOR_OOMKILL_H
#define __EBPF_COLLECTOR_OOMKILL_H

#define OOM_COMM_LEN 16

struct event {
	__u64 ts_ns;
	__u64 trigger_cgroup_id;	/* cgroup of the task whose allocation failed */
	__u64 total_vm_kb;		/* victim's memory, as the kernel reported it */
	__u64 anon_rss_kb;
	__u64 file_rss_kb;
	__u64 shmem_rss_kb;
	__u32 pid;			/* victim */
	__u32 uid;			/* victim's uid */
	__u32 trigger_pid;		/* task whose allocation failed */
	__s32 oom_score_adj;
	char comm[OOM_COMM_LEN];	/* victim */
	char trigger_comm[OOM_COMM_LEN];
};

#endif

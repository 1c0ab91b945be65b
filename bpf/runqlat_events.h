/* SPDX-License-Identifier: GPL-2.0 */
/*
 * runqlat_events.h - struct event of bpf/runqlat_events.bpf.c (user space reads
 * its layout from BTF): one run-queue wait, reported when the task gets the CPU.
 */
#ifndef __EBPF_COLLECTOR_RUNQLAT_EVENTS_H
#define __EBPF_COLLECTOR_RUNQLAT_EVENTS_H

#define RUNQ_COMM_LEN 16

struct event {
	__u64 ts_ns;		/* bpf_ktime_get_ns() when the task was switched in */
	__u64 cgroup_id;	/* cgroup v2 id of the task (0 with the tracepoint attach) */
	__u64 latency_ns;	/* runnable -> running */
	__u32 pid;		/* tgid (the thread id with the tracepoint attach) */
	__u32 tid;		/* thread id */
	char comm[RUNQ_COMM_LEN];	/* the task's command name */
};

#endif

/* SPDX-License-Identifier: GPL-2.0 */
/* bench_events.h - struct event of bpf/bench_events.bpf.c (used by bench/events.py). */
#ifndef __EBPF_COLLECTOR_BENCH_EVENTS_H
#define __EBPF_COLLECTOR_BENCH_EVENTS_H

struct event {
	__u64 ts_ns;
	__u64 value;	/* lseek offset: the workload's "measurement" */
	__u32 pid;
	__u32 fd;
};

#endif

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * proclife.h - struct event of bpf/proclife.bpf.c: one record per process that
 * exec'd while the program was loaded and then exited (user space reads the
 * layout from BTF).
 */
#ifndef __EBPF_COLLECTOR_PROCLIFE_H
#define __EBPF_COLLECTOR_PROCLIFE_H

#define PROCLIFE_COMM_LEN 16
#define PROCLIFE_FILENAME_LEN 256

struct event {
	__u64 ts_ns;		/* the exit, bpf_ktime_get_ns() (= end_ns) */
	__u64 start_ns;		/* the exec, bpf_ktime_get_ns() */
	__u64 end_ns;		/* the exit of the last thread, bpf_ktime_get_ns() */
	__u64 cgroup_id;	/* cgroup v2 id of the process */
	__u32 pid;		/* tgid */
	__u32 ppid;		/* parent's tgid at exit */
	__u32 uid;
	__s32 exit_code;	/* exit status (0..255) when exited, else 0 */
	__s32 exit_signal;	/* the signal that killed it, else 0 */
	char comm[PROCLIFE_COMM_LEN];
	char filename[PROCLIFE_FILENAME_LEN];	/* the path given to exec */
};

/* What the exec handler remembers per tgid until the exit. */
struct exec_start {
	__u64 start_ns;
	char filename[PROCLIFE_FILENAME_LEN];
};

#endif

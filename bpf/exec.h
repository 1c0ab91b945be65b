/* SPDX-License-Identifier: GPL-2.0 */
/*
 * exec.h - struct event of bpf/exec.bpf.c (user space reads its layout from BTF).
 * args holds argv as the process laid it out: NUL-separated, args_size bytes
 * used (truncated at EXEC_ARGS_LEN).
 */
#ifndef __EBPF_COLLECTOR_EXEC_H
#define __EBPF_COLLECTOR_EXEC_H

#define EXEC_COMM_LEN 16
#define EXEC_FILENAME_LEN 256
#define EXEC_ARGS_LEN 512

struct event {
	__u64 ts_ns;		/* bpf_ktime_get_ns() */
	__u64 cgroup_id;	/* cgroup v2 id of the process */
	__u32 pid;		/* tgid */
	__u32 ppid;		/* parent's tgid */
	__u32 uid;
	__u32 args_size;
	char comm[EXEC_COMM_LEN];
	char filename[EXEC_FILENAME_LEN];
	char args[EXEC_ARGS_LEN];
};

#endif

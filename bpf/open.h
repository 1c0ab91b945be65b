/* SPDX-License-Identifier: GPL-2.0 */
/* open.h - struct event of bpf/open.bpf.c: one openat() and its result. */
#ifndef __EBPF_COLLECTOR_OPEN_H
#define __EBPF_COLLECTOR_OPEN_H

#define OPEN_COMM_LEN 16
#define OPEN_FILENAME_LEN 256

struct event {
	__u64 ts_ns;		/* at return */
	__u64 cgroup_id;
	__u64 latency_ns;	/* entry to return */
	__u32 pid;		/* tgid */
	__u32 tid;
	__u32 uid;
	__s32 flags;		/* O_* flags */
	__s32 ret;		/* fd, or -errno */
	__u32 mode;
	char comm[OPEN_COMM_LEN];
	char filename[OPEN_FILENAME_LEN];
};

#endif

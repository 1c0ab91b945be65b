/* SPDX-License-Identifier: GPL-2.0 */
/* profile.h - map layouts of bpf/profile.bpf.c (on-CPU stack sampling). */
#ifndef __EBPF_COLLECTOR_PROFILE_H
#define __EBPF_COLLECTOR_PROFILE_H

#define PROFILE_COMM_LEN 16
#define PROFILE_MAX_DEPTH 127	/* PERF_MAX_STACK_DEPTH */

struct stack_key {
	__u32 pid;		/* tgid */
	__s32 kstack_id;	/* id in `stacks`, < 0 when there is none (e.g. -EFAULT) */
	__s32 ustack_id;
	char comm[PROFILE_COMM_LEN];
};

#endif

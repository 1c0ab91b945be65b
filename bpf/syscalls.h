/* SPDX-License-Identifier: GPL-2.0 */
/*
 * syscalls.h - layout shared between bpf/syscalls.bpf.c and the Python loader.
 *
 *   struct syscall_key  size 20, align 4, no padding
 *     offset 0  __u32 syscall_id   syscall number (arch specific table)
 *     offset 4  char  comm[16]     bpf_get_current_comm(), NUL terminated,
 *                                  bytes after the NUL are zero
 *
 * Map syscall_counts is a PERCPU_HASH (key struct syscall_key, value __u64
 * count): user space sums the per-CPU values.
 */
#ifndef __EBPF_COLLECTOR_SYSCALLS_H
#define __EBPF_COLLECTOR_SYSCALLS_H

#define SYSCALLS_COMM_LEN 16

struct syscall_key {
	__u32 syscall_id;
	char comm[SYSCALLS_COMM_LEN];
};

#endif /* __EBPF_COLLECTOR_SYSCALLS_H */

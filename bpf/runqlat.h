/* SPDX-License-Identifier: GPL-2.0 */
/*
 * runqlat.h - layout shared between bpf/runqlat.bpf.c and the Python loader.
 *
 * Keep in sync with the ctypes mirror on the Python side:
 *   struct runq_hist  size 520, align 8
 *     offset   0  __u64 slots[64]   slot s counts latencies d (ns) with
 *                                   d in (2^(s-1), 2^s]; slot 0: d <= 1
 *     offset 512  __u64 sum_ns      sum of all recorded latencies (ns)
 *
 * Map runq_hist is a PERCPU_ARRAY with a single entry (key 0): user space
 * sums the per-CPU copies.
 */
#ifndef __EBPF_COLLECTOR_RUNQLAT_H
#define __EBPF_COLLECTOR_RUNQLAT_H

#define RUNQ_HIST_SLOTS 64

struct runq_hist {
	__u64 slots[RUNQ_HIST_SLOTS];
	__u64 sum_ns;
};

#endif /* __EBPF_COLLECTOR_RUNQLAT_H */

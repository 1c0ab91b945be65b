/* SPDX-License-Identifier: GPL-2.0 */
/*
 * uprobe.h - layout shared between bpf/uprobe.bpf.c and receivers/uprobe.
 *
 * One object serves every probe of a receiver: each attachment carries its
 * probe id as the BPF cookie (bpf_get_attach_cookie), which indexes the maps.
 *
 *   calls      PERCPU_ARRAY[UPROBE_MAX_PROBES] of __u64: calls per probe id
 *   latency    PERCPU_ARRAY[UPROBE_MAX_PROBES] of struct uprobe_hist:
 *              size 520, align 8
 *                offset   0  __u64 slots[64]  slot s counts durations d (ns)
 *                                             with d in (2^(s-1), 2^s]
 *                offset 512  __u64 sum_ns
 *   probe_flags ARRAY[UPROBE_MAX_PROBES] of __u32: bit 0 = measure latency
 *   starts     HASH struct uprobe_start_key {pid_tgid, probe} -> entry ns
 */
#ifndef __EBPF_COLLECTOR_UPROBE_H
#define __EBPF_COLLECTOR_UPROBE_H

#define UPROBE_MAX_PROBES 256
#define UPROBE_HIST_SLOTS 64

struct uprobe_hist {
	__u64 slots[UPROBE_HIST_SLOTS];
	__u64 sum_ns;
};

struct uprobe_start_key {
	__u64 pid_tgid;
	__u64 probe;
};

#endif /* __EBPF_COLLECTOR_UPROBE_H */

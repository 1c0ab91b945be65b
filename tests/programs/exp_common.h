/* SPDX-License-Identifier: GPL-2.0 */
/* Shared by the ebpf_exporter-style test programs: the syscall number of
 * getppid, which the workload helper calls a known number of times. */
#ifndef __EXP_COMMON_H
#define __EXP_COMMON_H

#if defined(__TARGET_ARCH_arm64)
#define NR_GETPPID 173
#else
#define NR_GETPPID 110
#endif

static __always_inline void increment(void *map, void *key, __u64 by)
{
	__u64 zero = 0, *count = bpf_map_lookup_elem(map, key);

	if (!count) {
		bpf_map_update_elem(map, key, &zero, BPF_NOEXIST);
		count = bpf_map_lookup_elem(map, key);
		if (!count)
			return;
	}
	__sync_fetch_and_add(count, by);
}

#endif

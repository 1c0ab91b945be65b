/* SPDX-License-Identifier: GPL-2.0 */
/*
 * log2.bpf.h - loop-free integer log2 helpers for BPF programs.
 *
 * Histogram convention used by ebpf-collector (matches OpenTelemetry's
 * exponential histogram at scale 0, whose buckets are upper-inclusive):
 *
 *     slot 0        counts values v <= 1
 *     slot s >= 1   counts values v in (2^(s-1), 2^s]
 *
 * i.e. slot(v) = ceil(log2(v)), clamped to [0, 63].
 *
 * Everything is straight-line code (no loops, no __builtin_clz, which the
 * BPF backend has no instruction for), so the verifier sees a handful of
 * ALU instructions and the result is provably in [0, 63] when used as an
 * array index.
 */
#ifndef __EBPF_COLLECTOR_LOG2_BPF_H
#define __EBPF_COLLECTOR_LOG2_BPF_H

#define LOG2_MAX_SLOTS 64

/* floor(log2(v)) for v >= 1; returns 0 for v == 0.  Branch-free binary search. */
static __always_inline __u32 floor_log2_u64(__u64 v)
{
	__u32 r, shift;

	r = (v > 0xFFFFFFFFULL) << 5; v >>= r;
	shift = (v > 0xFFFF) << 4; v >>= shift; r |= shift;
	shift = (v > 0xFF) << 3;   v >>= shift; r |= shift;
	shift = (v > 0xF) << 2;    v >>= shift; r |= shift;
	shift = (v > 0x3) << 1;    v >>= shift; r |= shift;
	r |= (__u32)(v >> 1);
	return r;
}

/*
 * ceil(log2(v)) with ceil_log2(0) == ceil_log2(1) == 0, clamped to 63 so the
 * result can index a 64-slot array directly (only v > 2^63 is clamped).
 *   v:     0 1 2 3 4 5..8 9..16 ...
 *   slot:  0 0 1 2 2  3    4    ...
 */
static __always_inline __u32 ceil_log2_u64(__u64 v)
{
	__u32 s;

	if (v <= 1)
		return 0;
	s = floor_log2_u64(v - 1) + 1;
	return s > LOG2_MAX_SLOTS - 1 ? LOG2_MAX_SLOTS - 1 : s;
}

#endif /* __EBPF_COLLECTOR_LOG2_BPF_H */

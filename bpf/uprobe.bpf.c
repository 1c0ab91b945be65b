// SPDX-License-Identifier: GPL-2.0
/*
 * uprobe.bpf.c - count calls of user-space functions and time them, for the
 * `uprobe` receiver ("retrofit without writing C").
 *
 * The receiver loads this object once and attaches the programs by hand,
 * once per configured function, with the probe id as BPF cookie:
 *   on_entry   uprobe     calls[probe]++; with latency, remember the entry time
 *   on_return  uretprobe  latency[probe] += log2 slot of (now - entry time)
 * The entry time is keyed by (thread, probe), so nested calls of different
 * probed functions on one thread do not disturb each other. A recursive call
 * of the same function overwrites its caller's entry time: only the innermost
 * call of a recursion is timed (all calls are still counted).
 *
 * Cookies need kernel >= 5.15 (bpf_get_attach_cookie for uprobes).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "log2.bpf.h"
#include "uprobe.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, UPROBE_MAX_PROBES);
	__type(key, __u32);
	__type(value, __u64);
} calls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, UPROBE_MAX_PROBES);
	__type(key, __u32);
	__type(value, struct uprobe_hist);
} latency SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct uprobe_start_key);
	__type(value, __u64);
} starts SEC(".maps");

/* Written by the receiver after load: bit 0 set when the probe is timed, so
 * count-only probes never touch the `starts` hash. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, UPROBE_MAX_PROBES);
	__type(key, __u32);
	__type(value, __u32);
} probe_flags SEC(".maps");

#define UPROBE_FLAG_LATENCY 1

SEC("uprobe")
int on_entry(struct pt_regs *ctx)
{
	__u32 probe = (__u32)bpf_get_attach_cookie(ctx);
	__u64 *count = bpf_map_lookup_elem(&calls, &probe);
	__u32 *flags = bpf_map_lookup_elem(&probe_flags, &probe);

	if (!count || !flags)
		return 0; /* probe id out of range */
	/* Atomic although per-CPU: uprobe programs only disable migration, so
	 * another thread on this CPU may preempt us mid-increment. */
	__sync_fetch_and_add(count, 1);

	if (*flags & UPROBE_FLAG_LATENCY) {
		struct uprobe_start_key key = { .pid_tgid = bpf_get_current_pid_tgid(), .probe = probe };
		__u64 ts = bpf_ktime_get_ns();

		bpf_map_update_elem(&starts, &key, &ts, BPF_ANY);
	}
	return 0;
}

SEC("uretprobe")
int on_return(struct pt_regs *ctx)
{
	struct uprobe_start_key key = {
		.pid_tgid = bpf_get_current_pid_tgid(),
		.probe = bpf_get_attach_cookie(ctx),
	};
	__u32 probe = (__u32)key.probe;
	struct uprobe_hist *hist;
	__u64 *start, delta;

	start = bpf_map_lookup_elem(&starts, &key);
	if (!start)
		return 0; /* entered before we attached, or entry time overwritten by recursion */
	delta = bpf_ktime_get_ns() - *start;
	bpf_map_delete_elem(&starts, &key);

	hist = bpf_map_lookup_elem(&latency, &probe);
	if (!hist)
		return 0;
	__sync_fetch_and_add(&hist->slots[ceil_log2_u64(delta)], 1);
	__sync_fetch_and_add(&hist->sum_ns, delta);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: GPL-2.0
/*
 * bench_events.bpf.c - the event stream of bench/events.py: one 24-byte event per
 * lseek(2) by the process whose tgid is `target_tgid` (set before load), read
 * through the events ring buffer of events.bpf.h. Not part of the catalog.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "events.bpf.h"
#include "bench_events.h"

const volatile __u32 target_tgid = 0;

EVENT_SCRATCH(struct event);

SEC("tracepoint/syscalls/sys_enter_lseek")
int sys_enter_lseek__tp(struct trace_event_raw_sys_enter *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct event *e;

	if (target_tgid && (pid_tgid >> 32) != target_tgid)
		return 0;
	e = scratch_event();
	if (!e)
		return 0;
	e->ts_ns = bpf_ktime_get_ns();
	e->value = ctx->args[1];
	e->pid = pid_tgid >> 32;
	e->fd = (__u32)ctx->args[0];
	emit_event(ctx, e, sizeof(*e));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

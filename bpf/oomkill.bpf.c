// SPDX-License-Identifier: GPL-2.0
/*
 * oomkill.bpf.c - one event per OOM kill (oom:mark_victim).
 *
 * Attach: tracepoint oom/mark_victim only: its record carries the victim's
 * memory breakdown as the kernel computed it at kill time (the BTF-typed hook
 * passes only the task, and re-deriving RSS from per-CPU mm counters differs
 * between kernel versions). The tracepoint runs in the context of the task whose
 * allocation failed (the trigger), which in a memory cgroup OOM is usually a
 * task of that cgroup.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "events.bpf.h"
#include "oomkill.h"

EVENT_SCRATCH(struct event);

SEC("tracepoint/oom/mark_victim")
int mark_victim__tp(struct trace_event_raw_mark_victim *ctx)
{
	struct event *e = scratch_event();
	unsigned int off = ctx->__data_loc_comm & 0xFFFF;

	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = bpf_ktime_get_ns();
	e->trigger_cgroup_id = bpf_get_current_cgroup_id();
	e->pid = ctx->pid;
	e->uid = ctx->uid;
	e->trigger_pid = bpf_get_current_pid_tgid() >> 32;
	e->total_vm_kb = ctx->total_vm;
	e->anon_rss_kb = ctx->anon_rss;
	e->file_rss_kb = ctx->file_rss;
	e->shmem_rss_kb = ctx->shmem_rss;
	e->oom_score_adj = ctx->oom_score_adj;
	bpf_probe_read_kernel_str(e->comm, sizeof(e->comm), (void *)ctx + off);
	bpf_get_current_comm(e->trigger_comm, sizeof(e->trigger_comm));
	emit_event(ctx, e, sizeof(*e));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: GPL-2.0
/*
 * runqlat_events.bpf.c - one event per run-queue wait: which task waited for a
 * CPU, how long, in which cgroup.  The same measurement as runqlat.bpf.c (time
 * from becoming runnable - woken, newly created, or preempted while runnable -
 * until switched in), but sent as events (bpf/events.bpf.h) so user space can
 * attribute every wait to a pod and build summaries with exact quantiles.
 *
 * Attach alternatives (the loader enables exactly one per base name):
 *   <base>__tp_btf  SEC("tp_btf/<event>")            BTF-typed args
 *   <base>__raw_tp  SEC("raw_tp/<event>")            raw u64 args
 *   <base>__tp      SEC("tracepoint/sched/<event>")  trace_event_raw_* record
 * for base in { sched_wakeup, sched_wakeup_new, sched_switch }.  The tracepoint
 * record names `next` by thread id and comm only: with it, `pid` is the thread id
 * and `cgroup_id` is 0 (user space then associates by pid).
 *
 * .rodata: min_latency_ns - waits shorter than this are not sent (0: all).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "events.bpf.h"
#include "runqlat_events.h"
#include "task_state.bpf.h"

#define TASK_RUNNING 0
/* tracepoint prev_state: "still runnable" is (state & 0xff) == 0, see runqlat.bpf.c */
#define TP_PREV_STATE_MASK 0xff

const volatile __u64 min_latency_ns = 0;

EVENT_SCRATCH(struct event);

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);	/* thread id (task->pid) */
	__type(value, __u64);	/* bpf_ktime_get_ns() when it became runnable */
} start SEC(".maps");

static __always_inline void record_start(__u32 tid)
{
	__u64 ts;

	if (tid == 0)
		return;
	ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&start, &tid, &ts, BPF_ANY);
}

/* The wait of `tid` ends now; returns it, or 0 when nothing is to be sent. */
static __always_inline __u64 take_wait(__u32 tid, __u64 now)
{
	__u64 *tsp, delta;

	if (tid == 0)
		return 0;
	tsp = bpf_map_lookup_elem(&start, &tid);
	if (!tsp)
		return 0;
	delta = now - *tsp;
	bpf_map_delete_elem(&start, &tid);
	if ((__s64)delta < 0 || delta < min_latency_ns)
		return 0;
	return delta;
}

/* ---- logical handlers (one body each) -------------------------------- */

static __always_inline int handle_switch_tasks(void *ctx, struct task_struct *prev,
					       struct task_struct *next)
{
	__u64 now = bpf_ktime_get_ns(), latency;
	__u32 tid = BPF_CORE_READ(next, pid);
	struct event *e;

	/* prev preempted while runnable: its run-queue wait starts now */
	if (get_task_state(prev) == TASK_RUNNING)
		record_start(BPF_CORE_READ(prev, pid));
	latency = take_wait(tid, now);
	if (!latency || !(e = scratch_event()))
		return 0;
	e->ts_ns = now;
	e->latency_ns = latency;
	e->tid = tid;
	e->pid = BPF_CORE_READ(next, tgid);
	e->cgroup_id = BPF_CORE_READ(next, cgroups, dfl_cgrp, kn, id);
	/* the whole array: the kernel keeps comm NUL-padded, no stale bytes */
	BPF_CORE_READ_INTO(&e->comm, next, comm);
	emit_event(ctx, e, sizeof(*e));
	return 0;
}

/* ---- sched_wakeup / sched_wakeup_new ---------------------------------- */

SEC("tp_btf/sched_wakeup")
int BPF_PROG(sched_wakeup__tp_btf, struct task_struct *p)
{
	record_start(BPF_CORE_READ(p, pid));
	return 0;
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(sched_wakeup__raw_tp, struct task_struct *p)
{
	record_start(BPF_CORE_READ(p, pid));
	return 0;
}

SEC("tracepoint/sched/sched_wakeup")
int sched_wakeup__tp(struct trace_event_raw_sched_wakeup_template *ctx)
{
	record_start(ctx->pid);
	return 0;
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(sched_wakeup_new__tp_btf, struct task_struct *p)
{
	record_start(BPF_CORE_READ(p, pid));
	return 0;
}

SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(sched_wakeup_new__raw_tp, struct task_struct *p)
{
	record_start(BPF_CORE_READ(p, pid));
	return 0;
}

SEC("tracepoint/sched/sched_wakeup_new")
int sched_wakeup_new__tp(struct trace_event_raw_sched_wakeup_template *ctx)
{
	record_start(ctx->pid);
	return 0;
}

/* ---- sched_switch ------------------------------------------------------ */
/* TP_PROTO(bool preempt, struct task_struct *prev, struct task_struct *next, ...) */

SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch__tp_btf, bool preempt, struct task_struct *prev,
	     struct task_struct *next)
{
	return handle_switch_tasks(ctx, prev, next);
}

SEC("raw_tp/sched_switch")
int BPF_PROG(sched_switch__raw_tp, bool preempt, struct task_struct *prev,
	     struct task_struct *next)
{
	return handle_switch_tasks(ctx, prev, next);
}

SEC("tracepoint/sched/sched_switch")
int sched_switch__tp(struct trace_event_raw_sched_switch *ctx)
{
	__u64 now = bpf_ktime_get_ns(), latency;
	struct event *e;

	if ((ctx->prev_state & TP_PREV_STATE_MASK) == 0)
		record_start(ctx->prev_pid);
	latency = take_wait(ctx->next_pid, now);
	if (!latency || !(e = scratch_event()))
		return 0;
	e->ts_ns = now;
	e->latency_ns = latency;
	e->tid = ctx->next_pid;
	e->pid = e->tid;
	e->cgroup_id = 0;
	bpf_probe_read_kernel(e->comm, sizeof(e->comm), ctx->next_comm);
	emit_event(ctx, e, sizeof(*e));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

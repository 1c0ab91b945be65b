// SPDX-License-Identifier: GPL-2.0
/*
 * runqlat.bpf.c - run-queue latency histogram, aggregated in the kernel.
 *
 * A task's run-queue latency is the time from becoming runnable (woken up,
 * newly created, or preempted while still TASK_RUNNING) until it is switched
 * in.  The start time is kept per thread in `start`; on sched_switch the
 * delta for `next` goes into a per-CPU log2 histogram (`runq_hist`, see
 * runqlat.h and log2.bpf.h for the bucket convention).
 *
 * Attach alternatives (the loader enables exactly one per base name):
 *   <base>__tp_btf  SEC("tp_btf/<event>")            BTF-typed args
 *   <base>__raw_tp  SEC("raw_tp/<event>")            raw u64 args
 *   <base>__tp      SEC("tracepoint/sched/<event>")  trace_event_raw_* record
 * for base in { sched_wakeup, sched_wakeup_new, sched_switch }.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "log2.bpf.h"
#include "runqlat.h"
#include "task_state.bpf.h"

#define TASK_RUNNING 0

/*
 * Tracepoint record prev_state: the kernel reports a preempted task as
 * TASK_REPORT_MAX (0x100, printed "R+") and a task that stayed runnable
 * without preemption as 0 ("R"); any bit in 0xff is a sleeping/stopped/dead
 * state (0x80 = TASK_REPORT_IDLE).  So "still runnable" is (state & 0xff) == 0.
 */
#define TP_PREV_STATE_MASK 0xff

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);	/* thread id (task->pid) */
	__type(value, __u64);	/* bpf_ktime_get_ns() when it became runnable */
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct runq_hist);
} runq_hist SEC(".maps");

static __always_inline void record_start(__u32 pid)
{
	__u64 ts;

	if (pid == 0)
		return;
	ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&start, &pid, &ts, BPF_ANY);
}

static __always_inline void record_switch_in(__u32 pid)
{
	__u32 zero = 0, slot;
	struct runq_hist *hist;
	__u64 *tsp, delta;

	if (pid == 0)
		return;
	tsp = bpf_map_lookup_elem(&start, &pid);
	if (!tsp)
		return;
	delta = bpf_ktime_get_ns() - *tsp;
	bpf_map_delete_elem(&start, &pid);
	if ((__s64)delta < 0)
		return;

	hist = bpf_map_lookup_elem(&runq_hist, &zero);
	if (!hist)
		return;
	slot = ceil_log2_u64(delta);
	/* Atomic even though per-CPU: a preempted program on the same CPU
	 * must not lose an increment. */
	__sync_fetch_and_add(&hist->slots[slot & (RUNQ_HIST_SLOTS - 1)], 1);
	__sync_fetch_and_add(&hist->sum_ns, delta);
}

/* ---- logical handlers (one body each) -------------------------------- */

static __always_inline int handle_wakeup_task(struct task_struct *p)
{
	record_start(BPF_CORE_READ(p, pid));
	return 0;
}

static __always_inline int handle_switch_tasks(struct task_struct *prev,
					       struct task_struct *next)
{
	/* prev preempted while runnable: its run-queue wait starts now */
	if (get_task_state(prev) == TASK_RUNNING)
		record_start(BPF_CORE_READ(prev, pid));
	record_switch_in(BPF_CORE_READ(next, pid));
	return 0;
}

static __always_inline int handle_switch_record(__u32 prev_pid, long prev_state,
						__u32 next_pid)
{
	if ((prev_state & TP_PREV_STATE_MASK) == 0)
		record_start(prev_pid);
	record_switch_in(next_pid);
	return 0;
}

/* ---- sched_wakeup ------------------------------------------------------ */

SEC("tp_btf/sched_wakeup")
int BPF_PROG(sched_wakeup__tp_btf, struct task_struct *p)
{
	return handle_wakeup_task(p);
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(sched_wakeup__raw_tp, struct task_struct *p)
{
	return handle_wakeup_task(p);
}

SEC("tracepoint/sched/sched_wakeup")
int sched_wakeup__tp(struct trace_event_raw_sched_wakeup_template *ctx)
{
	record_start(ctx->pid);
	return 0;
}

/* ---- sched_wakeup_new -------------------------------------------------- */

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(sched_wakeup_new__tp_btf, struct task_struct *p)
{
	return handle_wakeup_task(p);
}

SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(sched_wakeup_new__raw_tp, struct task_struct *p)
{
	return handle_wakeup_task(p);
}

SEC("tracepoint/sched/sched_wakeup_new")
int sched_wakeup_new__tp(struct trace_event_raw_sched_wakeup_template *ctx)
{
	record_start(ctx->pid);
	return 0;
}

/* ---- sched_switch ------------------------------------------------------ */
/* TP_PROTO(bool preempt, struct task_struct *prev, struct task_struct *next
 *          [, unsigned int prev_state  -- 5.18+, not used]) */

SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch__tp_btf, bool preempt, struct task_struct *prev,
	     struct task_struct *next)
{
	return handle_switch_tasks(prev, next);
}

SEC("raw_tp/sched_switch")
int BPF_PROG(sched_switch__raw_tp, bool preempt, struct task_struct *prev,
	     struct task_struct *next)
{
	return handle_switch_tasks(prev, next);
}

SEC("tracepoint/sched/sched_switch")
int sched_switch__tp(struct trace_event_raw_sched_switch *ctx)
{
	return handle_switch_record(ctx->prev_pid, ctx->prev_state, ctx->next_pid);
}

char LICENSE[] SEC("license") = "GPL";

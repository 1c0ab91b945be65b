// SPDX-License-Identifier: GPL-2.0
/*
 * proclife.bpf.c - process lifetimes: one event per process, from its exec to
 * the exit of its last thread (exec-to-exit durations, e.g. as spans).
 *
 * sched_process_exec remembers the exec time and filename per tgid in an LRU
 * hash; sched_process_exit of the last live thread of that tgid takes the entry
 * and emits start_ns/end_ns (both bpf_ktime_get_ns, CLOCK_MONOTONIC), the exit
 * status and the process identity. Processes exec'd before the program was
 * loaded, and forks that never exec, have no entry and emit nothing. A process
 * that execs again restarts its lifetime: the event covers the last image.
 *
 * Attach alternatives, per handler (the loader enables one of each):
 *   exec__tp_btf / exec__raw_tp / exec__tp   sched:sched_process_exec
 *   exit__tp_btf / exit__raw_tp / exit__tp   sched:sched_process_exit
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "events.bpf.h"
#include "proclife.h"

EVENT_SCRATCH(struct event);

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct exec_start);
} starts SEC(".maps");

/* The value is too large for the BPF stack: built in a per-CPU slot. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct exec_start);
} start_scratch SEC(".maps");

static __always_inline int on_exec(const char *filename)
{
	__u32 zero = 0, tgid = bpf_get_current_pid_tgid() >> 32;
	struct exec_start *s = bpf_map_lookup_elem(&start_scratch, &zero);

	if (!s)
		return 0;
	s->start_ns = bpf_ktime_get_ns();
	bpf_probe_read_kernel_str(s->filename, sizeof(s->filename), filename);
	bpf_map_update_elem(&starts, &tgid, s, BPF_ANY);
	return 0;
}

static __always_inline int on_exit(void *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	struct exec_start *s;
	struct event *e;
	int code;

	/* sched_process_exit fires per thread: the process ends with its last one
	 * (signal->live was decremented before the tracepoint). */
	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;
	s = bpf_map_lookup_elem(&starts, &tgid);
	if (!s)
		return 0;
	e = scratch_event();
	if (!e)
		goto out;
	e->end_ns = bpf_ktime_get_ns();
	e->ts_ns = e->end_ns;
	e->start_ns = s->start_ns;
	__builtin_memcpy(e->filename, s->filename, sizeof(e->filename));
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->pid = tgid;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->uid = (__u32)bpf_get_current_uid_gid();
	/* signal->group_exit_code when the whole group was told to exit, else ours */
	code = BPF_CORE_READ(task, signal, group_exit_code);
	if (!code)
		code = BPF_CORE_READ(task, exit_code);
	e->exit_code = (code >> 8) & 0xff;
	e->exit_signal = code & 0x7f;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	emit_event(ctx, e, sizeof(*e));
out:
	bpf_map_delete_elem(&starts, &tgid);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(exec__tp_btf, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	return on_exec(BPF_CORE_READ(bprm, filename));
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(exec__raw_tp, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	return on_exec(BPF_CORE_READ(bprm, filename));
}

SEC("tracepoint/sched/sched_process_exec")
int exec__tp(struct trace_event_raw_sched_process_exec *ctx)
{
	unsigned int off = ctx->__data_loc_filename & 0xFFFF;

	return on_exec((const char *)ctx + off);
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(exit__tp_btf, struct task_struct *p)
{
	return on_exit(ctx);
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(exit__raw_tp, struct task_struct *p)
{
	return on_exit(ctx);
}

SEC("tracepoint/sched/sched_process_exit")
int exit__tp(void *ctx)
{
	return on_exit(ctx);
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: GPL-2.0
/*
 * exec.bpf.c - one event per successful exec (sched:sched_process_exec).
 *
 * Attach alternatives (the loader enables one):
 *   exec__tp_btf  SEC("tp_btf/sched_process_exec")        (task, old_pid, bprm)
 *   exec__raw_tp  SEC("raw_tp/sched_process_exec")        same, untyped
 *   exec__tp      SEC("tracepoint/sched/sched_process_exec")  record, filename via __data_loc
 *
 * The tracepoint fires after the new image is set up, in the context of the
 * process that exec'd: comm is the new one and mm->arg_start..arg_end is argv.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "events.bpf.h"
#include "exec.h"

EVENT_SCRATCH(struct event);

static __always_inline int emit_exec(void *ctx, const char *filename, bool kernel_filename)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct event *e = scratch_event();
	unsigned long arg_start, arg_end, len;

	if (!e)
		return 0;
	e->ts_ns = bpf_ktime_get_ns();
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->uid = (__u32)bpf_get_current_uid_gid();
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	if (kernel_filename)
		bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), filename);
	else
		bpf_probe_read_str(e->filename, sizeof(e->filename), filename);

	arg_start = BPF_CORE_READ(task, mm, arg_start);
	arg_end = BPF_CORE_READ(task, mm, arg_end);
	len = arg_end - arg_start;
	if (len > EXEC_ARGS_LEN)
		len = EXEC_ARGS_LEN;
	e->args_size = 0;
	if (len > 0 && bpf_probe_read_user(e->args, len, (void *)arg_start) == 0)
		e->args_size = len;
	emit_event(ctx, e, sizeof(*e));
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(exec__tp_btf, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	return emit_exec(ctx, BPF_CORE_READ(bprm, filename), true);
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(exec__raw_tp, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	return emit_exec(ctx, BPF_CORE_READ(bprm, filename), true);
}

SEC("tracepoint/sched/sched_process_exec")
int exec__tp(struct trace_event_raw_sched_process_exec *ctx)
{
	unsigned int off = ctx->__data_loc_filename & 0xFFFF;

	return emit_exec(ctx, (const char *)ctx + off, true);
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: GPL-2.0
/*
 * open.bpf.c - one event per openat(2): file name, flags, and the result
 * (fd or -errno), from the syscalls:sys_enter_openat / sys_exit_openat pair.
 *
 * The entry stashes (filename pointer, flags, mode, time) per thread; the exit
 * reads the name (still valid user memory) and sends the event.
 *
 * Attach: tracepoint only. Syscall tracepoints exist only as trace events (no
 * tp_btf/raw_tp of their own); the raw_syscalls alternative would run on every
 * system call of the machine, so we do not offer it as a fallback.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "events.bpf.h"
#include "open.h"

struct pending {
	__u64 ts_ns;
	const char *filename;
	__s32 flags;
	__u32 mode;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);		/* thread id */
	__type(value, struct pending);
} pending SEC(".maps");

EVENT_SCRATCH(struct event);

SEC("tracepoint/syscalls/sys_enter_openat")
int sys_enter_openat__tp(struct trace_event_raw_sys_enter *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct pending p = {
		.ts_ns = bpf_ktime_get_ns(),
		.filename = (const char *)ctx->args[1],
		.flags = (__s32)ctx->args[2],
		.mode = (__u32)ctx->args[3],
	};

	bpf_map_update_elem(&pending, &tid, &p, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_openat")
int sys_exit_openat__tp(struct trace_event_raw_sys_exit *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	struct pending *p = bpf_map_lookup_elem(&pending, &tid);
	struct event *e;

	if (!p)
		return 0;
	e = scratch_event();
	if (!e)
		goto out;
	e->ts_ns = bpf_ktime_get_ns();
	e->latency_ns = e->ts_ns - p->ts_ns;
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->pid = pid_tgid >> 32;
	e->tid = tid;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->flags = p->flags;
	e->mode = p->mode;
	e->ret = (__s32)ctx->ret;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	if (bpf_probe_read_user_str(e->filename, sizeof(e->filename), p->filename) < 0)
		e->filename[0] = 0;
	emit_event(ctx, e, sizeof(*e));
out:
	bpf_map_delete_elem(&pending, &tid);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

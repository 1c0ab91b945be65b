// SPDX-License-Identifier: GPL-2.0
/*
 * tcp.bpf.c - TCP connect and accept latency, and retransmits.
 *
 *   sock:inet_sock_set_state   CLOSE -> SYN_SENT         remember (time, pid, comm, cgroup) per socket
 *                              SYN_SENT -> ESTABLISHED   connect event, latency = handshake
 *                              * -> SYN_RECV             remember time (passive side, softirq)
 *                              SYN_RECV -> ESTABLISHED   accept event
 *                              -> CLOSE                  forget the socket
 *   tcp:tcp_retransmit_skb     retransmit event (owner from the table when known)
 *
 * Attach: tracepoints only (their records carry the addresses and ports ready
 * to use; the BTF-typed hooks would have to read struct sock by hand).
 * Set-state runs in softirq for the passive side, so accept events carry pid 0.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "events.bpf.h"
#include "tcp.h"

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6

struct owner {
	__u64 ts_ns;
	__u64 cgroup_id;
	__u32 pid;
	char comm[TCP_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);		/* struct sock * */
	__type(value, struct owner);
} owners SEC(".maps");

EVENT_SCRATCH(struct event);

/* Addresses are copied with bpf_probe_read_kernel: the verifier allows direct
 * ctx loads only at constant, aligned offsets, and some records pack them at
 * odd offsets. */
#define FILL_ADDRS(e, ctx)							\
	do {									\
		(e)->family = (ctx)->family;					\
		if ((ctx)->family == AF_INET) {					\
			bpf_probe_read_kernel((e)->saddr, 4, (ctx)->saddr);	\
			bpf_probe_read_kernel((e)->daddr, 4, (ctx)->daddr);	\
		} else {							\
			bpf_probe_read_kernel((e)->saddr, 16, (ctx)->saddr_v6);	\
			bpf_probe_read_kernel((e)->daddr, 16, (ctx)->daddr_v6);	\
		}								\
	} while (0)

SEC("tracepoint/sock/inet_sock_set_state")
int inet_sock_set_state__tp(struct trace_event_raw_inet_sock_set_state *ctx)
{
	__u64 sk = (__u64)ctx->skaddr, now = bpf_ktime_get_ns();
	struct owner *o, fresh = {};
	struct event *e;

	if (ctx->protocol != IPPROTO_TCP)
		return 0;
	if (ctx->newstate == TCP_SYN_SENT) {
		fresh.ts_ns = now;
		fresh.cgroup_id = bpf_get_current_cgroup_id();
		fresh.pid = bpf_get_current_pid_tgid() >> 32;
		bpf_get_current_comm(fresh.comm, sizeof(fresh.comm));
		bpf_map_update_elem(&owners, &sk, &fresh, BPF_ANY);
		return 0;
	}
	if (ctx->newstate == TCP_SYN_RECV) {
		fresh.ts_ns = now;
		bpf_map_update_elem(&owners, &sk, &fresh, BPF_ANY);
		return 0;
	}
	if (ctx->newstate == TCP_CLOSE) {
		bpf_map_delete_elem(&owners, &sk);
		return 0;
	}
	if (ctx->newstate != TCP_ESTABLISHED)
		return 0;
	if (ctx->oldstate != TCP_SYN_SENT && ctx->oldstate != TCP_SYN_RECV)
		return 0;
	e = scratch_event();
	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	e->type = ctx->oldstate == TCP_SYN_SENT ? TCP_EVENT_CONNECT : TCP_EVENT_ACCEPT;
	o = bpf_map_lookup_elem(&owners, &sk);
	if (o) {
		e->latency_ns = now - o->ts_ns;
		e->pid = o->pid;
		e->cgroup_id = o->cgroup_id;
		__builtin_memcpy(e->comm, o->comm, sizeof(e->comm));
	}
	e->ts_ns = now;
	e->sport = ctx->sport;
	e->dport = ctx->dport;
	e->state = ctx->newstate;
	FILL_ADDRS(e, ctx);
	emit_event(ctx, e, sizeof(*e));
	return 0;
}

SEC("tracepoint/tcp/tcp_retransmit_skb")
int tcp_retransmit_skb__tp(struct trace_event_raw_tcp_retransmit_skb *ctx)
{
	__u64 sk = (__u64)ctx->skaddr;
	struct owner *o = bpf_map_lookup_elem(&owners, &sk);
	struct event *e = scratch_event();

	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = bpf_ktime_get_ns();
	e->type = TCP_EVENT_RETRANSMIT;
	e->sport = ctx->sport;
	e->dport = ctx->dport;
	e->state = ctx->state;
	if (o) {
		e->pid = o->pid;
		e->cgroup_id = o->cgroup_id;
		__builtin_memcpy(e->comm, o->comm, sizeof(e->comm));
	}
	FILL_ADDRS(e, ctx);
	emit_event(ctx, e, sizeof(*e));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

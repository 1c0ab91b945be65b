// SPDX-License-Identifier: GPL-2.0
/*
 * biolatency.bpf.c - block I/O latency per request, by device and operation.
 *
 * block:block_rq_issue stores (time, bytes, op, issuer) keyed by (dev, sector);
 * block:block_rq_complete sends one event with the latency. The key is the
 * same for every attach kind, so the issue and complete handlers may even end
 * up attached through different kinds.
 *
 * Attach alternatives (per handler, the loader enables one):
 *   block_rq_issue__tp_btf / __raw_tp   (struct request *rq)
 *   block_rq_issue__tp                  tracepoint record (dev, sector, bytes, rwbs)
 *   block_rq_complete__tp_btf / __raw_tp (rq, error, nr_bytes)
 *   block_rq_complete__tp               record (dev, sector, nr_sector, error, rwbs)
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "events.bpf.h"
#include "biolatency.h"

#define REQ_OP_BITS 8
#define REQ_OP_MASK ((1 << REQ_OP_BITS) - 1)
#define MINORBITS 20

struct rq_key {
	__u64 sector;
	__u32 dev;
	__u32 _pad;
};

struct issued {
	__u64 ts_ns;
	__u32 bytes;
	__u32 op;
	__u32 pid;
	char comm[BIO_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct rq_key);
	__type(value, struct issued);
} inflight SEC(".maps");

EVENT_SCRATCH(struct event);

static __always_inline __u32 rq_dev(struct request *rq)
{
	struct gendisk *disk = BPF_CORE_READ(rq, q, disk);

	if (!disk)
		return 0;
	return ((__u32)BPF_CORE_READ(disk, major) << MINORBITS) | (__u32)BPF_CORE_READ(disk, first_minor);
}

/* The op as REQ_OP_* from the tracepoint's rwbs text ("W", "RS", "FWS", "D", "N"...). */
static __always_inline __u32 rwbs_op(const char *rwbs)
{
	switch (rwbs[0]) {
	case 'F': return rwbs[1] == 'W' ? 1 : 2;	/* "FW..." is a write with preflush */
	case 'W': return 1;
	case 'R': return 0;
	case 'D': return 3;
	case 'E': return 5;	/* secure erase */
	case 'Z': return 9;	/* write zeroes */
	default: return 34;	/* REQ_OP_DRV_IN-ish: "other" */
	}
}

static __always_inline int issue(__u32 dev, __u64 sector, __u32 bytes, __u32 op)
{
	struct rq_key key = { .sector = sector, .dev = dev };
	struct issued v = { .ts_ns = bpf_ktime_get_ns(), .bytes = bytes, .op = op };

	v.pid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(v.comm, sizeof(v.comm));
	bpf_map_update_elem(&inflight, &key, &v, BPF_ANY);
	return 0;
}

static __always_inline int complete(void *ctx, __u32 dev, __u64 sector, __s32 error)
{
	struct rq_key key = { .sector = sector, .dev = dev };
	struct issued *v = bpf_map_lookup_elem(&inflight, &key);
	struct event *e;

	if (!v)
		return 0;	/* issued before we attached */
	e = scratch_event();
	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = bpf_ktime_get_ns();
	e->latency_ns = e->ts_ns - v->ts_ns;
	e->sector = sector;
	e->dev = dev;
	e->bytes = v->bytes;
	e->op = v->op;
	e->error = error;
	e->pid = v->pid;
	__builtin_memcpy(e->comm, v->comm, sizeof(e->comm));
	bpf_map_delete_elem(&inflight, &key);
	emit_event(ctx, e, sizeof(*e));
	return 0;
}

static __always_inline int issue_rq(struct request *rq)
{
	return issue(rq_dev(rq), BPF_CORE_READ(rq, __sector), BPF_CORE_READ(rq, __data_len),
		     BPF_CORE_READ(rq, cmd_flags) & REQ_OP_MASK);
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(block_rq_issue__tp_btf, struct request *rq)
{
	return issue_rq(rq);
}

SEC("raw_tp/block_rq_issue")
int BPF_PROG(block_rq_issue__raw_tp, struct request *rq)
{
	return issue_rq(rq);
}

SEC("tracepoint/block/block_rq_issue")
int block_rq_issue__tp(struct trace_event_raw_block_rq *ctx)
{
	char rwbs[4];

	/* copied out: ctx may only be read at constant offsets from ctx itself */
	bpf_probe_read_kernel(rwbs, sizeof(rwbs), ctx->rwbs);
	return issue(ctx->dev, ctx->sector, ctx->bytes, rwbs_op(rwbs));
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(block_rq_complete__tp_btf, struct request *rq, blk_status_t error, unsigned int nr_bytes)
{
	return complete(ctx, rq_dev(rq), BPF_CORE_READ(rq, __sector), error);
}

SEC("raw_tp/block_rq_complete")
int BPF_PROG(block_rq_complete__raw_tp, struct request *rq, blk_status_t error, unsigned int nr_bytes)
{
	return complete(ctx, rq_dev(rq), BPF_CORE_READ(rq, __sector), error);
}

SEC("tracepoint/block/block_rq_complete")
int block_rq_complete__tp(struct trace_event_raw_block_rq_completion *ctx)
{
	return complete(ctx, ctx->dev, ctx->sector, ctx->error);
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: GPL-2.0
/* Log2 histogram of run queue latency in microseconds (ebpf_exporter's
 * runqlat kind): key = bucket k counting latencies in (2^(k-1), 2^k] us,
 * clamped to MAX_BUCKET; key MAX_BUCKET + 1 accumulates the sum in us. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "exp_common.h"
#include "log2.bpf.h"

#define MAX_BUCKET 26
#define TASK_RUNNING 0

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, u32);
	__type(value, u64);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_BUCKET + 2);
	__type(key, u32);
	__type(value, u64);
} run_queue_latency_seconds SEC(".maps");

static __always_inline void enqueue(u32 pid)
{
	u64 ts = bpf_ktime_get_ns();

	if (pid)
		bpf_map_update_elem(&start, &pid, &ts, BPF_ANY);
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(sched_wakeup, struct task_struct *p)
{
	enqueue(p->pid);
	return 0;
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(sched_wakeup_new, struct task_struct *p)
{
	enqueue(p->pid);
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	u32 pid = next->pid, bucket;
	u64 *ts, delta_us;

	if (prev->__state == TASK_RUNNING)
		enqueue(prev->pid);
	ts = bpf_map_lookup_elem(&start, &pid);
	if (!ts)
		return 0;
	delta_us = (bpf_ktime_get_ns() - *ts) / 1000;
	bpf_map_delete_elem(&start, &pid);
	bucket = ceil_log2_u64(delta_us);
	if (bucket > MAX_BUCKET)
		bucket = MAX_BUCKET;
	increment(&run_queue_latency_seconds, &bucket, 1);
	bucket = MAX_BUCKET + 1;
	increment(&run_queue_latency_seconds, &bucket, delta_us);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

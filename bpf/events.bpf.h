/* SPDX-License-Identifier: GPL-2.0 */
/*
 * events.bpf.h - event stream output shared by the event programs
 * (exec, open, tcp, biolatency, oomkill, runqlat_events, bench_events).
 *
 * Maps every event program carries (user space finds them by name):
 *   events       BPF_MAP_TYPE_RINGBUF           the stream (default transport)
 *   events_perf  BPF_MAP_TYPE_PERF_EVENT_ARRAY  the stream with `transport: perf`
 *   lost_events  PERCPU_ARRAY[1] of __u64       ring buffer reserve failures
 *   scratch      PERCPU_ARRAY[1] of the event   builds events larger than the
 *                                               512-byte BPF stack
 *
 * Read-only settings user space writes into .rodata before load (the verifier
 * then drops the unused transport as dead code):
 *   use_perf      send through events_perf instead of events
 *   wakeup_bytes  a ring buffer submit wakes the reader only when more than this
 *                 many bytes are waiting; below it the reader's timer picks the
 *                 events up (bounded latency, no wakeup per event)
 *
 * A perf buffer that is full makes the kernel write a PERF_RECORD_LOST record
 * (counted by user space), so lost_events counts ring buffer failures only.
 */
#ifndef __EBPF_COLLECTOR_EVENTS_BPF_H
#define __EBPF_COLLECTOR_EVENTS_BPF_H

const volatile bool use_perf = false;
const volatile __u64 wakeup_bytes = 256 * 1024;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 * 1024 * 1024);	/* user space resizes before load */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events_perf SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lost_events SEC(".maps");

/* A per-CPU slot to build one event in: `EVENT_SCRATCH(struct event);` */
#define EVENT_SCRATCH(ev_type)						\
	struct {							\
		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);		\
		__uint(max_entries, 1);					\
		__type(key, __u32);					\
		__type(value, ev_type);					\
	} scratch SEC(".maps");						\
	static __always_inline ev_type *scratch_event(void)		\
	{								\
		__u32 zero = 0;						\
		return bpf_map_lookup_elem(&scratch, &zero);		\
	}

static __always_inline void count_lost_event(void)
{
	__u32 zero = 0;
	__u64 *lost = bpf_map_lookup_elem(&lost_events, &zero);

	if (lost)
		__sync_fetch_and_add(lost, 1);
}

/* Send `size` bytes at `data` to user space through the configured transport. */
static __always_inline void emit_event(void *ctx, void *data, __u64 size)
{
	__u64 flags;

	if (use_perf) {
		bpf_perf_event_output(ctx, &events_perf, BPF_F_CURRENT_CPU, data, size);
		return;
	}
	flags = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) > wakeup_bytes ?
		BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
	if (bpf_ringbuf_output(&events, data, size, flags))
		count_lost_event();
}

#endif /* __EBPF_COLLECTOR_EVENTS_BPF_H */

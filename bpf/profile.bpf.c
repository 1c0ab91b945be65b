// SPDX-License-Identifier: GPL-2.0
/*
 * profile.bpf.c - on-CPU stack sampling, counted in the kernel.
 *
 * User space opens one PERF_COUNT_SW_CPU_CLOCK event per CPU at 99 Hz and
 * attaches `sample` to each. Every sample counts one (pid, comm, kernel stack,
 * user stack) in `counts`; the stacks themselves are deduplicated by the kernel
 * in the `stacks` STACK_TRACE map. User space drains both on an interval and
 * prints folded stacks. Idle (pid 0) is skipped unless `include_idle` is set.
 *
 * Attach: perf_event (no alternative is needed: perf events are the hook).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "profile.h"

const volatile bool include_idle = false;
const volatile bool kernel_stacks = true;
const volatile bool user_stacks = true;

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 16384);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, PROFILE_MAX_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct stack_key);
	__type(value, __u64);
} counts SEC(".maps");

SEC("perf_event")
int sample(struct bpf_perf_event_data *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct stack_key key = {};
	__u64 one = 1, *count;

	if (!include_idle && (__u32)pid_tgid == 0)
		return 0;
	key.pid = pid_tgid >> 32;
	key.kstack_id = kernel_stacks ? bpf_get_stackid(ctx, &stacks, 0) : -1;
	key.ustack_id = user_stacks ? bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK) : -1;
	bpf_get_current_comm(key.comm, sizeof(key.comm));

	count = bpf_map_lookup_elem(&counts, &key);
	if (count)
		__sync_fetch_and_add(count, 1);
	else
		bpf_map_update_elem(&counts, &key, &one, BPF_NOEXIST);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

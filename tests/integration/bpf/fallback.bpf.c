// Test object: one handler with three attach alternatives. On a kernel that
// refuses fentry and has no kprobes, only the tracepoint variant can attach.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} hits SEC(".maps");

static __always_inline int count(void)
{
	u32 key = 0;
	u64 *value = bpf_map_lookup_elem(&hits, &key);
	if (value)
		__sync_fetch_and_add(value, 1);
	return 0;
}

#ifndef ONLY_UNSUPPORTED
SEC("tracepoint/syscalls/sys_enter_getppid")
int getppid__tp(void *ctx) { return count(); }
#endif

SEC("fentry/__do_sys_getppid")
int BPF_PROG(getppid__fentry) { return count(); }

SEC("kprobe/__do_sys_getppid")
int BPF_KPROBE(getppid__kprobe) { return count(); }

char LICENSE[] SEC("license") = "GPL";

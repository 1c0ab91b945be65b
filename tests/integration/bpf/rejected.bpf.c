// Test object the verifier must reject: reads past the end of a map value.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} hits SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getppid")
int getppid__tp(void *ctx)
{
	u32 key = 0;
	u64 *value = bpf_map_lookup_elem(&hits, &key);
	return value ? (int)value[10] : 0;
}

char LICENSE[] SEC("license") = "GPL";

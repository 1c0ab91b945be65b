// SPDX-License-Identifier: GPL-2.0
/* A map for another loader (bpftool) to pin: struct key with an enum and a
 * string, struct value with two counters. The program only exists so that
 * `bpftool prog loadall` creates the map with its BTF. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

enum pin_flow_proto { FLOW_TCP = 6, FLOW_UDP = 17 };

struct pin_flow_key {
	__u16 port;		/* 2 bytes of padding follow */
	__u32 pid;
	enum pin_flow_proto proto;
	char comm[16];
};

struct pin_flow_stats {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct pin_flow_key);
	__type(value, struct pin_flow_stats);
} flows SEC(".maps");

SEC("socket")
int touch_flows(struct __sk_buff *skb)
{
	struct pin_flow_key key = {};

	return bpf_map_lookup_elem(&flows, &key) ? 1 : 0;
}

char LICENSE[] SEC("license") = "GPL";

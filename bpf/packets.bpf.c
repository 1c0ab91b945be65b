// SPDX-License-Identifier: GPL-2.0
/*
 * packets.bpf.c - packets per IP protocol number, from a socket filter.
 *
 * The collector opens a raw packet socket (AF_PACKET, ETH_P_ALL) on one
 * interface or all, and attaches this program to it (SO_ATTACH_BPF), so it
 * sees every frame in both directions. For IPv4 the key is the header's
 * protocol field, for IPv6 the next header (extension headers are not
 * followed). Reading relative to the network header works on any link type
 * (Ethernet, loopback, tunnels without a MAC header).
 *
 * The filter returns 0: nothing is queued to the socket, it exists only to
 * run the program.
 *
 * Map packets_total: HASH, key __u32 protocol number, value __u64 packets.
 */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define ETH_P_IP	0x0800
#define ETH_P_IPV6	0x86DD

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u64);
} packets_total SEC(".maps");

SEC("socket")
int count_packets(struct __sk_buff *skb)
{
	__u32 offset, protocol = 0;
	__u8 proto;
	__u64 one = 1, *count;

	if (skb->protocol == bpf_htons(ETH_P_IP))
		offset = offsetof(struct iphdr, protocol);
	else if (skb->protocol == bpf_htons(ETH_P_IPV6))
		offset = offsetof(struct ipv6hdr, nexthdr);
	else
		return 0;
	if (bpf_skb_load_bytes_relative(skb, offset, &proto, 1, BPF_HDR_START_NET) < 0)
		return 0;
	protocol = proto;

	count = bpf_map_lookup_elem(&packets_total, &protocol);
	if (count)
		__sync_fetch_and_add(count, 1);
	else
		/* a concurrent first insert may win: then this one packet is lost to
		 * the race, which BPF_NOEXIST keeps from resetting the other's count */
		bpf_map_update_elem(&packets_total, &protocol, &one, BPF_NOEXIST);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

/* SPDX-License-Identifier: GPL-2.0 */
/* tcp.h - struct event of bpf/tcp.bpf.c: connect / accept / retransmit. */
#ifndef __EBPF_COLLECTOR_TCP_H
#define __EBPF_COLLECTOR_TCP_H

#define TCP_COMM_LEN 16

enum tcp_event_type {
	TCP_EVENT_CONNECT = 1,		/* active open: SYN_SENT -> ESTABLISHED */
	TCP_EVENT_ACCEPT = 2,		/* passive open: SYN_RECV -> ESTABLISHED */
	TCP_EVENT_RETRANSMIT = 3,	/* tcp:tcp_retransmit_skb */
};

struct event {
	__u64 ts_ns;
	__u64 cgroup_id;	/* of the socket's owner (connect: the connecting process) */
	__u64 latency_ns;	/* connect/accept: handshake time; retransmit: 0 */
	__u32 pid;		/* owner's tgid, 0 when unknown */
	__u16 type;		/* enum tcp_event_type */
	__u16 family;		/* AF_INET 2, AF_INET6 10 */
	__u16 sport;
	__u16 dport;
	__s32 state;		/* retransmit: TCP state of the socket */
	__u32 saddr[4];		/* network byte order; IPv4 in the first 4 bytes */
	__u32 daddr[4];
	char comm[TCP_COMM_LEN];
};

#endif

/* SPDX-License-Identifier: GPL-2.0 */
/* biolatency.h - struct event of bpf/biolatency.bpf.c: one completed block I/O request. */
#ifndef __EBPF_COLLECTOR_BIOLATENCY_H
#define __EBPF_COLLECTOR_BIOLATENCY_H

#define BIO_COMM_LEN 16

struct event {
	__u64 ts_ns;		/* completion */
	__u64 latency_ns;	/* issue to completion (device time) */
	__u64 sector;
	__u32 dev;		/* kernel dev_t: major << 20 | minor */
	__u32 bytes;		/* request size at issue */
	__u32 op;		/* REQ_OP_*: 0 read, 1 write, 2 flush, 3 discard, ... */
	__s32 error;		/* blk_status_t at completion (0 = ok) */
	__u32 pid;		/* task that issued (often a kworker or the writer itself) */
	char comm[BIO_COMM_LEN];
};

#endif

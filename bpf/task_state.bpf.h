/* SPDX-License-Identifier: GPL-2.0 */
/* A task's scheduler state, read the same way on every kernel (CO-RE). */
#ifndef __TASK_STATE_BPF_H
#define __TASK_STATE_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>

/* task_struct::state was renamed to __state (and became unsigned int) in 5.14. */
struct task_struct___o {
	volatile long int state;
} __attribute__((preserve_access_index));

struct task_struct___x {
	unsigned int __state;
} __attribute__((preserve_access_index));

static __always_inline long get_task_state(void *task)
{
	struct task_struct___x *t = task;

	if (bpf_core_field_exists(t->__state))
		return BPF_CORE_READ(t, __state);
	return BPF_CORE_READ((struct task_struct___o *)task, state);
}

#endif /* __TASK_STATE_BPF_H */

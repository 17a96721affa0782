/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fi_scope.h - the process scope of faultinject's BPF objects
 * (faultinject.bpf.c decides, fi_record.bpf.c records and replays).
 *
 * With "faultinject SUBCOMMAND ... -- CMD", the tool puts CMD's tgid in
 * "scope" before CMD runs, and fi_fork adds the children of every tgid
 * there; an event is in scope if its process is (EVENT_PID()). Without
 * CMD (@scoped false) everything is.
 *
 * Include after vmlinux_nestiommu.h and the libbpf headers, in one .bpf.c.
 */
#ifndef FI_SCOPE_H
#define FI_SCOPE_H

/* Set by the tool before loading. */
const volatile bool scoped;	/* only the tgids in "scope" */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);	/* tgid */
	__type(value, __u8);
} scope SEC(".maps");

/*
 * The fields the driver adds to the decision structs for the process an
 * event belongs to (the context's owner or the ioctl's caller). Where the
 * module has neither, the current task's process stands in.
 */
#define FI_PID_FIELDS __u32 pid; __u32 owner_pid
struct nest_hook_translate___pid {
	FI_PID_FIELDS;
	__u32 fault_level;
} __attribute__((preserve_access_index));
struct nest_hook_page_request___pid {
	FI_PID_FIELDS;
} __attribute__((preserve_access_index));
struct nest_hook_page_response___pid {
	FI_PID_FIELDS;
} __attribute__((preserve_access_index));
struct nest_hook_invalidate___pid {
	FI_PID_FIELDS;
} __attribute__((preserve_access_index));
struct nest_hook_map___pid {
	FI_PID_FIELDS;
} __attribute__((preserve_access_index));

#define EVENT_PID(h, type)						\
({									\
	struct type##___pid *__p = (void *)(h);				\
	__u32 __pid = bpf_get_current_pid_tgid() >> 32;			\
									\
	if (bpf_core_field_exists(__p->owner_pid))			\
		__pid = __p->owner_pid;			\
	else if (bpf_core_field_exists(__p->pid))			\
		__pid = __p->pid;			\
	__pid;								\
})

/*
 * The decision struct again, fresh from the context: the verifier of some
 * kernels (6.1) forgets what a pointer into it is once the compiler spills
 * it to the stack, so it is read back after deciding rather than kept.
 */
static __always_inline void *hook_arg(unsigned long long *ctx)
{
	return (void *)*(volatile unsigned long long *)ctx;
}

static __always_inline bool in_scope(__u32 pid)
{
	return !scoped || bpf_map_lookup_elem(&scope, &pid);
}

/* ---- scope: the children of the processes in it ---- */

SEC("tp_btf/sched_process_fork")
int BPF_PROG(fi_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = parent->tgid, ctgid = child->tgid;
	__u8 one = 1;

	if (scoped && ptgid != ctgid && bpf_map_lookup_elem(&scope, &ptgid))
		bpf_map_update_elem(&scope, &ctgid, &one, BPF_ANY);
	return 0;
}

#endif /* FI_SCOPE_H */

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

/*
 * The last process each CPU found in scope, as pid | FI_SCOPE_MEMO_SET:
 * events come in runs from one process, and the hash lookup costs more
 * than the rest of a hook program. Only answers "in scope" are kept, and
 * "scope" only grows, so a slot is never stale, even one two CPUs share
 * or one a preempted program overwrites (one 64-bit store).
 */
#define FI_SCOPE_MEMO_SLOTS	64
#define FI_SCOPE_MEMO_SET	(1ULL << 32)
__u64 scope_memo[FI_SCOPE_MEMO_SLOTS];

static __always_inline bool in_scope(__u32 pid)
{
	__u64 *memo, want = pid | FI_SCOPE_MEMO_SET;

	if (!scoped)
		return true;
	memo = &scope_memo[bpf_get_smp_processor_id() &
			   (FI_SCOPE_MEMO_SLOTS - 1)];
	if (*(volatile __u64 *)memo == want)
		return true;
	if (!bpf_map_lookup_elem(&scope, &pid))
		return false;
	*(volatile __u64 *)memo = want;
	return true;
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

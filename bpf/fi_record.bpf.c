// SPDX-License-Identifier: GPL-2.0
/*
 * fi_record.bpf.c - faultinject record and replay (tools/faultinject).
 *
 * raw_tp.w programs at nestiommu's hook points (kernel/hooks.h) count the
 * logical positions (bpf/fi_record.h) in one place, "positions", and
 * leave the position of each hook call for the ordinary event that shows
 * its outcome: by thread ("last": the event fires on the thread that
 * passed the hook) or, for page requests and responses, by cookie
 * ("groups"). tp_btf programs on those events send each fault, page
 * request group, page response, injected invalidation drop or failure,
 * MAP failure and injected fail-site hit, with its position, through the
 * ring buffer "events"; a full buffer is counted in "lost".
 *
 * Replaying, the same programs also look each hook call's position up in
 * "replay" (filled by the tool from a recording) and write the decision
 * found there; what then happens is recorded as above, for the tool to
 * compare with the recording.
 */
#include "vmlinux_nestiommu.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "nest_bpf.h"
#include "fi_scope.h"
#include "fi_record.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by the tool before loading. */
const volatile bool replaying;
/* Wake the reader once this much waits (a quarter of a small ring). */
const volatile __u64 wake_bytes = FI_REC_WAKE_BYTES;

__u64 lost;			/* events the ring buffer had no room for */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, FI_REC_RING_SIZE);
} events SEC(".maps");

struct fi_pos_key {
	__u32 kind;		/* enum fi_pos_kind */
	__u32 id1;
	__u32 id2;
	__u32 __pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct fi_pos_key);
	__type(value, __u64);	/* the last position given */
} positions SEC(".maps");

/* The last position of each failure site (FI_POS_FAIL_SITE). */
__u64 fail_site_pos[NESTIOMMU_FAIL_SITE_COUNT];

/*
 * The position of a thread's last hook call of a kind (its last fault's,
 * for FI_POS_TRANSLATE), in the thread's own storage: a lookup, where a
 * hash keyed by thread took a locked update per call.
 */
struct fi_last {
	__u32 id1;
	__u32 id2;
	__u64 pos;
};

struct fi_task_last {
	struct fi_last kind[FI_POS_MAP + 1];	/* translate, invalidate, map */
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct fi_task_last);
} last SEC(".maps");

/*
 * The position the CPU's last nest_hook_translate (or _fail_site) call
 * gave. Every translation and every allocation passes there, so it must
 * be cheap: a per-CPU slot, not the thread storage "last". The event
 * follows the hook call on the same task, without sleeping in between
 * (nest_fault under the same IOMMU lock), so the slot still holds it;
 * @tid tells if another task came between. A fault keeps its position in
 * "last" for the page request that may follow.
 */
enum { FI_CPU_XLATE, FI_CPU_FAIL_SITE, FI_CPU_NR };

struct fi_cpu_pos {
	__u64 tid;
	__u32 id1;
	__u32 id2;
	__u64 pos;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FI_CPU_NR);
	__type(key, __u32);
	__type(value, struct fi_cpu_pos);
} cpu_pos SEC(".maps");

static __always_inline void cpu_pos_put(__u32 slot, __u32 id1, __u32 id2,
					__u64 pos)
{
	struct fi_cpu_pos *p = bpf_map_lookup_elem(&cpu_pos, &slot);

	if (p) {
		p->tid = bpf_get_current_pid_tgid();
		p->id1 = id1;
		p->id2 = id2;
		p->pos = pos;
	}
}

/* The position cpu_pos_put() left for this task and IDs, or 0. */
static __always_inline __u64 cpu_pos_get(__u32 slot, __u32 id1, __u32 id2)
{
	struct fi_cpu_pos *p = bpf_map_lookup_elem(&cpu_pos, &slot);

	return p && p->tid == bpf_get_current_pid_tgid() && p->id1 == id1 &&
	       p->id2 == id2 ? p->pos : 0;
}

/* A page request group, from its hook call to its response. */
struct fi_group {
	__u32 dev_id;
	__u32 pasid;
	__u64 pos;
	__u64 xpos;
	__u64 addr;
	__u64 age_ns;		/* at the response's hook call */
	__u32 npages;
	__u32 hwpt_id;
	bool recorded;
	bool timeout;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);	/* cookie */
	__type(value, struct fi_group);
} groups SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FI_REPLAY_MAX);
	__type(key, struct fi_replay_key);
	__type(value, struct fi_replay_val);
} replay SEC(".maps");

/* The next position of @kind at (@id1, @id2), from 1. */
static __always_inline __u64 pos_next(__u32 kind, __u32 id1, __u32 id2)
{
	struct fi_pos_key k = { .kind = kind, .id1 = id1, .id2 = id2 };
	__u64 zero = 0, *c;

	c = bpf_map_lookup_elem(&positions, &k);
	if (!c) {
		bpf_map_update_elem(&positions, &k, &zero, BPF_NOEXIST);
		c = bpf_map_lookup_elem(&positions, &k);
		if (!c)
			return 0;
	}
	return __sync_fetch_and_add(c, 1) + 1;
}

static __always_inline void last_put(__u32 kind, __u32 id1, __u32 id2,
				     __u64 pos)
{
	struct fi_task_last *l;

	l = bpf_task_storage_get(&last, bpf_get_current_task_btf(), NULL,
				 BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (l && kind <= FI_POS_MAP) {
		l->kind[kind].id1 = id1;
		l->kind[kind].id2 = id2;
		l->kind[kind].pos = pos;
	}
}

/* The position this thread's last hook call of @kind gave (@id1, @id2). */
static __always_inline __u64 last_get(__u32 kind, __u32 id1, __u32 id2)
{
	struct fi_task_last *l;

	l = bpf_task_storage_get(&last, bpf_get_current_task_btf(), NULL, 0);
	if (!l || kind > FI_POS_MAP)
		return 0;
	return l->kind[kind].id1 == id1 && l->kind[kind].id2 == id2 ?
	       l->kind[kind].pos : 0;
}

static __always_inline struct fi_replay_val *
replay_get(__u32 kind, __u32 id1, __u32 id2, __u64 pos)
{
	struct fi_replay_key k = { .kind = kind, .id1 = id1, .id2 = id2,
				   .pos = pos };

	if (!replaying || !pos)
		return NULL;
	return bpf_map_lookup_elem(&replay, &k);
}

static __always_inline struct fi_rec_event *event_new(__u32 kind, __u32 id1,
						      __u32 id2, __u64 pos)
{
	struct fi_rec_event *e;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&lost, 1);
		return NULL;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->id1 = id1;
	e->id2 = id2;
	e->pos = pos;
	return e;
}

/*
 * Waking the reader costs more than recording the event: it polls every
 * 100 ms and reads whatever is there (record.c), so wake it only when a
 * batch of wake_bytes waits, long before the ring could fill.
 */
static __always_inline void event_submit(struct fi_rec_event *e)
{
	bool wake = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >=
		    wake_bytes;

	bpf_ringbuf_submit(e, wake ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
}

/* ---- hook points: positions, and the replay's decisions ---- */

SEC("raw_tp.w/nest_hook_translate")
int BPF_PROG(fr_translate, struct nest_hook_translate *h)
{
	struct nest_hook_translate___pid *hp;
	__u32 dev = h->dev_id, pasid = h->pasid;
	struct fi_replay_val *v;
	__u64 pos;

	if (!in_scope(EVENT_PID(h, nest_hook_translate)))
		return 0;
	pos = pos_next(FI_POS_TRANSLATE, dev, pasid);
	cpu_pos_put(FI_CPU_XLATE, dev, pasid, pos);
	v = replay_get(FI_POS_TRANSLATE, dev, pasid, pos);
	if (!v)
		return 0;
	h = hook_arg(ctx);
	hp = (void *)h;
	if (v->page_request) {
		h->page_request = 1;
	} else if (v->fault_reason) {
		h->fault_reason = v->fault_reason;
		h->fault_stage = v->fault_stage;
		if (v->fault_level && bpf_core_field_exists(hp->fault_level))
			hp->fault_level = v->fault_level;
	}
	return 0;
}

SEC("raw_tp.w/nest_hook_page_request")
int BPF_PROG(fr_page_request, struct nest_hook_page_request *h)
{
	struct fi_group g = {
		.dev_id = h->dev_id,
		.pasid = h->pasid,
		.hwpt_id = h->hwpt_id,
		.addr = h->addr,
		.npages = h->npages,
	};
	__u64 cookie = h->cookie;
	struct fi_replay_val *v;

	if (!in_scope(EVENT_PID(h, nest_hook_page_request)))
		return 0;
	g.pos = pos_next(FI_POS_PAGE_REQUEST, g.dev_id, g.pasid);
	/* The DMA thread's translation asked: the fault came first. */
	g.xpos = last_get(FI_POS_TRANSLATE, g.dev_id, g.pasid);
	bpf_map_update_elem(&groups, &cookie, &g, BPF_ANY);
	v = replay_get(FI_POS_PAGE_REQUEST, g.dev_id, g.pasid, g.pos);
	if (!v || !v->pr_marks)
		return 0;
	h = hook_arg(ctx);
	if (v->pr_marks & NEST_PR_INJ_DROPPED)
		h->drop = 1;
	if (v->pr_marks & NEST_PR_INJ_DUPLICATED)
		h->duplicate = 1;
	if (v->pr_marks & NEST_PR_INJ_LAST_CLEARED)
		h->clear_last = 1;
	return 0;
}

SEC("raw_tp.w/nest_hook_page_response")
int BPF_PROG(fr_page_response, struct nest_hook_page_response *h)
{
	__u64 cookie = h->cookie, age_ns = h->age_ns;
	__u32 code = h->code;
	struct fi_replay_val *v;
	struct fi_group *g;

	if (!in_scope(EVENT_PID(h, nest_hook_page_response)))
		return 0;
	g = bpf_map_lookup_elem(&groups, &cookie);
	if (!g)
		return 0;
	g->age_ns = age_ns;
	v = replay_get(FI_POS_PAGE_REQUEST, g->dev_id, g->pasid, g->pos);
	if (!v || (!v->set_code && !v->delay_us))
		return 0;
	h = hook_arg(ctx);
	if (v->set_code == FI_SET_CODE_ALWAYS ||
	    (v->set_code == FI_SET_CODE_DIFFERENT && code != v->code)) {
		h->set_code = 1;
		h->new_code = v->code;
	}
	h->delay_us = v->delay_us;
	return 0;
}

SEC("raw_tp.w/nest_hook_invalidate")
int BPF_PROG(fr_invalidate, struct nest_hook_invalidate *h)
{
	__u32 hwpt = h->hwpt_id;
	struct fi_replay_val *v;
	__u64 pos;

	if (!in_scope(EVENT_PID(h, nest_hook_invalidate)))
		return 0;
	pos = pos_next(FI_POS_INVALIDATE, hwpt, 0);
	last_put(FI_POS_INVALIDATE, hwpt, 0, pos);
	v = replay_get(FI_POS_INVALIDATE, hwpt, 0, pos);
	if (!v)
		return 0;
	h = hook_arg(ctx);
	if (v->error)
		h->error = v->error;
	else if (v->drop)
		h->drop = 1;
	return 0;
}

SEC("raw_tp.w/nest_hook_map")
int BPF_PROG(fr_map, struct nest_hook_map *h)
{
	__u32 ioas = h->ioas_id;
	struct fi_replay_val *v;
	__u64 pos;

	if (!in_scope(EVENT_PID(h, nest_hook_map)))
		return 0;
	pos = pos_next(FI_POS_MAP, ioas, 0);
	last_put(FI_POS_MAP, ioas, 0, pos);
	v = replay_get(FI_POS_MAP, ioas, 0, pos);
	if (!v || !v->error)
		return 0;
	h = hook_arg(ctx);
	h->error = v->error;
	return 0;
}

SEC("raw_tp.w/nest_hook_fail_site")
int BPF_PROG(fr_fail_site, struct nest_hook_fail_site *h)
{
	__u32 site = h->site;
	struct fi_replay_val *v;
	__u64 pos;

	if (!in_scope(h->pid))
		return 0;
	if (site >= NESTIOMMU_FAIL_SITE_COUNT)
		return 0;
	/* Every allocation passes here: an array, not the positions hash. */
	pos = __sync_fetch_and_add(&fail_site_pos[site], 1) + 1;
	cpu_pos_put(FI_CPU_FAIL_SITE, site, 0, pos);
	v = replay_get(FI_POS_FAIL_SITE, site, 0, pos);
	if (!v || !v->fail)
		return 0;
	h = hook_arg(ctx);
	h->fail = 1;
	return 0;
}

/* ---- what happened: the events of the recording ---- */

SEC("tp_btf/nest_fault")
int BPF_PROG(fr_fault, u32 dev_id, u32 pasid, u32 hwpt_id,
	     const struct nest_fault *fault, u32 owner_pid)
{
	struct fi_rec_event *e;
	__u64 pos = 0;

	if (!fault || !in_scope(owner_pid))	/* !fault: nest_bpf.h */
		return 0;
	/* Without an attached HWPT no hook ran: the fault has no position. */
	if (hwpt_id)
		pos = cpu_pos_get(FI_CPU_XLATE, dev_id, pasid);
	/* For the page request this fault may make the DMA send. */
	if (pos)
		last_put(FI_POS_TRANSLATE, dev_id, pasid, pos);
	e = event_new(FI_REC_FAULT, dev_id, pasid, pos);
	if (!e)
		return 0;
	e->hwpt_id = hwpt_id;
	/* A tp_btf argument: loads, not a probe-read helper call each. */
	e->addr = fault->addr;
	e->access = fault->access;
	e->reason = fault->reason;
	e->stage = fault->stage;
	e->level = fault->level;
	e->injected = !!(fault->flags & NESTIOMMU_FAULT_F_INJECTED);
	event_submit(e);
	return 0;
}

/* Traced once per page: the group is recorded at its first. */
SEC("tp_btf/nest_page_request")
int BPF_PROG(fr_page_request_ev, u32 dev_id, u32 pasid, u32 grpid,
	     u64 cookie, u64 addr, u32 perm, bool last_page, u32 injected,
	     u32 owner_pid)
{
	struct fi_rec_event *e;
	struct fi_group *g;

	if (!in_scope(owner_pid))
		return 0;
	g = bpf_map_lookup_elem(&groups, &cookie);
	if (!g || g->recorded)
		return 0;
	g->recorded = true;
	e = event_new(FI_REC_PAGE_REQUEST, dev_id, pasid, g->pos);
	if (!e)
		return 0;
	e->xpos = g->xpos;
	e->hwpt_id = g->hwpt_id;
	e->addr = g->addr;
	e->npages = g->npages;
	e->cookie = cookie;
	e->grpid = grpid;
	e->access = perm;
	e->injected = injected;
	event_submit(e);
	return 0;
}

SEC("tp_btf/nest_page_request_timeout")
int BPF_PROG(fr_timeout, u32 dev_id, u32 pasid, u32 grpid, u64 cookie,
	     u32 owner_pid)
{
	struct fi_group *g = bpf_map_lookup_elem(&groups, &cookie);

	if (g)
		g->timeout = true;
	return 0;
}

SEC("tp_btf/nest_page_response")
int BPF_PROG(fr_page_response_ev, u32 dev_id, u32 pasid, u32 grpid,
	     u64 cookie, u32 code, bool automatic, u64 latency_ns,
	     u32 injected, u32 owner_pid)
{
	struct fi_rec_event *e;
	struct fi_group *g;

	if (!in_scope(owner_pid))
		return 0;
	g = bpf_map_lookup_elem(&groups, &cookie);
	e = event_new(FI_REC_PAGE_RESPONSE, dev_id, pasid, g ? g->pos : 0);
	if (!e)
		return 0;
	e->cookie = cookie;
	e->grpid = grpid;
	e->code = code;
	e->latency_ns = latency_ns;
	e->injected = injected;
	e->by = !automatic ? FI_BY_USER :
		g && g->timeout ? FI_BY_TIMEOUT : FI_BY_AUTO;
	/* Delayed: delivered that long after user space wrote it. */
	if ((injected & NEST_RESP_INJ_DELAYED) && g &&
	    latency_ns > g->age_ns)
		e->delay_us = (latency_ns - g->age_ns) / 1000;
	event_submit(e);
	if (g)
		bpf_map_delete_elem(&groups, &cookie);
	return 0;
}

SEC("tp_btf/nest_invalidate")
int BPF_PROG(fr_invalidate_ev, u32 hwpt_id,
	     const struct nestiommu_inv_entry *entry, u32 dropped,
	     bool injected_drop, u32 injected_error)
{
	struct fi_rec_event *e;

	if (!injected_drop && !injected_error)
		return 0;
	if (!in_scope(bpf_get_current_pid_tgid() >> 32))
		return 0;
	e = event_new(FI_REC_INVALIDATE, hwpt_id, 0,
		      last_get(FI_POS_INVALIDATE, hwpt_id, 0));
	if (!e)
		return 0;
	e->error = injected_error;
	e->drop = !injected_error;
	e->injected = 1;
	event_submit(e);
	return 0;
}

SEC("tp_btf/nest_map_error")
int BPF_PROG(fr_map_error, u32 ioas_id, u64 iova, u64 length, int err,
	     bool injected, u32 pid)
{
	struct fi_rec_event *e;

	if (!in_scope(pid))
		return 0;
	e = event_new(FI_REC_MAP, ioas_id, 0, last_get(FI_POS_MAP, ioas_id, 0));
	if (!e)
		return 0;
	e->addr = iova;
	e->length = length;
	e->error = -err;
	e->injected = injected;
	event_submit(e);
	return 0;
}

SEC("tp_btf/nest_fail_site")
int BPF_PROG(fr_fail_site_ev, u32 site, u32 pid, int err)
{
	struct fi_rec_event *e;

	if (!in_scope(pid))
		return 0;
	e = event_new(FI_REC_FAIL_SITE, site, 0,
		      cpu_pos_get(FI_CPU_FAIL_SITE, site, 0));
	if (!e)
		return 0;
	e->error = -err;
	e->injected = 1;
	event_submit(e);
	return 0;
}

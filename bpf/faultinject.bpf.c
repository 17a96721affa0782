// SPDX-License-Identifier: GPL-2.0
/*
 * faultinject.bpf.c - the decisions of faultinject (tools/faultinject).
 *
 * raw_tp.w programs at nestiommu's hook points (kernel/hooks.h) check the
 * rules (struct fi_rule, bpf/faultinject.h) in order against each event:
 * every rule whose filters select the event counts it (its m-th match),
 * and the first rule whose "when" picks that match writes its decision.
 * The decision of the m-th match depends only on m, the rule and --seed
 * (a counter-based PRNG, no shared state but atomic counters), so the same
 * events in the same order inject the same way whatever the CPUs do.
 *
 * Scope: with "faultinject inject ... -- CMD", only CMD's process tree
 * (fi_scope.h, shared with fi_record.bpf.c).
 *
 * tp_btf programs on the ordinary events count, per rule, the outcomes the
 * driver marked as injected (NESTIOMMU_FAULT_F_INJECTED, the "injected"
 * marks of nest_page_request, nest_page_response, nest_invalidate,
 * nest_map_error, and nest_fail_site, which only injections raise): each
 * injection leaves a tag (the rule's index) keyed by what the event will
 * carry, and the event takes it.
 */
#include "vmlinux_nestiommu.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "nest_bpf.h"
#include "faultinject.h"
#include "fi_scope.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by the tool before loading. */
const volatile struct fi_rule rules[FI_MAX_RULES];
const volatile __u32 nr_rules;
const volatile __u64 seed;

struct fi_rule_stats stats[FI_MAX_RULES];

/* What an injection leaves for the event that shows its outcome. */
enum fi_tag_kind {
	FI_TAG_TRANSLATE = 1,	/* by thread: nest_fault, nest_page_request */
	FI_TAG_PAGE_REQUEST,	/* by cookie: nest_page_request */
	FI_TAG_PAGE_RESPONSE,	/* by cookie: nest_page_response */
	FI_TAG_INVALIDATE,	/* by thread: nest_invalidate */
	FI_TAG_MAP,		/* by thread: nest_map_error */
	FI_TAG_FAIL_SITE,	/* by thread: nest_fail_site */
};

struct fi_tag_key {
	__u32 kind;
	__u32 __pad;
	__u64 id;		/* pid_tgid or cookie */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct fi_tag_key);
	__type(value, __u32);	/* the rule's index */
} tags SEC(".maps");

/* One hook's event, as the filters see it. */
struct fi_event {
	__u32 at;		/* enum fi_at */
	__u32 pid;		/* the process it belongs to */
	__u32 dev_id;
	__u32 pasid;
	__u32 hwpt_id;
	__u32 ioas_id;
	__u32 access;
	__u32 cache;
	__u32 pri;
	__u32 site;		/* enum nestiommu_fail_site */
	__u64 iova;
};

static __always_inline __u64 splitmix64(__u64 x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static __always_inline bool filters_match(const volatile struct fi_rule *r,
					  const struct fi_event *e)
{
	__u32 f = r->filters;
	char comm[FI_COMM_LEN];
	int i;

	if (((f & FI_F_DEV) && e->dev_id != r->dev_id) ||
	    ((f & FI_F_PASID) && e->pasid != r->pasid) ||
	    ((f & FI_F_HWPT) && e->hwpt_id != r->hwpt_id) ||
	    ((f & FI_F_IOAS) && e->ioas_id != r->ioas_id) ||
	    ((f & FI_F_IOVA) && (e->iova < r->iova_first ||
				 e->iova > r->iova_last)) ||
	    ((f & FI_F_ACCESS) && (e->access & r->access) != r->access) ||
	    ((f & FI_F_CACHE) && !(e->cache & r->cache)) ||
	    ((f & FI_F_PID) && e->pid != r->pid))
		return false;
	if (f & FI_F_COMM) {
		bpf_get_current_comm(comm, sizeof(comm));
		for (i = 0; i < FI_COMM_LEN; i++) {
			if (comm[i] != r->comm[i])
				return false;
			if (!comm[i])
				break;
		}
	}
	if (r->action == FI_ACT_FAIL && e->site != r->site)
		return false;
	/* The driver rejects a page request where the device cannot ask. */
	if (r->action == FI_ACT_PAGE_REQUEST && !e->pri)
		return false;
	return true;
}

/* Does the m-th match of rule @i inject (times= aside)? */
static __always_inline bool when_picks(const volatile struct fi_rule *r,
				       __u32 i, __u64 m)
{
	if (m <= r->after)
		return false;
	if (r->nth && m != r->nth)
		return false;
	if (r->every && (m - r->after) % r->every)
		return false;
	if (r->prob < FI_PROB_ONE &&
	    (splitmix64(splitmix64(seed + i) ^ m) >> 32) >= r->prob)
		return false;
	return true;
}

/*
 * Count @e against every rule at its hook point (if its process is in
 * scope); return the index of the rule that injects, or -1.
 */
static __always_inline int decide(struct fi_event *e)
{
	bool scope_checked = false;
	int i, hit = -1;

	for (i = 0; i < FI_MAX_RULES; i++) {
		const volatile struct fi_rule *r = &rules[i];
		struct fi_rule_stats *s = &stats[i];
		__u64 m;

		if (i >= nr_rules)
			break;
		if (r->at != e->at || !filters_match(r, e))
			continue;
		/* After the filters: most events match none, and it is a lookup. */
		if (!scope_checked) {
			if (!in_scope(e->pid))
				return -1;
			scope_checked = true;
		}
		m = __sync_fetch_and_add(&s->matched, 1) + 1;
		if (hit >= 0 || !when_picks(r, i, m))
			continue;
		if (r->times && __sync_fetch_and_add(&s->taken, 1) >= r->times)
			continue;
		__sync_fetch_and_add(&s->injected, 1);
		hit = i;
	}
	return hit;
}

/*
 * Every decision program's prologue: count @e against the rules. Return:
 * the hook's decision struct, fresh from @ctx (see hook_arg()), with the
 * index of the rule that injects in @rule; NULL if none does.
 */
static __always_inline void *hook_decide(unsigned long long *ctx,
					 struct fi_event *e, int *rule)
{
	int i;

	i = decide(e);
	if (i < 0 || i >= FI_MAX_RULES)
		return NULL;
	*rule = i;
	return hook_arg(ctx);
}

static __always_inline void tag_put(__u32 kind, __u64 id, __u32 rule)
{
	struct fi_tag_key k = { .kind = kind, .id = id };

	bpf_map_update_elem(&tags, &k, &rule, BPF_ANY);
}

/* The outcome of the injection tagged @kind, @id is marked: count it. */
static __always_inline void tag_take(__u32 kind, __u64 id)
{
	struct fi_tag_key k = { .kind = kind, .id = id };
	__u32 *rule = bpf_map_lookup_elem(&tags, &k);
	__u32 i;

	if (!rule)
		return;
	i = *rule;
	bpf_map_delete_elem(&tags, &k);
	if (i < FI_MAX_RULES)
		__sync_fetch_and_add(&stats[i].marked, 1);
}

SEC("raw_tp.w/nest_hook_translate")
int BPF_PROG(fi_translate, struct nest_hook_translate *h)
{
	struct nest_hook_translate___pid *hp;
	struct fi_event e = {
		.at = FI_AT_TRANSLATE,
		.pid = EVENT_PID(h, nest_hook_translate),
		.dev_id = h->dev_id,
		.pasid = h->pasid,
		.hwpt_id = h->hwpt_id,
		.access = h->access,
		.iova = h->iova,
		.pri = h->pri,
	};
	const volatile struct fi_rule *r;
	int i;

	h = hook_decide(ctx, &e, &i);
	if (!h)
		return 0;
	r = &rules[i];
	hp = (void *)h;
	if (r->action == FI_ACT_PAGE_REQUEST) {
		h->page_request = 1;
	} else {
		h->fault_reason = r->fault_reason;
		h->fault_stage = r->fault_stage;
		if (r->fault_level && bpf_core_field_exists(hp->fault_level))
			hp->fault_level = r->fault_level;
	}
	tag_put(FI_TAG_TRANSLATE, bpf_get_current_pid_tgid(), i);
	return 0;
}

SEC("raw_tp.w/nest_hook_page_request")
int BPF_PROG(fi_page_request, struct nest_hook_page_request *h)
{
	struct fi_event e = {
		.at = FI_AT_PAGE_REQUEST,
		.pid = EVENT_PID(h, nest_hook_page_request),
		.dev_id = h->dev_id,
		.pasid = h->pasid,
		.hwpt_id = h->hwpt_id,
		.access = h->perm,
		.iova = h->addr,
	};
	const volatile struct fi_rule *r;
	__u64 cookie = h->cookie;
	int i;

	h = hook_decide(ctx, &e, &i);
	if (!h)
		return 0;
	r = &rules[i];
	if (r->action == FI_ACT_DROP)
		h->drop = 1;
	else if (r->action == FI_ACT_DUPLICATE)
		h->duplicate = 1;
	else
		h->clear_last = 1;
	tag_put(FI_TAG_PAGE_REQUEST, cookie, i);
	return 0;
}

SEC("raw_tp.w/nest_hook_page_response")
int BPF_PROG(fi_page_response, struct nest_hook_page_response *h)
{
	struct fi_event e = {
		.at = FI_AT_PAGE_RESPONSE,
		.pid = EVENT_PID(h, nest_hook_page_response),
		.dev_id = h->dev_id,
		.pasid = h->pasid,
	};
	const volatile struct fi_rule *r;
	__u64 cookie = h->cookie;
	int i;

	h = hook_decide(ctx, &e, &i);
	if (!h)
		return 0;
	r = &rules[i];
	if (r->action == FI_ACT_CODE) {
		h->set_code = 1;
		h->new_code = r->code;
	} else if (r->action == FI_ACT_DELAY) {
		h->delay_us = r->delay_us;
	} else {
		/* A lost response shows in no event. */
		h->drop = 1;
		return 0;
	}
	tag_put(FI_TAG_PAGE_RESPONSE, cookie, i);
	return 0;
}

SEC("raw_tp.w/nest_hook_invalidate")
int BPF_PROG(fi_invalidate, struct nest_hook_invalidate *h)
{
	struct fi_event e = {
		.at = FI_AT_INVALIDATE,
		.pid = EVENT_PID(h, nest_hook_invalidate),
		.pasid = h->pasid,
		.hwpt_id = h->hwpt_id,
		.cache = h->cache,
		.iova = h->addr,
	};
	const volatile struct fi_rule *r;
	int i;

	h = hook_decide(ctx, &e, &i);
	if (!h)
		return 0;
	r = &rules[i];
	if (r->action == FI_ACT_ERRNO)
		h->error = r->error;
	else
		h->drop = 1;
	tag_put(FI_TAG_INVALIDATE, bpf_get_current_pid_tgid(), i);
	return 0;
}

SEC("raw_tp.w/nest_hook_map")
int BPF_PROG(fi_map, struct nest_hook_map *h)
{
	struct fi_event e = {
		.at = FI_AT_MAP,
		.pid = EVENT_PID(h, nest_hook_map),
		.ioas_id = h->ioas_id,
		.iova = h->iova,
	};
	int i;

	h = hook_decide(ctx, &e, &i);
	if (!h)
		return 0;
	h->error = rules[i].error;
	tag_put(FI_TAG_MAP, bpf_get_current_pid_tgid(), i);
	return 0;
}

/* Loaded only for fail-site rules: the hook costs nothing unattached. */
SEC("raw_tp.w/nest_hook_fail_site")
int BPF_PROG(fi_fail_site, struct nest_hook_fail_site *h)
{
	struct fi_event e = {
		.at = FI_AT_FAIL_SITE,
		.pid = h->pid,
		.site = h->site,
	};
	int i;

	h = hook_decide(ctx, &e, &i);
	if (!h)
		return 0;
	h->fail = 1;
	tag_put(FI_TAG_FAIL_SITE, bpf_get_current_pid_tgid(), i);
	return 0;
}

/* ---- outcomes the driver marked ---- */

SEC("tp_btf/nest_fault")
int BPF_PROG(fi_fault_mark, u32 dev_id, u32 pasid, u32 hwpt_id,
	     const struct nest_fault *fault)
{
	if (fault && (fault->flags & NESTIOMMU_FAULT_F_INJECTED)) /* nest_bpf.h */
		tag_take(FI_TAG_TRANSLATE, bpf_get_current_pid_tgid());
	return 0;
}

SEC("tp_btf/nest_page_request")
int BPF_PROG(fi_page_request_mark, u32 dev_id, u32 pasid, u32 grpid,
	     u64 cookie, u64 addr, u32 perm, bool last, u32 injected)
{
	if (injected & NEST_PR_INJ_FORCED)
		tag_take(FI_TAG_TRANSLATE, bpf_get_current_pid_tgid());
	if (injected & (NEST_PR_INJ_DROPPED | NEST_PR_INJ_DUPLICATED |
			NEST_PR_INJ_LAST_CLEARED))
		tag_take(FI_TAG_PAGE_REQUEST, cookie);
	return 0;
}

SEC("tp_btf/nest_page_response")
int BPF_PROG(fi_page_response_mark, u32 dev_id, u32 pasid, u32 grpid,
	     u64 cookie, u32 code, bool automatic, u64 latency_ns,
	     u32 injected)
{
	if (injected & (NEST_RESP_INJ_CODE | NEST_RESP_INJ_DELAYED))
		tag_take(FI_TAG_PAGE_RESPONSE, cookie);
	return 0;
}

SEC("tp_btf/nest_invalidate")
int BPF_PROG(fi_invalidate_mark, u32 hwpt_id,
	     const struct nestiommu_inv_entry *entry, u32 dropped,
	     bool injected_drop, u32 injected_error)
{
	if (injected_drop || injected_error)
		tag_take(FI_TAG_INVALIDATE, bpf_get_current_pid_tgid());
	return 0;
}

SEC("tp_btf/nest_map_error")
int BPF_PROG(fi_map_mark, u32 ioas_id, u64 iova, u64 length, int err,
	     bool injected, u32 pid)
{
	if (injected)
		tag_take(FI_TAG_MAP, bpf_get_current_pid_tgid());
	return 0;
}

SEC("tp_btf/nest_fail_site")
int BPF_PROG(fi_fail_site_mark, u32 site, u32 pid, int err)
{
	tag_take(FI_TAG_FAIL_SITE, bpf_get_current_pid_tgid());
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * hook_inject.bpf.c - write decisions at nestiommu's BPF hook points.
 *
 * The driver fires the writable tracepoints nestiommu:nest_hook_translate,
 * nest_hook_invalidate, nest_hook_map, nest_hook_page_request,
 * nest_hook_page_response and nest_hook_fail_site with a decision struct (kernel/hooks.h) as
 * the first argument, its "BPF writes" fields zeroed; these raw_tp.w
 * programs write into it what user space put in the control blocks
 * (hook_inject.h), for the calls that match their filters. The driver
 * validates the result: this object never does, so tests can hand it
 * out-of-range values on purpose.
 *
 * fault_mark_prog, inv_mark_prog, pr_mark_prog, resp_mark_prog and
 * map_mark_prog (tp_btf on nestiommu:nest_fault, nest_invalidate,
 * nest_page_request, nest_page_response and nest_map_error) count the
 * outcomes the driver marks as injected in
 * those events; they are loaded only if user space asks for them.
 *
 * hook_fail_site (nest_hook_fail_site) and fail_mark_prog (tp_btf on
 * nest_fail_site) are always loaded, and attached by hook_fail.c only.
 */
#include "vmlinux_nestiommu.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "nest_bpf.h"
#include "hook_inject.h"

char LICENSE[] SEC("license") = "GPL";

struct hook_translate_ctl translate;
struct hook_invalidate_ctl invalidate;
struct hook_map_ctl map;
struct fault_mark_ctl fault_mark;
struct inv_mark_ctl inv_mark;
struct map_mark_ctl map_mark;
struct hook_page_request_ctl page_request;
struct hook_page_response_ctl page_response;
struct pr_mark_ctl pr_mark;
struct resp_mark_ctl resp_mark;
struct hook_fail_site_ctl fail_site;
struct fail_mark_ctl fail_mark;

/* The calling process matches @tgid (0: any). */
static __always_inline bool tgid_ok(__u32 tgid)
{
	return !tgid || (__u32)(bpf_get_current_pid_tgid() >> 32) == tgid;
}

/* Count a matching call; is it the one @nth picks (0: all)? */
static __always_inline bool nth_ok(__u64 *matched, __u32 nth)
{
	__u64 n = __sync_fetch_and_add(matched, 1) + 1;

	return !nth || n == nth;
}

SEC("raw_tp.w/nest_hook_translate")
int BPF_PROG(hook_translate, struct nest_hook_translate *h)
{
	struct hook_translate_ctl *c = &translate;
	__u64 iova = h->iova;

	__sync_fetch_and_add(&c->calls, 1);
	if (h->fault_reason || h->fault_stage || h->page_request ||
	    h->fault_level)
		__sync_fetch_and_add(&c->dirty, 1);
	if (!c->enabled || !tgid_ok(c->tgid))
		return 0;
	if ((c->dev_id && h->dev_id != c->dev_id) ||
	    (c->hwpt_id && h->hwpt_id != c->hwpt_id) ||
	    (c->iova_hi && (iova < c->iova_lo || iova >= c->iova_hi)))
		return 0;
	c->last_dev_id = h->dev_id;
	c->last_pasid = h->pasid;
	c->last_hwpt_id = h->hwpt_id;
	c->last_access = h->access;
	c->last_iova = iova;
	c->last_pri = h->pri;
	c->last_owner_pid = h->owner_pid;
	if (!nth_ok(&c->matched, c->nth))
		return 0;
	h->fault_reason = c->fault_reason;
	h->fault_stage = c->fault_stage;
	h->page_request = c->page_request;
	h->fault_level = c->fault_level;
	__sync_fetch_and_add(&c->written, 1);
	return 0;
}

SEC("raw_tp.w/nest_hook_invalidate")
int BPF_PROG(hook_invalidate, struct nest_hook_invalidate *h)
{
	struct hook_invalidate_ctl *c = &invalidate;

	__sync_fetch_and_add(&c->calls, 1);
	if (h->error || h->drop)
		__sync_fetch_and_add(&c->dirty, 1);
	if (!c->enabled || !tgid_ok(c->tgid))
		return 0;
	if (c->hwpt_id && h->hwpt_id != c->hwpt_id)
		return 0;
	c->last_hwpt_id = h->hwpt_id;
	c->last_cache = h->cache;
	c->last_granularity = h->granularity;
	c->last_flags = h->flags;
	c->last_pasid = h->pasid;
	c->last_addr = h->addr;
	c->last_granule_size = h->granule_size;
	c->last_nb_granules = h->nb_granules;
	c->last_pid = h->pid;
	if (!nth_ok(&c->matched, c->nth))
		return 0;
	h->error = c->error;
	h->drop = c->drop;
	__sync_fetch_and_add(&c->written, 1);
	return 0;
}

SEC("raw_tp.w/nest_hook_map")
int BPF_PROG(hook_map, struct nest_hook_map *h)
{
	struct hook_map_ctl *c = &map;

	__sync_fetch_and_add(&c->calls, 1);
	if (h->error)
		__sync_fetch_and_add(&c->dirty, 1);
	if (!c->enabled || !tgid_ok(c->tgid))
		return 0;
	if (c->ioas_id && h->ioas_id != c->ioas_id)
		return 0;
	c->last_ioas_id = h->ioas_id;
	c->last_flags = h->flags;
	c->last_iova = h->iova;
	c->last_length = h->length;
	c->last_user_va = h->user_va;
	c->last_pid = h->pid;
	if (!nth_ok(&c->matched, c->nth))
		return 0;
	h->error = c->error;
	__sync_fetch_and_add(&c->written, 1);
	return 0;
}

SEC("raw_tp.w/nest_hook_page_request")
int BPF_PROG(hook_page_request, struct nest_hook_page_request *h)
{
	struct hook_page_request_ctl *c = &page_request;

	__sync_fetch_and_add(&c->calls, 1);
	if (h->drop || h->duplicate || h->clear_last)
		__sync_fetch_and_add(&c->dirty, 1);
	if (!c->enabled || !tgid_ok(c->tgid))
		return 0;
	if (c->dev_id && h->dev_id != c->dev_id)
		return 0;
	c->last_dev_id = h->dev_id;
	c->last_pasid = h->pasid;
	c->last_hwpt_id = h->hwpt_id;
	c->last_grpid = h->grpid;
	c->last_cookie = h->cookie;
	c->last_addr = h->addr;
	c->last_npages = h->npages;
	c->last_perm = h->perm;
	c->last_owner_pid = h->owner_pid;
	if (!nth_ok(&c->matched, c->nth))
		return 0;
	h->drop = c->drop;
	h->duplicate = c->duplicate;
	h->clear_last = c->clear_last;
	__sync_fetch_and_add(&c->written, 1);
	return 0;
}

SEC("raw_tp.w/nest_hook_page_response")
int BPF_PROG(hook_page_response, struct nest_hook_page_response *h)
{
	struct hook_page_response_ctl *c = &page_response;

	__sync_fetch_and_add(&c->calls, 1);
	if (h->set_code || h->new_code || h->drop || h->delay_us)
		__sync_fetch_and_add(&c->dirty, 1);
	if (!c->enabled || !tgid_ok(c->tgid))
		return 0;
	if (c->dev_id && h->dev_id != c->dev_id)
		return 0;
	c->last_dev_id = h->dev_id;
	c->last_pasid = h->pasid;
	c->last_grpid = h->grpid;
	c->last_code = h->code;
	c->last_cookie = h->cookie;
	c->last_age_ns = h->age_ns;
	c->last_owner_pid = h->owner_pid;
	c->last_tgid = bpf_get_current_pid_tgid() >> 32;
	if (!nth_ok(&c->matched, c->nth))
		return 0;
	h->set_code = c->set_code;
	h->new_code = c->new_code;
	h->drop = c->drop;
	h->delay_us = c->delay_us;
	__sync_fetch_and_add(&c->written, 1);
	return 0;
}

SEC("tp_btf/nest_fault")
int BPF_PROG(fault_mark_prog, u32 dev_id, u32 pasid, u32 hwpt_id,
	     const struct nest_fault *fault, u32 owner_pid)
{
	struct fault_mark_ctl *c = &fault_mark;
	u8 flags;

	if (!fault)	/* nest_bpf.h */
		return 0;
	flags = fault->flags;
	if (c->dev_id && dev_id != c->dev_id)
		return 0;
	__sync_fetch_and_add(&c->faults, 1);
	if (flags & NESTIOMMU_FAULT_F_INJECTED)
		__sync_fetch_and_add(&c->injected, 1);
	c->last_flags = flags;
	c->last_owner_pid = owner_pid;
	return 0;
}

SEC("tp_btf/nest_invalidate")
int BPF_PROG(inv_mark_prog, u32 hwpt_id, const struct nestiommu_inv_entry *e,
	     u32 dropped, bool injected_drop, u32 injected_error)
{
	struct inv_mark_ctl *c = &inv_mark;

	if (c->hwpt_id && hwpt_id != c->hwpt_id)
		return 0;
	__sync_fetch_and_add(&c->events, 1);
	__sync_fetch_and_add(&c->dropped, dropped);
	if (injected_drop)
		__sync_fetch_and_add(&c->injected_drops, 1);
	if (injected_error)
		__sync_fetch_and_add(&c->injected_errors, 1);
	c->last_error = injected_error;
	return 0;
}

SEC("tp_btf/nest_page_request")
int BPF_PROG(pr_mark_prog, u32 dev_id, u32 pasid, u32 grpid, u64 cookie,
	     u64 addr, u32 perm, bool last, u32 injected, u32 owner_pid)
{
	struct pr_mark_ctl *c = &pr_mark;

	if (c->dev_id && dev_id != c->dev_id)
		return 0;
	__sync_fetch_and_add(&c->events, 1);
	if (last)
		__sync_fetch_and_add(&c->last_pages, 1);
	if (injected & NEST_PR_INJ_FORCED)
		__sync_fetch_and_add(&c->forced, 1);
	if (injected & NEST_PR_INJ_DROPPED)
		__sync_fetch_and_add(&c->dropped, 1);
	if (injected & NEST_PR_INJ_DUPLICATED)
		__sync_fetch_and_add(&c->duplicated, 1);
	if (injected & NEST_PR_INJ_LAST_CLEARED)
		__sync_fetch_and_add(&c->last_cleared, 1);
	c->last_injected = injected;
	c->last_cookie = cookie;
	c->last_owner_pid = owner_pid;
	return 0;
}

SEC("tp_btf/nest_page_response")
int BPF_PROG(resp_mark_prog, u32 dev_id, u32 pasid, u32 grpid, u64 cookie,
	     u32 code, bool automatic, u64 latency_ns, u32 injected,
	     u32 owner_pid)
{
	struct resp_mark_ctl *c = &resp_mark;

	if (c->dev_id && dev_id != c->dev_id)
		return 0;
	__sync_fetch_and_add(&c->events, 1);
	if (automatic)
		__sync_fetch_and_add(&c->automatic, 1);
	if (injected & NEST_RESP_INJ_CODE)
		__sync_fetch_and_add(&c->codes, 1);
	if (injected & NEST_RESP_INJ_DELAYED)
		__sync_fetch_and_add(&c->delayed, 1);
	c->last_injected = injected;
	c->last_code = code;
	c->last_automatic = automatic;
	c->last_cookie = cookie;
	c->last_latency_ns = latency_ns;
	c->last_owner_pid = owner_pid;
	return 0;
}

SEC("raw_tp.w/nest_hook_fail_site")
int BPF_PROG(hook_fail_site, struct nest_hook_fail_site *h)
{
	struct hook_fail_site_ctl *c = &fail_site;

	__sync_fetch_and_add(&c->calls, 1);
	if (h->fail)
		__sync_fetch_and_add(&c->dirty, 1);
	if (!c->enabled || !tgid_ok(c->tgid))
		return 0;
	if (h->site != c->site)
		return 0;
	c->last_pid = h->pid;
	if (!nth_ok(&c->matched, c->nth))
		return 0;
	h->fail = c->fail;
	__sync_fetch_and_add(&c->written, 1);
	return 0;
}

SEC("tp_btf/nest_map_error")
int BPF_PROG(map_mark_prog, u32 ioas_id, u64 iova, u64 length, int err,
	     bool injected, u32 pid)
{
	struct map_mark_ctl *c = &map_mark;

	if (!tgid_ok(c->tgid))
		return 0;
	__sync_fetch_and_add(&c->events, 1);
	if (injected)
		__sync_fetch_and_add(&c->injected, 1);
	c->last_err = err;
	c->last_ioas_id = ioas_id;
	c->last_pid = pid;
	c->last_iova = iova;
	c->last_length = length;
	return 0;
}

SEC("tp_btf/nest_fail_site")
int BPF_PROG(fail_mark_prog, u32 site, u32 pid, int err)
{
	struct fail_mark_ctl *c = &fail_mark;

	if (!tgid_ok(c->tgid))
		return 0;
	__sync_fetch_and_add(&c->events, 1);
	c->last_site = site;
	c->last_pid = pid;
	c->last_err = err;
	return 0;
}

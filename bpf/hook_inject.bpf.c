// SPDX-License-Identifier: GPL-2.0
/*
 * hook_inject.bpf.c - write decisions at nestiommu's BPF hook points.
 *
 * The driver fires the writable tracepoints nestiommu:hook_translate,
 * hook_invalidate and hook_map with a decision struct (kernel/hooks.h) as
 * the first argument, its "BPF writes" fields zeroed; these raw_tp.w
 * programs write into it what user space put in the control blocks
 * (hook_inject.h), for the calls that match their filters. The driver
 * validates the result: this object never does, so tests can hand it
 * out-of-range values on purpose.
 *
 * fault_mark_prog and inv_mark_prog (tp_btf on nestiommu:fault and
 * nestiommu:invalidate) count the outcomes the driver marks as injected in
 * those events; they are loaded only if user space asks for them.
 */
#include "vmlinux.h"
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

SEC("raw_tp.w/hook_translate")
int hook_translate(struct bpf_raw_tracepoint_args *ctx)
{
	struct nest_hook_translate *h = (void *)ctx->args[0];
	struct hook_translate_ctl *c = &translate;
	__u64 iova = h->iova;

	__sync_fetch_and_add(&c->calls, 1);
	if (h->fault_reason || h->fault_stage)
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
	if (!nth_ok(&c->matched, c->nth))
		return 0;
	h->fault_reason = c->fault_reason;
	h->fault_stage = c->fault_stage;
	__sync_fetch_and_add(&c->written, 1);
	return 0;
}

SEC("raw_tp.w/hook_invalidate")
int hook_invalidate(struct bpf_raw_tracepoint_args *ctx)
{
	struct nest_hook_invalidate *h = (void *)ctx->args[0];
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
	if (!nth_ok(&c->matched, c->nth))
		return 0;
	h->error = c->error;
	h->drop = c->drop;
	__sync_fetch_and_add(&c->written, 1);
	return 0;
}

SEC("raw_tp.w/hook_map")
int hook_map(struct bpf_raw_tracepoint_args *ctx)
{
	struct nest_hook_map *h = (void *)ctx->args[0];
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
	if (!nth_ok(&c->matched, c->nth))
		return 0;
	h->error = c->error;
	__sync_fetch_and_add(&c->written, 1);
	return 0;
}

SEC("tp_btf/fault")
int BPF_PROG(fault_mark_prog, u32 dev_id, u32 pasid, u32 hwpt_id,
	     const struct nest_fault *fault)
{
	struct fault_mark_ctl *c = &fault_mark;
	u8 flags = BPF_CORE_READ(fault, flags);

	if (c->dev_id && dev_id != c->dev_id)
		return 0;
	__sync_fetch_and_add(&c->faults, 1);
	if (flags & NEST_FAULT_F_INJECTED)
		__sync_fetch_and_add(&c->injected, 1);
	c->last_flags = flags;
	return 0;
}

SEC("tp_btf/invalidate")
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

// SPDX-License-Identifier: GPL-2.0
/*
 * iommutop.bpf.c - count nestiommu's events in the kernel for iommutop.
 *
 * Every nestiommu tracepoint but the hook points has a handler that adds
 * to per-CPU rows (iommutop.h): per device x PASID, per HWPT, per IOAS and
 * per fault kind. User space reads and sums the rows; no event is ever
 * copied out. Outstanding page request groups are the one shared state: a
 * hash of (device, PASID, cookie) set by the group's first page_request
 * and deleted by its page_response.
 *
 * Each handler is compiled twice, as tp_btf (typed, cheapest) and raw_tp
 * (kernels or setups where tp_btf does not load); user space turns one set
 * off with bpf_program__set_autoload() before load. nestiommu:map and
 * unmap are classic tracepoints in both cases: tp_btf and raw_tp name
 * tracepoints by their bare names and would find the core kernel's
 * iommu:map and iommu:unmap instead (kernel/trace.h).
 *
 * Pointer arguments are read with ARG_READ: a tp_btf program dereferences
 * them directly (the verifier knows their BTF types), a raw_tp program
 * needs BPF_CORE_READ (a probe read); both relocate the field
 * offsets against the module's BTF.
 */
#include "vmlinux_nestiommu.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "nest_bpf.h"
#include "iommutop.h"

char LICENSE[] SEC("license") = "GPL";

/*
 * @field of the tracepoint argument @ptr: loaded directly in a tp_btf
 * program (@btf), through a probe read in a raw_tp one. @btf is a
 * constant, so each program keeps only its own way.
 */
#define ARG_READ(btf, ptr, field) \
	((btf) ? (ptr)->field : BPF_CORE_READ(ptr, field))

/* Set by user space before load: count only this device and/or PASID. */
const volatile bool filter_dev = false;
const volatile __u32 targ_dev = 0;
const volatile bool filter_pasid = false;
const volatile __u32 targ_pasid = 0;

/*
 * Preallocated maps throughout: kernels before 6.1 refuse or warn about
 * run-time allocated hash maps in tracing programs.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 512);
	__type(key, struct iommutop_dev_key);
	__type(value, struct iommutop_dev_counters);
} devs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 512);
	__type(key, __u32);
	__type(value, struct iommutop_hwpt_counters);
} hwpts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 512);
	__type(key, __u32);
	__type(value, struct iommutop_ioas_counters);
} ioases SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 2048);
	__type(key, struct iommutop_fault_key);
	__type(value, __u64);
} faults SEC(".maps");

/* The HWPT attached at each (device, PASID): a DMA's bytes go to it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2048);
	__type(key, struct iommutop_dev_key);
	__type(value, __u32);
} attached SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, struct iommutop_pr_key);
	__type(value, struct iommutop_pr_pending);
} pending SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct iommutop_totals);
} totals SEC(".maps");

/* Zeroed rows to insert (too large for the BPF stack). */
static const struct iommutop_dev_counters zero_dev;
static const struct iommutop_hwpt_counters zero_hwpt;
static const struct iommutop_ioas_counters zero_ioas;
static const __u64 zero_count;

static __always_inline struct iommutop_totals *totals_row(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&totals, &zero);
}

static __always_inline void count_event(enum iommutop_event ev)
{
	struct iommutop_totals *t = totals_row();

	if (t && ev < IOMMUTOP_EV_NR)
		t->events[ev]++;
}

static __always_inline void count_lost(void)
{
	struct iommutop_totals *t = totals_row();

	if (t)
		t->lost++;
}

/*
 * The row of @key in @map, inserted zeroed if absent; NULL (and the event
 * counted as lost) when the map is full.
 */
static __always_inline void *row(void *map, const void *key, const void *zero)
{
	void *v = bpf_map_lookup_elem(map, key);

	if (v)
		return v;
	bpf_map_update_elem(map, key, zero, BPF_NOEXIST);
	v = bpf_map_lookup_elem(map, key);
	if (!v)
		count_lost();
	return v;
}

static __always_inline bool dev_wanted(__u32 dev_id, __u32 pasid)
{
	return (!filter_dev || dev_id == targ_dev) &&
	       (!filter_pasid || pasid == targ_pasid);
}

static __always_inline struct iommutop_dev_counters *dev_row(__u32 dev_id,
							      __u32 pasid)
{
	struct iommutop_dev_key key = { .dev_id = dev_id, .pasid = pasid };

	return row(&devs, &key, &zero_dev);
}

static __always_inline struct iommutop_hwpt_counters *hwpt_row(__u32 hwpt_id)
{
	return row(&hwpts, &hwpt_id, &zero_hwpt);
}

static __always_inline void note_attached(__u32 dev_id, __u32 pasid,
					  __u32 hwpt_id)
{
	struct iommutop_dev_key key = { .dev_id = dev_id, .pasid = pasid };
	__u32 *cur = bpf_map_lookup_elem(&attached, &key);

	if (cur && *cur == hwpt_id)
		return;
	if (bpf_map_update_elem(&attached, &key, &hwpt_id, BPF_ANY))
		count_lost();
}

/* ---- the handlers: @ctx holds the tracepoint's arguments ---- */

/* attach(dev_id, rid, pasid, hwpt_id, old_hwpt_id) */
static __always_inline int on_attach(__u64 *ctx, bool btf)
{
	count_event(IOMMUTOP_EV_ATTACH);
	note_attached(ctx[0], ctx[2], ctx[3]);
	return 0;
}

/* detach(dev_id, rid, pasid, hwpt_id, old_hwpt_id) */
static __always_inline int on_detach(__u64 *ctx, bool btf)
{
	struct iommutop_dev_key key = { .dev_id = ctx[0], .pasid = ctx[2] };

	count_event(IOMMUTOP_EV_DETACH);
	bpf_map_delete_elem(&attached, &key);
	return 0;
}

/* invalidate(hwpt_id, entry, dropped, injected_drop, injected_error) */
static __always_inline int on_invalidate(__u64 *ctx, bool btf)
{
	const struct nestiommu_inv_entry *e = (void *)ctx[1];
	struct iommutop_hwpt_counters *h;
	__u32 cache;

	count_event(IOMMUTOP_EV_INVALIDATE);
	h = hwpt_row(ctx[0]);
	if (!h)
		return 0;
	h->inv_entries++;
	if ((bool)ctx[3]) {
		h->inv_injected_drops++;
	} else if ((__u32)ctx[4]) {
		h->inv_injected_errors++;
	} else {
		cache = ARG_READ(btf, e, cache);
		h->inv_iotlb += !!(cache & NESTIOMMU_INV_CACHE_IOTLB);
		h->inv_dev_iotlb += !!(cache & NESTIOMMU_INV_CACHE_DEV_IOTLB);
		h->inv_pasid += !!(cache & NESTIOMMU_INV_CACHE_PASID);
		h->inv_dropped += (__u32)ctx[2];
	}
	return 0;
}

/* translate(dev_id, pasid, hwpt_id, iova, access, res) */
static __always_inline int on_translate(__u64 *ctx, bool btf)
{
	const struct nest_xlate_res *res = (void *)ctx[5];
	__u32 dev_id = ctx[0], pasid = ctx[1], hwpt_id = ctx[2];
	struct iommutop_dev_counters *d;
	struct iommutop_hwpt_counters *h;
	__u8 source, refs;

	count_event(IOMMUTOP_EV_TRANSLATE);
	if (!dev_wanted(dev_id, pasid))
		return 0;
	source = ARG_READ(btf, res, source);
	refs = ARG_READ(btf, res, mem_refs);
	note_attached(dev_id, pasid, hwpt_id);
	d = dev_row(dev_id, pasid);
	if (d) {
		d->translations++;
		d->iotlb_hits += source == NESTIOMMU_XLATE_IOTLB;
		d->devtlb_hits += source == NESTIOMMU_XLATE_DEVTLB;
		if (source == NESTIOMMU_XLATE_WALK) {
			d->walks++;
			d->walk_mem_refs += refs;
		}
	}
	h = hwpt_row(hwpt_id);
	if (h) {
		h->translations++;
		h->iotlb_hits += source == NESTIOMMU_XLATE_IOTLB;
		h->devtlb_hits += source == NESTIOMMU_XLATE_DEVTLB;
		if (source == NESTIOMMU_XLATE_WALK) {
			h->walks++;
			h->walk_mem_refs += refs;
		}
	}
	return 0;
}

/* dma(dev_id, pasid, cmd, bytes_done) */
static __always_inline int on_dma(__u64 *ctx, bool btf)
{
	const struct nestiommu_dma *cmd = (void *)ctx[2];
	__u32 dev_id = ctx[0], pasid = ctx[1];
	struct iommutop_dev_key key = { .dev_id = dev_id, .pasid = pasid };
	struct iommutop_dev_counters *d;
	struct iommutop_hwpt_counters *h;
	__u64 bytes = ctx[3];
	__u32 *hwpt_id;

	count_event(IOMMUTOP_EV_DMA);
	if (!dev_wanted(dev_id, pasid))
		return 0;
	d = dev_row(dev_id, pasid);
	if (d) {
		d->dma_ops++;
		d->dma_bytes += bytes;
		if (ARG_READ(btf, cmd, out_flags) & NESTIOMMU_OUT_FAULT)
			d->dma_faulted++;
	}
	/* Like the driver, a DMA counts on a HWPT it moved bytes through. */
	hwpt_id = bpf_map_lookup_elem(&attached, &key);
	if (!hwpt_id || !bytes)
		return 0;
	h = hwpt_row(*hwpt_id);
	if (h) {
		h->dma_ops++;
		h->dma_bytes += bytes;
	}
	return 0;
}

/* fault(dev_id, pasid, hwpt_id, fault) */
static __always_inline int on_fault(__u64 *ctx, bool btf)
{
	const struct nest_fault *f = (void *)ctx[3];
	__u32 dev_id = ctx[0], pasid = ctx[1], hwpt_id = ctx[2];
	struct iommutop_fault_key key = {};
	struct iommutop_dev_counters *d;
	struct iommutop_hwpt_counters *h;
	__u64 *n;
	bool injected;
	__u32 reason;

	count_event(IOMMUTOP_EV_FAULT);
	if (!dev_wanted(dev_id, pasid))
		return 0;
	reason = ARG_READ(btf, f, reason);
	injected = ARG_READ(btf, f, flags) & NESTIOMMU_FAULT_F_INJECTED;
	/* Every fault is a translation that failed. */
	d = dev_row(dev_id, pasid);
	if (d) {
		d->translations++;
		d->faults++;
		d->faults_injected += injected;
		d->faults_no_hwpt += !hwpt_id;
	}
	if (hwpt_id) {
		h = hwpt_row(hwpt_id);
		if (h) {
			h->translations++;
			h->faults++;
			h->faults_injected += injected;
		}
	}
	key.dev_id = dev_id;
	key.pasid = pasid;
	key.hwpt_id = hwpt_id;
	key.stage = ARG_READ(btf, f, stage);
	key.reason = reason < IOMMUTOP_NR_REASONS ? reason : 0;
	key.injected = injected;
	n = row(&faults, &key, &zero_count);
	if (n)
		(*n)++;
	return 0;
}

/* stale_translation(dev_id, pasid, hwpt_id, iova, cached, walk, reason) */
static __always_inline int on_stale(__u64 *ctx, bool btf)
{
	__u32 dev_id = ctx[0], pasid = ctx[1];
	struct iommutop_dev_counters *d;
	struct iommutop_hwpt_counters *h;

	count_event(IOMMUTOP_EV_STALE);
	if (!dev_wanted(dev_id, pasid))
		return 0;
	d = dev_row(dev_id, pasid);
	if (d)
		d->stale++;
	h = hwpt_row(ctx[2]);
	if (h)
		h->stale++;
	return 0;
}

/* fault_queue_overflow(queue_id, dropped) */
static __always_inline int on_fq_overflow(__u64 *ctx, bool btf)
{
	count_event(IOMMUTOP_EV_FQ_OVERFLOW);
	return 0;
}

/* page_request(dev_id, pasid, grpid, cookie, addr, perm, last, injected) */
static __always_inline int on_page_request(__u64 *ctx, bool btf)
{
	__u32 dev_id = ctx[0], pasid = ctx[1];
	struct iommutop_pr_key key = {
		.dev_id = dev_id, .pasid = pasid, .cookie = ctx[3],
	};
	struct iommutop_pr_pending *p, first = {
		.sent_ns = bpf_ktime_get_ns(), .pages = 1, .grpid = ctx[2],
	};
	struct iommutop_dev_counters *d;
	long rc;

	count_event(IOMMUTOP_EV_PAGE_REQUEST);
	if (!dev_wanted(dev_id, pasid))
		return 0;
	d = dev_row(dev_id, pasid);
	if (d) {
		d->page_requests++;
		d->pr_injected += !!(__u32)ctx[7];
	}
	/* A group is one cookie: its first page inserts it. */
	p = bpf_map_lookup_elem(&pending, &key);
	if (p) {
		__sync_fetch_and_add(&p->pages, 1);
		return 0;
	}
	rc = bpf_map_update_elem(&pending, &key, &first, BPF_NOEXIST);
	if (!rc) {
		if (d)
			d->pr_groups++;
	} else if ((p = bpf_map_lookup_elem(&pending, &key))) {
		__sync_fetch_and_add(&p->pages, 1);
	} else {
		count_lost();
	}
	return 0;
}

/*
 * page_response(dev_id, pasid, grpid, cookie, code, automatic, latency_ns,
 *		 injected)
 */
static __always_inline int on_page_response(__u64 *ctx, bool btf)
{
	__u32 dev_id = ctx[0], pasid = ctx[1], code = ctx[4];
	struct iommutop_pr_key key = {
		.dev_id = dev_id, .pasid = pasid, .cookie = ctx[3],
	};
	struct iommutop_dev_counters *d;
	__u64 latency = ctx[6];
	__u32 slot;

	count_event(IOMMUTOP_EV_PAGE_RESPONSE);
	if (!dev_wanted(dev_id, pasid))
		return 0;
	bpf_map_delete_elem(&pending, &key);
	d = dev_row(dev_id, pasid);
	if (!d)
		return 0;
	d->pr_responses++;
	d->pr_success += code == NESTIOMMU_PAGE_RESP_SUCCESS;
	d->pr_invalid += code == NESTIOMMU_PAGE_RESP_INVALID;
	d->pr_failure += code == NESTIOMMU_PAGE_RESP_FAILURE;
	d->pr_auto += (bool)ctx[5];
	d->pr_resp_injected += !!(__u32)ctx[7];
	d->lat_sum_ns += latency;
	slot = iommutop_lat_slot(latency);
	if (slot < IOMMUTOP_LAT_SLOTS)
		d->lat_hist[slot]++;
	return 0;
}

/* page_request_timeout(dev_id, pasid, grpid, cookie) */
static __always_inline int on_pr_timeout(__u64 *ctx, bool btf)
{
	__u32 dev_id = ctx[0], pasid = ctx[1];
	struct iommutop_dev_counters *d;

	count_event(IOMMUTOP_EV_PR_TIMEOUT);
	if (!dev_wanted(dev_id, pasid))
		return 0;
	d = dev_row(dev_id, pasid);
	if (d)
		d->pr_timeouts++;
	return 0;
}

/*
 * Each handler as a tp_btf program (NAME_btf) and a raw_tp program
 * (NAME_raw); both receive the arguments as an array of u64.
 */
#define IOMMUTOP_PROGS(event, handler)					\
	SEC("tp_btf/" #event)						\
	int event##_btf(__u64 *ctx)					\
	{								\
		return handler(ctx, true);				\
	}								\
	SEC("raw_tp/" #event)						\
	int event##_raw(__u64 *ctx)					\
	{								\
		return handler(ctx, false);				\
	}

IOMMUTOP_PROGS(attach, on_attach)
IOMMUTOP_PROGS(detach, on_detach)
IOMMUTOP_PROGS(invalidate, on_invalidate)
IOMMUTOP_PROGS(translate, on_translate)
IOMMUTOP_PROGS(dma, on_dma)
IOMMUTOP_PROGS(fault, on_fault)
IOMMUTOP_PROGS(stale_translation, on_stale)
IOMMUTOP_PROGS(fault_queue_overflow, on_fq_overflow)
IOMMUTOP_PROGS(page_request, on_page_request)
IOMMUTOP_PROGS(page_response, on_page_response)
IOMMUTOP_PROGS(page_request_timeout, on_pr_timeout)

/* map and unmap: classic tracepoints, whose context is the record. */
static __always_inline int on_area(struct trace_event_raw_nest_ioas_area *ctx,
				   bool map)
{
	__u32 ioas_id = ctx->ioas_id;
	__u64 length = ctx->length;
	struct iommutop_ioas_counters *a;

	count_event(map ? IOMMUTOP_EV_MAP : IOMMUTOP_EV_UNMAP);
	a = row(&ioases, &ioas_id, &zero_ioas);
	if (!a)
		return 0;
	if (map) {
		a->maps++;
		a->map_bytes += length;
	} else {
		a->unmaps++;
		a->unmap_bytes += length;
	}
	return 0;
}

SEC("tracepoint/nestiommu/map")
int map_tp(struct trace_event_raw_nest_ioas_area *ctx)
{
	return on_area(ctx, true);
}

SEC("tracepoint/nestiommu/unmap")
int unmap_tp(struct trace_event_raw_nest_ioas_area *ctx)
{
	return on_area(ctx, false);
}

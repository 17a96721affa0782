// SPDX-License-Identifier: GPL-2.0
/*
 * iommutop.bpf.c - count nestiommu's events in the kernel for iommutop.
 *
 * Every nestiommu tracepoint but the hook points has a handler that adds
 * to per-CPU rows (iommutop.h): per device x PASID, per HWPT, per IOAS and
 * per fault kind. User space reads and sums the rows; no event is ever
 * copied out. Outstanding page request groups are the one shared state: a
 * hash of (device, PASID, cookie) set by the group's first
 * nest_page_request and deleted by its nest_page_response.
 *
 * Each handler is compiled twice, as tp_btf (typed, cheapest) and raw_tp
 * (kernels or setups where tp_btf does not load), both with the
 * tracepoint's arguments named and typed (BPF_PROG); user space turns one
 * set off with bpf_program__set_autoload() before load.
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
 * program (@btf; NULL-checked first, see nest_bpf.h), through a probe read
 * in a raw_tp one. @btf is a constant, so each program keeps only its own
 * way.
 */
#define ARG_READ(btf, ptr, field) \
	((btf) ? ((ptr) ? (ptr)->field : 0) : BPF_CORE_READ(ptr, field))

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

/*
 * Threads whose last failure-site hit was failed by BPF: a MAP that fails
 * there reports nest_map_error without its "injected" mark (that is for
 * nest_hook_map), so the map error is counted injected through this. A
 * MAP that works clears the thread's entry.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);	/* pid_tgid */
	__type(value, __u8);
} fail_site_threads SEC(".maps");

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

/*
 * ---- the handlers: the arguments they use, and @btf (a constant: true in
 * the tp_btf program, false in the raw_tp one) ----
 */

static __always_inline int on_attach(bool btf, __u32 dev_id, __u32 pasid,
				     __u32 hwpt_id)
{
	count_event(IOMMUTOP_EV_ATTACH);
	note_attached(dev_id, pasid, hwpt_id);
	return 0;
}

static __always_inline int on_detach(bool btf, __u32 dev_id, __u32 pasid)
{
	struct iommutop_dev_key key = { .dev_id = dev_id, .pasid = pasid };

	count_event(IOMMUTOP_EV_DETACH);
	bpf_map_delete_elem(&attached, &key);
	return 0;
}

static __always_inline int on_invalidate(bool btf, __u32 hwpt_id,
					 const struct nestiommu_inv_entry *e,
					 __u32 dropped, bool injected_drop,
					 __u32 injected_error)
{
	struct iommutop_hwpt_counters *h;
	__u32 cache;

	count_event(IOMMUTOP_EV_INVALIDATE);
	h = hwpt_row(hwpt_id);
	if (!h)
		return 0;
	h->inv_entries++;
	if (injected_drop) {
		h->inv_injected_drops++;
	} else if (injected_error) {
		h->inv_injected_errors++;
	} else {
		cache = ARG_READ(btf, e, cache);
		h->inv_iotlb += !!(cache & NESTIOMMU_INV_CACHE_IOTLB);
		h->inv_dev_iotlb += !!(cache & NESTIOMMU_INV_CACHE_DEV_IOTLB);
		h->inv_pasid += !!(cache & NESTIOMMU_INV_CACHE_PASID);
		h->inv_dropped += dropped;
	}
	return 0;
}

static __always_inline int on_translate(bool btf, __u32 dev_id, __u32 pasid,
					__u32 hwpt_id,
					const struct nest_xlate_res *res)
{
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

static __always_inline int on_dma(bool btf, __u32 dev_id, __u32 pasid,
				  const struct nestiommu_dma *cmd, __u64 bytes)
{
	struct iommutop_dev_key key = { .dev_id = dev_id, .pasid = pasid };
	struct iommutop_dev_counters *d;
	struct iommutop_hwpt_counters *h;
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

static __always_inline int on_fault(bool btf, __u32 dev_id, __u32 pasid,
				    __u32 hwpt_id, const struct nest_fault *f)
{
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

static __always_inline int on_stale(bool btf, __u32 dev_id, __u32 pasid,
				    __u32 hwpt_id)
{
	struct iommutop_dev_counters *d;
	struct iommutop_hwpt_counters *h;

	count_event(IOMMUTOP_EV_STALE);
	if (!dev_wanted(dev_id, pasid))
		return 0;
	d = dev_row(dev_id, pasid);
	if (d)
		d->stale++;
	h = hwpt_row(hwpt_id);
	if (h)
		h->stale++;
	return 0;
}

static __always_inline int on_fq_overflow(bool btf)
{
	count_event(IOMMUTOP_EV_FQ_OVERFLOW);
	return 0;
}

static __always_inline int on_page_request(bool btf, __u32 dev_id,
					   __u32 pasid, __u32 grpid,
					   __u64 cookie, __u32 injected)
{
	struct iommutop_pr_key key = {
		.dev_id = dev_id, .pasid = pasid, .cookie = cookie,
	};
	struct iommutop_pr_pending *p, first = {
		.sent_ns = bpf_ktime_get_ns(), .pages = 1, .grpid = grpid,
	};
	struct iommutop_dev_counters *d;
	long rc;

	count_event(IOMMUTOP_EV_PAGE_REQUEST);
	if (!dev_wanted(dev_id, pasid))
		return 0;
	d = dev_row(dev_id, pasid);
	if (d) {
		d->page_requests++;
		d->pr_injected += !!injected;
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

static __always_inline int on_page_response(bool btf, __u32 dev_id,
					    __u32 pasid, __u64 cookie,
					    __u32 code, bool automatic,
					    __u64 latency, __u32 injected)
{
	struct iommutop_pr_key key = {
		.dev_id = dev_id, .pasid = pasid, .cookie = cookie,
	};
	struct iommutop_dev_counters *d;
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
	d->pr_auto += automatic;
	d->pr_resp_injected += !!injected;
	d->lat_sum_ns += latency;
	slot = iommutop_lat_slot(latency);
	if (slot < IOMMUTOP_LAT_SLOTS)
		d->lat_hist[slot]++;
	return 0;
}

static __always_inline int on_pr_timeout(bool btf, __u32 dev_id, __u32 pasid)
{
	struct iommutop_dev_counters *d;

	count_event(IOMMUTOP_EV_PR_TIMEOUT);
	if (!dev_wanted(dev_id, pasid))
		return 0;
	d = dev_row(dev_id, pasid);
	if (d)
		d->pr_timeouts++;
	return 0;
}

static __always_inline int on_area(bool btf, bool map, __u32 ioas_id,
				   const struct nest_area *area)
{
	__u64 iova = ARG_READ(btf, area, iova);
	__u64 last = ARG_READ(btf, area, last);
	struct iommutop_ioas_counters *a;

	count_event(map ? IOMMUTOP_EV_MAP : IOMMUTOP_EV_UNMAP);
	if (map) {
		__u64 thread = bpf_get_current_pid_tgid();

		bpf_map_delete_elem(&fail_site_threads, &thread);
	}
	a = row(&ioases, &ioas_id, &zero_ioas);
	if (!a)
		return 0;
	if (map) {
		a->maps++;
		a->map_bytes += last - iova + 1;
	} else {
		a->unmaps++;
		a->unmap_bytes += last - iova + 1;
	}
	return 0;
}

static __always_inline int on_map_error(bool btf, __u32 ioas_id, bool injected)
{
	__u64 thread = bpf_get_current_pid_tgid();
	struct iommutop_ioas_counters *a;

	count_event(IOMMUTOP_EV_MAP_ERROR);
	if (!bpf_map_delete_elem(&fail_site_threads, &thread))
		injected = true;
	a = row(&ioases, &ioas_id, &zero_ioas);
	if (!a)
		return 0;
	a->map_errors++;
	a->map_errors_injected += injected;
	return 0;
}

/* Only an injected failure raises nest_fail_site. */
static __always_inline int on_fail_site(bool btf)
{
	__u64 thread = bpf_get_current_pid_tgid();
	__u8 one = 1;

	count_event(IOMMUTOP_EV_FAIL_SITE);
	bpf_map_update_elem(&fail_site_threads, &thread, &one, BPF_ANY);
	return 0;
}

#define IOMMUTOP_UNPAREN(...) __VA_ARGS__

/*
 * The tp_btf program (NAME_btf) and the raw_tp program (NAME_raw) of
 * @event: both take the tracepoint's arguments as @proto (its TP_PROTO)
 * and return @call, which may use them and @btf.
 */
#define IOMMUTOP_PROGS(event, proto, call)				\
	SEC("tp_btf/" #event)						\
	int BPF_PROG(event##_btf, IOMMUTOP_UNPAREN proto)		\
	{								\
		const bool btf = true;					\
									\
		return call;						\
	}								\
	SEC("raw_tp/" #event)						\
	int BPF_PROG(event##_raw, IOMMUTOP_UNPAREN proto)		\
	{								\
		const bool btf = false;					\
									\
		return call;						\
	}

IOMMUTOP_PROGS(nest_map,
	       (u32 ioas_id, const struct nest_area *area),
	       on_area(btf, true, ioas_id, area))
IOMMUTOP_PROGS(nest_map_error,
	       (u32 ioas_id, u64 iova, u64 length, int err, bool injected,
		u32 pid),
	       on_map_error(btf, ioas_id, injected))
IOMMUTOP_PROGS(nest_fail_site,
	       (u32 site, u32 pid, int err),
	       on_fail_site(btf))
IOMMUTOP_PROGS(nest_unmap,
	       (u32 ioas_id, const struct nest_area *area),
	       on_area(btf, false, ioas_id, area))
IOMMUTOP_PROGS(nest_attach,
	       (u32 dev_id, u32 rid, u32 pasid, u32 hwpt_id, u32 old_hwpt_id),
	       on_attach(btf, dev_id, pasid, hwpt_id))
IOMMUTOP_PROGS(nest_detach,
	       (u32 dev_id, u32 rid, u32 pasid, u32 hwpt_id, u32 old_hwpt_id),
	       on_detach(btf, dev_id, pasid))
IOMMUTOP_PROGS(nest_invalidate,
	       (u32 hwpt_id, const struct nestiommu_inv_entry *e, u32 dropped,
		bool injected_drop, u32 injected_error),
	       on_invalidate(btf, hwpt_id, e, dropped, injected_drop,
			     injected_error))
IOMMUTOP_PROGS(nest_translate,
	       (u32 dev_id, u32 pasid, u32 hwpt_id, u64 iova, u32 access,
		const struct nest_xlate_res *res),
	       on_translate(btf, dev_id, pasid, hwpt_id, res))
IOMMUTOP_PROGS(nest_dma,
	       (u32 dev_id, u32 pasid, const struct nestiommu_dma *cmd,
		u64 bytes_done),
	       on_dma(btf, dev_id, pasid, cmd, bytes_done))
IOMMUTOP_PROGS(nest_fault,
	       (u32 dev_id, u32 pasid, u32 hwpt_id,
		const struct nest_fault *fault, u32 owner_pid),
	       on_fault(btf, dev_id, pasid, hwpt_id, fault))
IOMMUTOP_PROGS(nest_stale_translation,
	       (u32 dev_id, u32 pasid, u32 hwpt_id, u64 iova,
		const struct nest_xlate_res *cached,
		const struct nest_xlate_res *walk, u32 reason),
	       on_stale(btf, dev_id, pasid, hwpt_id))
IOMMUTOP_PROGS(nest_fault_queue_overflow,
	       (u32 queue_id, u64 dropped),
	       on_fq_overflow(btf))
IOMMUTOP_PROGS(nest_page_request,
	       (u32 dev_id, u32 pasid, u32 grpid, u64 cookie, u64 addr,
		u32 perm, bool last, u32 injected, u32 owner_pid),
	       on_page_request(btf, dev_id, pasid, grpid, cookie, injected))
IOMMUTOP_PROGS(nest_page_response,
	       (u32 dev_id, u32 pasid, u32 grpid, u64 cookie, u32 code,
		bool automatic, u64 latency_ns, u32 injected, u32 owner_pid),
	       on_page_response(btf, dev_id, pasid, cookie, code, automatic,
				latency_ns, injected))
IOMMUTOP_PROGS(nest_page_request_timeout,
	       (u32 dev_id, u32 pasid, u32 grpid, u64 cookie, u32 owner_pid),
	       on_pr_timeout(btf, dev_id, pasid))

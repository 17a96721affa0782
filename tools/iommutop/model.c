// SPDX-License-Identifier: GPL-2.0
/*
 * model.c - rates, percentages, percentiles, filtering and sorting of
 * iommutop's tables (see model.h for the definitions).
 */
#include <errno.h>
#include <stddef.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

/* The counter blocks are treated as arrays of __u64 to subtract them. */
_Static_assert(sizeof(struct iommutop_dev_counters) % sizeof(__u64) == 0,
	       "dev counters are all __u64");
_Static_assert(sizeof(struct iommutop_hwpt_counters) % sizeof(__u64) == 0,
	       "hwpt counters are all __u64");
_Static_assert(sizeof(struct iommutop_ioas_counters) % sizeof(__u64) == 0,
	       "ioas counters are all __u64");
_Static_assert(DC_NR <= MAX_COLS && HC_NR <= MAX_COLS && IC_NR <= MAX_COLS &&
	       FC_NR <= MAX_COLS, "MAX_COLS too small");

#define NSEC_PER_SEC 1e9

/* ---- snapshots ---- */

void snapshot_free(struct snapshot *s)
{
	free(s->devs);
	free(s->hwpts);
	free(s->ioas);
	free(s->faults);
	memset(s, 0, sizeof(*s));
}

static int dup_array(void **dst, const void *src, size_t n, size_t size)
{
	*dst = NULL;
	if (!n)
		return 0;
	*dst = malloc(n * size);
	if (!*dst)
		return -ENOMEM;
	memcpy(*dst, src, n * size);
	return 0;
}

int snapshot_copy(struct snapshot *dst, const struct snapshot *src)
{
	*dst = *src;
	if (dup_array((void **)&dst->devs, src->devs, src->nr_devs,
		      sizeof(*src->devs)) ||
	    dup_array((void **)&dst->hwpts, src->hwpts, src->nr_hwpts,
		      sizeof(*src->hwpts)) ||
	    dup_array((void **)&dst->ioas, src->ioas, src->nr_ioas,
		      sizeof(*src->ioas)) ||
	    dup_array((void **)&dst->faults, src->faults, src->nr_faults,
		      sizeof(*src->faults))) {
		snapshot_free(dst);
		return -ENOMEM;
	}
	return 0;
}

static int cmp_u32(__u32 a, __u32 b)
{
	return (a > b) - (a < b);
}

static int cmp_dev_key(const struct iommutop_dev_key *a,
		       const struct iommutop_dev_key *b)
{
	return cmp_u32(a->dev_id, b->dev_id) ?: cmp_u32(a->pasid, b->pasid);
}

static int cmp_snap_dev(const void *a, const void *b)
{
	return cmp_dev_key(&((const struct snap_dev *)a)->key,
			   &((const struct snap_dev *)b)->key);
}

static int cmp_snap_hwpt(const void *a, const void *b)
{
	return cmp_u32(((const struct snap_hwpt *)a)->hwpt_id,
		       ((const struct snap_hwpt *)b)->hwpt_id);
}

static int cmp_snap_ioas(const void *a, const void *b)
{
	return cmp_u32(((const struct snap_ioas *)a)->ioas_id,
		       ((const struct snap_ioas *)b)->ioas_id);
}

static int cmp_fault_key(const struct iommutop_fault_key *a,
			 const struct iommutop_fault_key *b)
{
	return cmp_u32(a->dev_id, b->dev_id) ?: cmp_u32(a->pasid, b->pasid) ?:
	       cmp_u32(a->hwpt_id, b->hwpt_id) ?:
	       cmp_u32(a->stage, b->stage) ?: cmp_u32(a->reason, b->reason) ?:
	       cmp_u32(a->injected, b->injected);
}

static int cmp_snap_fault(const void *a, const void *b)
{
	return cmp_fault_key(&((const struct snap_fault *)a)->key,
			     &((const struct snap_fault *)b)->key);
}

void snapshot_sort(struct snapshot *s)
{
	qsort(s->devs, s->nr_devs, sizeof(*s->devs), cmp_snap_dev);
	qsort(s->hwpts, s->nr_hwpts, sizeof(*s->hwpts), cmp_snap_hwpt);
	qsort(s->ioas, s->nr_ioas, sizeof(*s->ioas), cmp_snap_ioas);
	qsort(s->faults, s->nr_faults, sizeof(*s->faults), cmp_snap_fault);
}

/* ---- histograms ---- */

double lat_slot_le_ns(int k)
{
	if (k >= IOMMUTOP_LAT_SLOTS - 1)
		return INFINITY;
	return k ? ldexp(1.0, k) : 1.0;
}

static double lat_slot_lo_ns(int k)
{
	return k ? ldexp(1.0, k - 1) : 0.0;
}

double hist_quantile_ns(const __u64 *slots, int n, double q)
{
	double total = 0, rank, below = 0, frac;
	int k;

	for (k = 0; k < n; k++)
		total += slots[k];
	if (!total)
		return NAN;
	rank = q * total;
	for (k = 0; k < n; k++) {
		if (!slots[k])
			continue;
		if (below + slots[k] >= rank || k == n - 1)
			break;
		below += slots[k];
	}
	if (k >= n)
		k = n - 1;
	/* Nothing is known above the last slot's lower bound. */
	if (k == IOMMUTOP_LAT_SLOTS - 1)
		return lat_slot_lo_ns(k);
	frac = (rank - below) / slots[k];
	if (frac < 0)
		frac = 0;
	if (frac > 1)
		frac = 1;
	return lat_slot_lo_ns(k) +
	       frac * (lat_slot_le_ns(k) - lat_slot_lo_ns(k));
}

/* ---- columns ---- */

static const struct column dev_cols[DC_NR] = {
	[DC_DEV] = { "dev", "DEV", 4, FMT_ID, false, "device ID" },
	[DC_PASID] = { "pasid", "PASID", 6, FMT_PASID, false,
		       "PASID (rid: requests without PASID)" },
	[DC_HWPT] = { "hwpt", "HWPT", 5, FMT_ID, false,
		      "HWPT attached there now (-: none seen)" },
	[DC_DMA_OPS] = { "dma_ops", "DMA/s", 7, FMT_RATE, true,
			 "DMA calls per second" },
	[DC_DMA_BYTES] = { "dma_bytes", "DMAB/s", 7, FMT_BYTES, true,
			   "bytes moved by DMA per second" },
	[DC_XLATE] = { "translations", "XLATE/s", 8, FMT_RATE, true,
		       "pages translated or faulted per second" },
	[DC_IOTLB_PCT] = { "iotlb_hit_pct", "IOTLB%", 6, FMT_PCT, true,
			   "IOTLB hits per IOTLB lookup" },
	[DC_DEVTLB_PCT] = { "devtlb_hit_pct", "DTLB%", 6, FMT_PCT, true,
			    "device-TLB hits per lookup (ATS devices)" },
	[DC_WALK_REFS] = { "walk_refs", "REFS", 5, FMT_FLOAT, true,
			   "page-table entries read per walk" },
	[DC_FAULTS] = { "faults", "FLT/s", 6, FMT_RATE, true,
			"faults per second, injected ones included" },
	[DC_INJECTED] = { "faults_injected", "INJ/s", 6, FMT_RATE, true,
			  "faults injected by BPF per second" },
	[DC_PR] = { "page_requests", "PR/s", 6, FMT_RATE, true,
		    "page requests per second" },
	[DC_PR_OUT] = { "pr_outstanding", "PROUT", 5, FMT_COUNT, true,
			"page requests outstanding now" },
	[DC_PR_AGE] = { "pr_oldest_s", "PRAGE", 6, FMT_SECONDS, true,
			"age of the oldest outstanding page request" },
	[DC_P50] = { "lat_p50_s", "P50", 6, FMT_SECONDS, true,
		     "page-response latency, median" },
	[DC_P99] = { "lat_p99_s", "P99", 6, FMT_SECONDS, true,
		     "page-response latency, 99th percentile" },
};

static const struct column hwpt_cols[HC_NR] = {
	[HC_HWPT] = { "hwpt", "HWPT", 5, FMT_ID, false, "HWPT ID" },
	[HC_XLATE] = { "translations", "XLATE/s", 8, FMT_RATE, true,
		       "pages translated or faulted per second" },
	[HC_IOTLB_PCT] = { "iotlb_hit_pct", "IOTLB%", 6, FMT_PCT, true,
			   "IOTLB hits per IOTLB lookup" },
	[HC_DEVTLB_PCT] = { "devtlb_hit_pct", "DTLB%", 6, FMT_PCT, true,
			    "device-TLB hits per lookup (ATS devices)" },
	[HC_WALK_REFS] = { "walk_refs", "REFS", 5, FMT_FLOAT, true,
			   "page-table entries read per walk" },
	[HC_DMA_OPS] = { "dma_ops", "DMA/s", 7, FMT_RATE, true,
			 "DMA calls that moved bytes through it per second" },
	[HC_DMA_BYTES] = { "dma_bytes", "DMAB/s", 7, FMT_BYTES, true,
			   "bytes moved by DMA per second" },
	[HC_FAULTS] = { "faults", "FLT/s", 6, FMT_RATE, true,
			"faults per second, injected ones included" },
	[HC_INJECTED] = { "faults_injected", "INJ/s", 6, FMT_RATE, true,
			  "faults injected by BPF per second" },
	[HC_INV] = { "invalidations", "INV/s", 6, FMT_RATE, true,
		     "invalidation entries per second" },
	[HC_INV_IOTLB] = { "inv_iotlb", "IOTLB/s", 7, FMT_RATE, true,
			   "entries invalidating the IOTLB per second" },
	[HC_INV_DEVTLB] = { "inv_dev_iotlb", "DTLB/s", 6, FMT_RATE, true,
			    "entries invalidating device TLBs per second" },
	[HC_INV_PASID] = { "inv_pasid", "PASC/s", 6, FMT_RATE, true,
			   "entries invalidating PASID caches per second" },
	[HC_INV_DROPPED] = { "inv_dropped", "DROP/s", 6, FMT_RATE, true,
			     "cache entries invalidations dropped per second" },
	[HC_INV_INJECTED] = { "inv_injected", "IINJ/s", 6, FMT_RATE, true,
			      "invalidation entries BPF dropped or failed per second" },
};

static const struct column ioas_cols[IC_NR] = {
	[IC_IOAS] = { "ioas", "IOAS", 5, FMT_ID, false, "IOAS ID" },
	[IC_MAPS] = { "maps", "MAP/s", 7, FMT_RATE, true,
		      "mappings added per second" },
	[IC_UNMAPS] = { "unmaps", "UNMAP/s", 7, FMT_RATE, true,
			"mappings removed per second" },
	[IC_MAP_BYTES] = { "map_bytes", "MAPB/s", 7, FMT_BYTES, true,
			   "bytes mapped per second" },
	[IC_UNMAP_BYTES] = { "unmap_bytes", "UNMAPB/s", 8, FMT_BYTES, true,
			     "bytes unmapped per second" },
};

static const struct column fault_cols[FC_NR] = {
	[FC_DEV] = { "dev", "DEV", 4, FMT_ID, false, "device ID" },
	[FC_PASID] = { "pasid", "PASID", 6, FMT_PASID, false,
		       "PASID (rid: requests without PASID)" },
	[FC_HWPT] = { "hwpt", "HWPT", 5, FMT_ID, false,
		      "HWPT that faulted (-: nothing attached)" },
	[FC_STAGE] = { "stage", "STAGE", 5, FMT_STAGE, false,
		       "translation stage that faulted" },
	[FC_REASON] = { "reason", "REASON", 15, FMT_REASON, false,
			"fault reason" },
	[FC_ORIGIN] = { "origin", "ORIGIN", 8, FMT_ORIGIN, false,
			"organic, or injected by BPF" },
	[FC_RATE] = { "rate", "FLT/s", 8, FMT_RATE, true,
		      "faults per second" },
	[FC_TOTAL] = { "total", "TOTAL", 9, FMT_COUNT, true,
		       "faults since iommutop started" },
};

static const struct {
	const char *name;
	const struct column *cols;
	int nr_cols;
	int default_sort;
} views[VIEW_NR] = {
	[VIEW_DEVS] = { "devices", dev_cols, DC_NR, DC_XLATE },
	[VIEW_HWPTS] = { "hwpts", hwpt_cols, HC_NR, HC_XLATE },
	[VIEW_IOAS] = { "ioas", ioas_cols, IC_NR, IC_MAPS },
	[VIEW_FAULTS] = { "faults", fault_cols, FC_NR, FC_RATE },
};

const struct column *view_columns(enum view_kind kind, int *nr_cols)
{
	*nr_cols = views[kind].nr_cols;
	return views[kind].cols;
}

const char *view_name(enum view_kind kind)
{
	return views[kind].name;
}

int view_find_column(enum view_kind kind, const char *key)
{
	int i;

	for (i = 0; i < views[kind].nr_cols; i++)
		if (!strcmp(views[kind].cols[i].key, key))
			return i;
	return -1;
}

int view_default_sort(enum view_kind kind)
{
	return views[kind].default_sort;
}

bool filter_match(const struct filter *f, __u32 dev, __u32 pasid)
{
	return !f || ((!f->dev_set || f->dev == dev) &&
		      (!f->pasid_set || f->pasid == pasid));
}

/* A whole decimal u32 (no sign, no blanks); false otherwise. */
static bool parse_u32(const char *s, size_t n, __u32 *out)
{
	unsigned long long v = 0;
	size_t i;

	if (!n || n > 10)
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	if (v > 0xffffffffULL)
		return false;
	*out = v;
	return true;
}

bool filter_parse(const char *s, struct filter *f)
{
	struct filter nf = {};

	while (*s) {
		size_t n;

		if (*s == ' ' || *s == ',') {
			s++;
			continue;
		}
		n = strcspn(s, " ,");
		if (!strncmp(s, "dev=", 4) && !nf.dev_set &&
		    parse_u32(s + 4, n - 4, &nf.dev)) {
			nf.dev_set = true;
		} else if (!strncmp(s, "pasid=", 6) && !nf.pasid_set) {
			if (n == 9 && !strncmp(s + 6, "rid", 3))
				nf.pasid = NESTIOMMU_PASID_NONE;
			else if (!parse_u32(s + 6, n - 6, &nf.pasid) ||
				 nf.pasid == NESTIOMMU_PASID_NONE)
				return false;
			nf.pasid_set = true;
		} else {
			return false;
		}
		s += n;
	}
	*f = nf;
	return true;
}

/* ---- rows ---- */

/* @n __u64 counters: @out = @cur - @prev (prev NULL: 0); never negative. */
static void delta(__u64 *out, const __u64 *cur, const __u64 *prev, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		out[i] = prev && prev[i] <= cur[i] ? cur[i] - prev[i] :
			 prev ? 0 : cur[i];
}

#define DELTA(out, cur, prev)						\
	delta((__u64 *)(out), (const __u64 *)(cur),			\
	      (const __u64 *)(prev), sizeof(*(out)) / sizeof(__u64))

static double ratio(double num, double den)
{
	return den > 0 ? num / den : NAN;
}

static double interval_s(const struct snapshot *prev,
			 const struct snapshot *cur)
{
	return cur->mono_ns > prev->mono_ns ?
	       (cur->mono_ns - prev->mono_ns) / NSEC_PER_SEC : 0;
}

static double rate(__u64 n, double dt)
{
	return dt > 0 ? n / dt : 0;
}

/* Cache figures shared by device and HWPT rows (see model.h). */
static void cache_pcts(__u64 translations, __u64 iotlb_hits,
		       __u64 devtlb_hits, __u64 not_cached, bool has_devtlb,
		       double *iotlb_pct, double *devtlb_pct)
{
	double lookups = (double)translations - not_cached;

	*iotlb_pct = 100 * ratio(iotlb_hits, lookups - devtlb_hits);
	*devtlb_pct = has_devtlb ? 100 * ratio(devtlb_hits, lookups) : NAN;
}

static const struct snap_dev *find_dev(const struct snapshot *s,
				       const struct iommutop_dev_key *key)
{
	struct snap_dev k = { .key = *key };

	return bsearch(&k, s->devs, s->nr_devs, sizeof(k), cmp_snap_dev);
}

static const struct snap_hwpt *find_hwpt(const struct snapshot *s, __u32 id)
{
	struct snap_hwpt k = { .hwpt_id = id };

	return bsearch(&k, s->hwpts, s->nr_hwpts, sizeof(k), cmp_snap_hwpt);
}

static const struct snap_ioas *find_ioas(const struct snapshot *s, __u32 id)
{
	struct snap_ioas k = { .ioas_id = id };

	return bsearch(&k, s->ioas, s->nr_ioas, sizeof(k), cmp_snap_ioas);
}

static const struct snap_fault *find_fault(const struct snapshot *s,
					   const struct iommutop_fault_key *key)
{
	struct snap_fault k = { .key = *key };

	return bsearch(&k, s->faults, s->nr_faults, sizeof(k), cmp_snap_fault);
}

static double age_s(__u64 now_ns, __u64 sent_ns)
{
	if (!sent_ns)
		return NAN;
	return now_ns > sent_ns ? (now_ns - sent_ns) / NSEC_PER_SEC : 0;
}

static void dev_row(struct row *r, const struct snap_dev *cur,
		    const struct snap_dev *prev, double dt, __u64 now_ns)
{
	struct iommutop_dev_counters d;
	double *v = r->v;

	DELTA(&d, &cur->c, prev ? &prev->c : NULL);
	r->src = cur;
	v[DC_DEV] = cur->key.dev_id;
	v[DC_PASID] = cur->key.pasid;
	v[DC_HWPT] = cur->hwpt_id;
	v[DC_DMA_OPS] = rate(d.dma_ops, dt);
	v[DC_DMA_BYTES] = rate(d.dma_bytes, dt);
	v[DC_XLATE] = rate(d.translations, dt);
	cache_pcts(d.translations, d.iotlb_hits, d.devtlb_hits,
		   d.faults_injected + d.faults_no_hwpt, cur->c.devtlb_hits,
		   &v[DC_IOTLB_PCT], &v[DC_DEVTLB_PCT]);
	v[DC_WALK_REFS] = ratio(d.walk_mem_refs, d.walks);
	v[DC_FAULTS] = rate(d.faults, dt);
	v[DC_INJECTED] = rate(d.faults_injected, dt);
	v[DC_PR] = rate(d.page_requests, dt);
	v[DC_PR_OUT] = cur->pr_out_pages;
	v[DC_PR_AGE] = age_s(now_ns, cur->pr_oldest_ns);
	v[DC_P50] = hist_quantile_ns(d.lat_hist, IOMMUTOP_LAT_SLOTS, 0.50) /
		    NSEC_PER_SEC;
	v[DC_P99] = hist_quantile_ns(d.lat_hist, IOMMUTOP_LAT_SLOTS, 0.99) /
		    NSEC_PER_SEC;
}

static void hwpt_row(struct row *r, const struct snap_hwpt *cur,
		     const struct snap_hwpt *prev, double dt)
{
	struct iommutop_hwpt_counters d;
	double *v = r->v;

	DELTA(&d, &cur->c, prev ? &prev->c : NULL);
	r->src = cur;
	v[HC_HWPT] = cur->hwpt_id;
	v[HC_XLATE] = rate(d.translations, dt);
	cache_pcts(d.translations, d.iotlb_hits, d.devtlb_hits,
		   d.faults_injected, cur->c.devtlb_hits,
		   &v[HC_IOTLB_PCT], &v[HC_DEVTLB_PCT]);
	v[HC_WALK_REFS] = ratio(d.walk_mem_refs, d.walks);
	v[HC_DMA_OPS] = rate(d.dma_ops, dt);
	v[HC_DMA_BYTES] = rate(d.dma_bytes, dt);
	v[HC_FAULTS] = rate(d.faults, dt);
	v[HC_INJECTED] = rate(d.faults_injected, dt);
	v[HC_INV] = rate(d.inv_entries, dt);
	v[HC_INV_IOTLB] = rate(d.inv_iotlb, dt);
	v[HC_INV_DEVTLB] = rate(d.inv_dev_iotlb, dt);
	v[HC_INV_PASID] = rate(d.inv_pasid, dt);
	v[HC_INV_DROPPED] = rate(d.inv_dropped, dt);
	v[HC_INV_INJECTED] = rate(d.inv_injected_drops + d.inv_injected_errors,
				  dt);
}

static void ioas_row(struct row *r, const struct snap_ioas *cur,
		     const struct snap_ioas *prev, double dt)
{
	struct iommutop_ioas_counters d;

	DELTA(&d, &cur->c, prev ? &prev->c : NULL);
	r->src = cur;
	r->v[IC_IOAS] = cur->ioas_id;
	r->v[IC_MAPS] = rate(d.maps, dt);
	r->v[IC_UNMAPS] = rate(d.unmaps, dt);
	r->v[IC_MAP_BYTES] = rate(d.map_bytes, dt);
	r->v[IC_UNMAP_BYTES] = rate(d.unmap_bytes, dt);
}

static void fault_row(struct row *r, const struct snap_fault *cur,
		      const struct snap_fault *prev, double dt)
{
	__u64 before = prev ? prev->count : 0;

	r->src = cur;
	r->v[FC_DEV] = cur->key.dev_id;
	r->v[FC_PASID] = cur->key.pasid;
	r->v[FC_HWPT] = cur->key.hwpt_id;
	r->v[FC_STAGE] = cur->key.stage;
	r->v[FC_REASON] = cur->key.reason;
	r->v[FC_ORIGIN] = cur->key.injected;
	r->v[FC_RATE] = rate(cur->count >= before ? cur->count - before : 0,
			     dt);
	r->v[FC_TOTAL] = cur->count;
}

/* Does HWPT @id have a device row that passes @f attached? */
static bool hwpt_matches(const struct snapshot *s, __u32 id,
			 const struct filter *f)
{
	size_t i;

	if (!f || (!f->dev_set && !f->pasid_set))
		return true;
	for (i = 0; i < s->nr_devs; i++)
		if (s->devs[i].hwpt_id == id &&
		    filter_match(f, s->devs[i].key.dev_id, s->devs[i].key.pasid))
			return true;
	return false;
}

int table_build(struct table *t, enum view_kind kind,
		const struct snapshot *prev, const struct snapshot *cur,
		const struct filter *f, const struct sort *s)
{
	double dt = interval_s(prev, cur);
	size_t i, n = 0, max;

	memset(t, 0, sizeof(*t));
	t->kind = kind;
	t->cols = view_columns(kind, &t->nr_cols);
	max = kind == VIEW_DEVS ? cur->nr_devs :
	      kind == VIEW_HWPTS ? cur->nr_hwpts :
	      kind == VIEW_IOAS ? cur->nr_ioas : cur->nr_faults;
	t->rows = calloc(max ?: 1, sizeof(*t->rows));
	if (!t->rows)
		return -ENOMEM;
	for (i = 0; i < max; i++) {
		struct row *r = &t->rows[n];

		switch (kind) {
		case VIEW_DEVS: {
			const struct snap_dev *d = &cur->devs[i];

			if (!filter_match(f, d->key.dev_id, d->key.pasid))
				continue;
			dev_row(r, d, find_dev(prev, &d->key), dt, cur->mono_ns);
			break;
		}
		case VIEW_HWPTS: {
			const struct snap_hwpt *h = &cur->hwpts[i];

			if (!hwpt_matches(cur, h->hwpt_id, f))
				continue;
			hwpt_row(r, h, find_hwpt(prev, h->hwpt_id), dt);
			break;
		}
		case VIEW_IOAS:
			ioas_row(r, &cur->ioas[i],
				 find_ioas(prev, cur->ioas[i].ioas_id), dt);
			break;
		default: {
			const struct snap_fault *fl = &cur->faults[i];

			if (!filter_match(f, fl->key.dev_id, fl->key.pasid))
				continue;
			fault_row(r, fl, find_fault(prev, &fl->key), dt);
			break;
		}
		}
		n++;
	}
	t->nr_rows = n;
	table_sort(t, s);
	return 0;
}

void table_free(struct table *t)
{
	free(t->rows);
	t->rows = NULL;
	t->nr_rows = 0;
}

struct sort_ctx {
	int col;
	bool descending;
	int nr_cols;
};

/*
 * By the sort column (NAN, "no value", always last), then by every column
 * from the first (the keys) ascending, so equal rows keep a stable order.
 */
static int cmp_rows(const void *pa, const void *pb, void *arg)
{
	const struct sort_ctx *c = arg;
	const struct row *a = pa, *b = pb;
	double x = a->v[c->col], y = b->v[c->col];
	int i;

	if (isnan(x) != isnan(y))
		return isnan(x) ? 1 : -1;
	if (!isnan(x) && x != y)
		return (x < y) == c->descending ? 1 : -1;
	for (i = 0; i < c->nr_cols; i++) {
		x = a->v[i];
		y = b->v[i];
		if (isnan(x) != isnan(y))
			return isnan(x) ? 1 : -1;
		if (!isnan(x) && x != y)
			return x < y ? -1 : 1;
	}
	return 0;
}

void table_sort(struct table *t, const struct sort *s)
{
	struct sort_ctx c = { .nr_cols = t->nr_cols };

	c.col = s && s->col >= 0 && s->col < t->nr_cols ?
		s->col : view_default_sort(t->kind);
	c.descending = t->cols[c.col].descending != (s && s->reverse);
	qsort_r(t->rows, t->nr_rows, sizeof(*t->rows), cmp_rows, &c);
}

/* ---- the header ---- */

void summary_build(struct summary *sum, const struct snapshot *prev,
		   const struct snapshot *cur)
{
	struct iommutop_dev_counters dd = {};
	struct iommutop_hwpt_counters hd = {};
	struct iommutop_ioas_counters id = {};
	double dt = interval_s(prev, cur);
	__u64 oldest = 0, ev[IOMMUTOP_EV_NR];
	size_t i, k;

	memset(sum, 0, sizeof(*sum));
	sum->interval_s = dt;
	for (i = 0; i < cur->nr_devs; i++) {
		const struct snap_dev *c = &cur->devs[i];
		const struct snap_dev *p = find_dev(prev, &c->key);
		struct iommutop_dev_counters d;
		__u64 *acc = (__u64 *)&dd, *tot = (__u64 *)&sum->dev_total;

		DELTA(&d, &c->c, p ? &p->c : NULL);
		for (k = 0; k < sizeof(d) / sizeof(__u64); k++) {
			acc[k] += ((__u64 *)&d)[k];
			tot[k] += ((const __u64 *)&c->c)[k];
		}
		sum->pr_out_groups += c->pr_out_groups;
		sum->pr_out_pages += c->pr_out_pages;
		if (c->pr_oldest_ns && (!oldest || c->pr_oldest_ns < oldest))
			oldest = c->pr_oldest_ns;
	}
	for (i = 0; i < cur->nr_hwpts; i++) {
		const struct snap_hwpt *c = &cur->hwpts[i];
		const struct snap_hwpt *p = find_hwpt(prev, c->hwpt_id);
		struct iommutop_hwpt_counters d;
		__u64 *acc = (__u64 *)&hd, *tot = (__u64 *)&sum->hwpt_total;

		DELTA(&d, &c->c, p ? &p->c : NULL);
		for (k = 0; k < sizeof(d) / sizeof(__u64); k++) {
			acc[k] += ((__u64 *)&d)[k];
			tot[k] += ((const __u64 *)&c->c)[k];
		}
	}
	for (i = 0; i < cur->nr_ioas; i++) {
		const struct snap_ioas *c = &cur->ioas[i];
		const struct snap_ioas *p = find_ioas(prev, c->ioas_id);
		struct iommutop_ioas_counters d;
		__u64 *acc = (__u64 *)&id, *tot = (__u64 *)&sum->ioas_total;

		DELTA(&d, &c->c, p ? &p->c : NULL);
		for (k = 0; k < sizeof(d) / sizeof(__u64); k++) {
			acc[k] += ((__u64 *)&d)[k];
			tot[k] += ((const __u64 *)&c->c)[k];
		}
	}

	sum->dma_ops = rate(dd.dma_ops, dt);
	sum->dma_bytes = rate(dd.dma_bytes, dt);
	sum->translations = rate(dd.translations, dt);
	sum->faults = rate(dd.faults, dt);
	sum->faults_injected = rate(dd.faults_injected, dt);
	sum->page_requests = rate(dd.page_requests, dt);
	sum->pr_responses = rate(dd.pr_responses, dt);
	sum->stale = rate(dd.stale, dt);
	cache_pcts(dd.translations, dd.iotlb_hits, dd.devtlb_hits,
		   dd.faults_injected + dd.faults_no_hwpt,
		   sum->dev_total.devtlb_hits, &sum->iotlb_hit_pct,
		   &sum->devtlb_hit_pct);
	sum->walk_refs = ratio(dd.walk_mem_refs, dd.walks);
	sum->maps = rate(id.maps, dt);
	sum->unmaps = rate(id.unmaps, dt);
	sum->inv = rate(hd.inv_entries, dt);
	sum->inv_iotlb = rate(hd.inv_iotlb, dt);
	sum->inv_devtlb = rate(hd.inv_dev_iotlb, dt);
	sum->inv_pasid = rate(hd.inv_pasid, dt);
	memcpy(sum->lat_hist, dd.lat_hist, sizeof(sum->lat_hist));
	memcpy(sum->lat_hist_total, sum->dev_total.lat_hist,
	       sizeof(sum->lat_hist_total));
	sum->lat_dist_total = true;
	for (k = 0; k < IOMMUTOP_LAT_SLOTS; k++)
		if (dd.lat_hist[k])
			sum->lat_dist_total = false;
	sum->lat_p50_s = hist_quantile_ns(dd.lat_hist, IOMMUTOP_LAT_SLOTS, 0.50) /
			 NSEC_PER_SEC;
	sum->lat_p99_s = hist_quantile_ns(dd.lat_hist, IOMMUTOP_LAT_SLOTS, 0.99) /
			 NSEC_PER_SEC;
	sum->pr_oldest_s = age_s(cur->mono_ns, oldest);

	DELTA(&ev, cur->totals.events, prev->totals.events);
	memcpy(sum->events, cur->totals.events, sizeof(sum->events));
	sum->fq_overflows = rate(ev[IOMMUTOP_EV_FQ_OVERFLOW], dt);
	sum->lost = cur->totals.lost;
	sum->lost_rate = rate(cur->totals.lost >= prev->totals.lost ?
			      cur->totals.lost - prev->totals.lost : 0, dt);

	sum->have_cost = cur->have_cost && prev->have_cost;
	if (sum->have_cost) {
		__u64 ns = cur->run_ns >= prev->run_ns ?
			   cur->run_ns - prev->run_ns : 0;
		__u64 cnt = cur->run_cnt >= prev->run_cnt ?
			    cur->run_cnt - prev->run_cnt : 0;

		sum->bpf_cpu_pct = dt > 0 ? 100 * ns / (dt * NSEC_PER_SEC) : 0;
		sum->bpf_runs = rate(cnt, dt);
		sum->bpf_avg_ns = ratio(ns, cnt);
		sum->bpf_run_ns = cur->run_ns;
		sum->bpf_run_cnt = cur->run_cnt;
	}
}

/* ---- counter names ---- */

#define DEV_FIELD(f, h) { #f, offsetof(struct iommutop_dev_counters, f), h }
const struct counter_field dev_fields[] = {
	DEV_FIELD(dma_ops, "DMA calls that ended"),
	DEV_FIELD(dma_bytes, "Bytes moved by DMA"),
	DEV_FIELD(dma_faulted, "DMA calls a fault stopped"),
	DEV_FIELD(translations, "Pages translated or faulted"),
	DEV_FIELD(iotlb_hits, "Translations served by the IOTLB"),
	DEV_FIELD(devtlb_hits, "Translations served by the device TLB"),
	DEV_FIELD(walks, "Successful page-table walks"),
	DEV_FIELD(walk_mem_refs, "Page-table entries read by successful walks"),
	DEV_FIELD(faults, "Translation faults, injected ones included"),
	DEV_FIELD(faults_injected, "Translation faults injected by BPF"),
	DEV_FIELD(faults_no_hwpt, "Faults with nothing attached (PASID_INVALID)"),
	DEV_FIELD(stale, "Stale translations found by the auditor"),
	DEV_FIELD(page_requests, "Page requests sent, one per page"),
	DEV_FIELD(pr_groups, "Page request groups sent"),
	DEV_FIELD(pr_injected, "Page requests BPF forced, dropped, duplicated or changed"),
	DEV_FIELD(pr_responses, "Page request groups answered"),
	DEV_FIELD(pr_success, "Groups answered SUCCESS"),
	DEV_FIELD(pr_invalid, "Groups answered INVALID, by user space or the driver"),
	DEV_FIELD(pr_failure, "Groups answered FAILURE"),
	DEV_FIELD(pr_auto, "Groups the driver answered itself (detach, reset, close, timeout)"),
	DEV_FIELD(pr_resp_injected, "Page responses BPF changed or delayed"),
	DEV_FIELD(pr_timeouts, "Groups that timed out"),
};
const int nr_dev_fields = sizeof(dev_fields) / sizeof(dev_fields[0]);

#define HWPT_FIELD(f, h) { #f, offsetof(struct iommutop_hwpt_counters, f), h }
const struct counter_field hwpt_fields[] = {
	HWPT_FIELD(translations, "Pages translated or faulted"),
	HWPT_FIELD(iotlb_hits, "Translations served by the IOTLB"),
	HWPT_FIELD(devtlb_hits, "Translations served by a device TLB"),
	HWPT_FIELD(walks, "Successful page-table walks"),
	HWPT_FIELD(walk_mem_refs, "Page-table entries read by successful walks"),
	HWPT_FIELD(dma_ops, "DMA calls that moved bytes through the HWPT"),
	HWPT_FIELD(dma_bytes, "Bytes moved by DMA through the HWPT"),
	HWPT_FIELD(faults, "Translation faults, injected ones included"),
	HWPT_FIELD(faults_injected, "Translation faults injected by BPF"),
	HWPT_FIELD(stale, "Stale translations found by the auditor"),
	HWPT_FIELD(inv_entries, "Invalidation entries, injected outcomes included"),
	HWPT_FIELD(inv_iotlb, "Invalidation entries carried out on the IOTLB"),
	HWPT_FIELD(inv_dev_iotlb, "Invalidation entries carried out on device TLBs"),
	HWPT_FIELD(inv_pasid, "Invalidation entries carried out on PASID caches"),
	HWPT_FIELD(inv_dropped, "Cache entries dropped by invalidations"),
	HWPT_FIELD(inv_injected_drops, "Invalidation entries BPF dropped"),
	HWPT_FIELD(inv_injected_errors, "Invalidation entries BPF failed"),
};
const int nr_hwpt_fields = sizeof(hwpt_fields) / sizeof(hwpt_fields[0]);

#define IOAS_FIELD(f, h) { #f, offsetof(struct iommutop_ioas_counters, f), h }
const struct counter_field ioas_fields[] = {
	IOAS_FIELD(maps, "Mappings added"),
	IOAS_FIELD(unmaps, "Mappings removed"),
	IOAS_FIELD(map_bytes, "Bytes mapped"),
	IOAS_FIELD(unmap_bytes, "Bytes unmapped"),
	IOAS_FIELD(map_errors, "MAPs that failed, injected ones included"),
	IOAS_FIELD(map_errors_injected, "MAPs BPF failed"),
};
const int nr_ioas_fields = sizeof(ioas_fields) / sizeof(ioas_fields[0]);

/* The tables must name every counter (the histogram and its sum apart). */
_Static_assert(sizeof(dev_fields) / sizeof(dev_fields[0]) ==
	       offsetof(struct iommutop_dev_counters, lat_sum_ns) / sizeof(__u64),
	       "dev_fields misses a counter");
_Static_assert(sizeof(hwpt_fields) / sizeof(hwpt_fields[0]) ==
	       sizeof(struct iommutop_hwpt_counters) / sizeof(__u64),
	       "hwpt_fields misses a counter");
_Static_assert(sizeof(ioas_fields) / sizeof(ioas_fields[0]) ==
	       sizeof(struct iommutop_ioas_counters) / sizeof(__u64),
	       "ioas_fields misses a counter");

/* ---- names ---- */

const char *fault_reason_name(unsigned int reason)
{
	static const char *const names[] = {
		"none", "pasid_fetch", "bad_pasid_entry", "pasid_invalid",
		"walk_eabt", "pte_fetch", "permission", "access",
		"oor_address",
	};

	return reason < sizeof(names) / sizeof(names[0]) ? names[reason] :
	       "unknown";
}

const char *event_name(enum iommutop_event ev)
{
	static const char *const names[IOMMUTOP_EV_NR] = {
		[IOMMUTOP_EV_MAP] = "nest_map",
		[IOMMUTOP_EV_UNMAP] = "nest_unmap",
		[IOMMUTOP_EV_ATTACH] = "nest_attach",
		[IOMMUTOP_EV_DETACH] = "nest_detach",
		[IOMMUTOP_EV_INVALIDATE] = "nest_invalidate",
		[IOMMUTOP_EV_TRANSLATE] = "nest_translate",
		[IOMMUTOP_EV_DMA] = "nest_dma",
		[IOMMUTOP_EV_FAULT] = "nest_fault",
		[IOMMUTOP_EV_STALE] = "nest_stale_translation",
		[IOMMUTOP_EV_FQ_OVERFLOW] = "nest_fault_queue_overflow",
		[IOMMUTOP_EV_PAGE_REQUEST] = "nest_page_request",
		[IOMMUTOP_EV_PAGE_RESPONSE] = "nest_page_response",
		[IOMMUTOP_EV_PR_TIMEOUT] = "nest_page_request_timeout",
		[IOMMUTOP_EV_MAP_ERROR] = "nest_map_error",
		[IOMMUTOP_EV_FAIL_SITE] = "nest_fail_site",
	};

	return ev < IOMMUTOP_EV_NR ? names[ev] : "unknown";
}

__u64 sample_next_due(__u64 due, __u64 period, __u64 now)
{
	due += period;
	return due > now ? due : now + period;
}

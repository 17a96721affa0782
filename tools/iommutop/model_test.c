// SPDX-License-Identifier: GPL-2.0
/*
 * model_test - host unit tests of iommutop's model and pure front-end
 * logic: rates, percentages, percentiles, sorting and filtering, the
 * header's totals and cost, the exposition and JSON renderings, option
 * helpers and the preflight checks. KTAP output (selftests/lib/harness.h),
 * run by selftests/test_iommutop.py.
 *
 * With --out-dir DIR the rendering cases also write what they rendered
 * (metrics.prom, metrics.om, sample.json, sample.csv) for the pytest side
 * to parse and validate.
 */
#include <math.h>
#include <sys/stat.h>

#include "harness.h"
#include "checks.h"
#include "exporter.h"
#include "output.h"
#include "tui.h"

static const char *out_dir;

HARNESS_OPTION(out_dir, "--out-dir", "DIR",
	       "write the rendered metrics, JSON and CSV into DIR")
{
	out_dir = arg;
	return 0;
}

#define SEC 1000000000ULL

/* Doubles equal within a relative 1e-9 (NAN equals NAN). */
#define EXPECT_DBL(expected, seen)					\
	do {								\
		double _e = (expected), _s = (seen);			\
		bool _ok = (isnan(_e) && isnan(_s)) ||			\
			   fabs(_e - _s) <= 1e-9 * fmax(1, fabs(_e));	\
		if (!_ok)						\
			TH_LOG("%s: expected %.12g, seen %.12g", #seen,	\
			       _e, _s);					\
		EXPECT_TRUE(_ok);					\
	} while (0)

/* ---- building snapshots ---- */

static struct snap_dev *add_dev(struct snapshot *s, __u32 dev, __u32 pasid)
{
	struct snap_dev *d;

	s->devs = realloc(s->devs, (s->nr_devs + 1) * sizeof(*s->devs));
	d = &s->devs[s->nr_devs++];
	memset(d, 0, sizeof(*d));
	d->key.dev_id = dev;
	d->key.pasid = pasid;
	return d;
}

static struct snap_hwpt *add_hwpt(struct snapshot *s, __u32 id)
{
	struct snap_hwpt *h;

	s->hwpts = realloc(s->hwpts, (s->nr_hwpts + 1) * sizeof(*s->hwpts));
	h = &s->hwpts[s->nr_hwpts++];
	memset(h, 0, sizeof(*h));
	h->hwpt_id = id;
	return h;
}

static struct snap_ioas *add_ioas(struct snapshot *s, __u32 id)
{
	struct snap_ioas *a;

	s->ioas = realloc(s->ioas, (s->nr_ioas + 1) * sizeof(*s->ioas));
	a = &s->ioas[s->nr_ioas++];
	memset(a, 0, sizeof(*a));
	a->ioas_id = id;
	return a;
}

static void add_fault(struct snapshot *s, __u32 dev, __u32 pasid,
		      __u32 hwpt, __u8 stage, __u8 reason, __u8 injected,
		      __u64 count)
{
	struct snap_fault *f;

	s->faults = realloc(s->faults, (s->nr_faults + 1) * sizeof(*s->faults));
	f = &s->faults[s->nr_faults++];
	memset(f, 0, sizeof(*f));
	f->key = (struct iommutop_fault_key){ .dev_id = dev, .pasid = pasid,
		.hwpt_id = hwpt, .stage = stage, .reason = reason,
		.injected = injected };
	f->count = count;
}

static const struct snap_dev *row_dev(const struct table *t, size_t i)
{
	return t->rows[i].src;
}

/* ---- histograms ---- */

TEST(lat_slot_bounds_every_value)
{
	static const __u64 values[] = {
		0, 1, 2, 3, 4, 5, 7, 8, 9, 1000, 1023, 1024, 1025,
		1ULL << 20, (1ULL << 20) + 1, 123456789, 1ULL << 40,
		(1ULL << 46) + 1, 1ULL << 47, ~0ULL,
	};
	size_t i;

	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		__u32 k = iommutop_lat_slot(values[i]);
		double v = values[i];

		TH_CONTEXT("value %llu slot %u", (unsigned long long)values[i], k);
		ASSERT_LT(k, IOMMUTOP_LAT_SLOTS);
		/* Slot k holds (2^(k-1), 2^k]; slot 0 holds 0 and 1. */
		EXPECT_TRUE(v <= lat_slot_le_ns(k));
		if (k)
			EXPECT_TRUE(v > lat_slot_le_ns(k - 1));
	}
	EXPECT_EQ(0, iommutop_lat_slot(1));
	EXPECT_EQ(1, iommutop_lat_slot(2));
	EXPECT_EQ(10, iommutop_lat_slot(1024));
	EXPECT_EQ(11, iommutop_lat_slot(1025));
	EXPECT_EQ(IOMMUTOP_LAT_SLOTS - 1, iommutop_lat_slot(~0ULL));
}

TEST(quantile_inside_one_slot_interpolates)
{
	__u64 h[IOMMUTOP_LAT_SLOTS] = {};

	h[10] = 100;	/* (512, 1024] ns */
	EXPECT_DBL(512 + 0.50 * 512, hist_quantile_ns(h, IOMMUTOP_LAT_SLOTS, 0.50));
	EXPECT_DBL(512 + 0.99 * 512, hist_quantile_ns(h, IOMMUTOP_LAT_SLOTS, 0.99));
	EXPECT_DBL(1024, hist_quantile_ns(h, IOMMUTOP_LAT_SLOTS, 1.0));
}

TEST(quantile_across_slots)
{
	__u64 h[IOMMUTOP_LAT_SLOTS] = {};

	h[10] = 90;	/* (512, 1024] */
	h[20] = 10;	/* (2^19, 2^20] */
	/* rank 50 of 100: the 50th of the 90 in slot 10 */
	EXPECT_DBL(512 + 512 * 50.0 / 90, hist_quantile_ns(h, IOMMUTOP_LAT_SLOTS, 0.5));
	/* rank 99: the 9th of the 10 in slot 20 */
	EXPECT_DBL((1 << 19) + 0.9 * (1 << 19),
		   hist_quantile_ns(h, IOMMUTOP_LAT_SLOTS, 0.99));
	/* rank 90 is the last of slot 10 */
	EXPECT_DBL(1024, hist_quantile_ns(h, IOMMUTOP_LAT_SLOTS, 0.9));
}

TEST(quantile_empty_and_overflow_slot)
{
	__u64 h[IOMMUTOP_LAT_SLOTS] = {};

	EXPECT_TRUE(isnan(hist_quantile_ns(h, IOMMUTOP_LAT_SLOTS, 0.5)));
	h[IOMMUTOP_LAT_SLOTS - 1] = 3;
	/* Nothing is known above the last slot's lower bound. */
	EXPECT_DBL(ldexp(1, IOMMUTOP_LAT_SLOTS - 2),
		   hist_quantile_ns(h, IOMMUTOP_LAT_SLOTS, 0.99));
	EXPECT_TRUE(isinf(lat_slot_le_ns(IOMMUTOP_LAT_SLOTS - 1)));
}

/* ---- device rows ---- */

TEST(rates_over_the_interval)
{
	struct snapshot prev = { .mono_ns = 1 * SEC }, cur = { .mono_ns = 3 * SEC };
	struct snap_dev *d;
	struct table t;

	d = add_dev(&prev, 1, 5);
	d->c.dma_ops = 100;
	d->c.dma_bytes = 6400;
	d->c.translations = 100;
	d->c.page_requests = 10;
	d = add_dev(&cur, 1, 5);
	d->c.dma_ops = 300;
	d->c.dma_bytes = 19200;
	d->c.translations = 302;
	d->c.page_requests = 11;
	d->c.faults = 4;
	d->c.faults_injected = 2;
	/* A row the previous snapshot lacks counts from 0. */
	d = add_dev(&cur, 2, NESTIOMMU_PASID_NONE);
	d->c.dma_ops = 8;
	snapshot_sort(&prev);
	snapshot_sort(&cur);

	ASSERT_OK(table_build(&t, VIEW_DEVS, &prev, &cur, NULL, NULL));
	ASSERT_EQ(2, t.nr_rows);
	/* Default order: translations per second, highest first. */
	ASSERT_EQ(1, row_dev(&t, 0)->key.dev_id);
	EXPECT_DBL(100, t.rows[0].v[DC_DMA_OPS]);
	EXPECT_DBL(6400, t.rows[0].v[DC_DMA_BYTES]);
	EXPECT_DBL(101, t.rows[0].v[DC_XLATE]);
	EXPECT_DBL(0.5, t.rows[0].v[DC_PR]);
	EXPECT_DBL(2, t.rows[0].v[DC_FAULTS]);
	EXPECT_DBL(1, t.rows[0].v[DC_INJECTED]);
	EXPECT_DBL(5, t.rows[0].v[DC_PASID]);
	EXPECT_DBL(4, t.rows[1].v[DC_DMA_OPS]);
	EXPECT_DBL(NESTIOMMU_PASID_NONE, t.rows[1].v[DC_PASID]);
	table_free(&t);
	snapshot_free(&prev);
	snapshot_free(&cur);
}

TEST(counters_going_back_give_zero_not_huge)
{
	struct snapshot prev = { .mono_ns = SEC }, cur = { .mono_ns = 2 * SEC };
	struct table t;

	add_dev(&prev, 1, 1)->c.dma_ops = 50;
	add_dev(&cur, 1, 1)->c.dma_ops = 10;
	ASSERT_OK(table_build(&t, VIEW_DEVS, &prev, &cur, NULL, NULL));
	EXPECT_DBL(0, t.rows[0].v[DC_DMA_OPS]);
	table_free(&t);
	snapshot_free(&prev);
	snapshot_free(&cur);
}

TEST(zero_interval_gives_zero_rates)
{
	struct snapshot prev = { .mono_ns = SEC }, cur = { .mono_ns = SEC };
	struct table t;

	add_dev(&cur, 1, 1)->c.dma_ops = 10;
	ASSERT_OK(table_build(&t, VIEW_DEVS, &prev, &cur, NULL, NULL));
	EXPECT_DBL(0, t.rows[0].v[DC_DMA_OPS]);
	table_free(&t);
	snapshot_free(&prev);
	snapshot_free(&cur);
}

TEST(cache_hit_percentages_and_walk_refs)
{
	struct snapshot prev = { .mono_ns = 0 }, cur = { .mono_ns = SEC };
	struct snap_dev *d;
	struct table t;

	/*
	 * 100 translations: 50 device-TLB hits, 30 IOTLB hits, 10 walks
	 * (240 entries read), 10 faults of which 4 injected and 2 with
	 * nothing attached. IOTLB lookups: 100 - 50 - 4 - 2 = 44; device-TLB
	 * lookups: 100 - 4 - 2 = 94.
	 */
	d = add_dev(&cur, 1, 1);
	d->c.translations = 100;
	d->c.devtlb_hits = 50;
	d->c.iotlb_hits = 30;
	d->c.walks = 10;
	d->c.walk_mem_refs = 240;
	d->c.faults = 10;
	d->c.faults_injected = 4;
	d->c.faults_no_hwpt = 2;
	/* No device-TLB hit ever: not an ATS device, no DTLB%. */
	d = add_dev(&cur, 2, 1);
	d->c.translations = 10;
	d->c.iotlb_hits = 5;
	d->c.walks = 5;
	d->c.walk_mem_refs = 20;
	/* Nothing translated: no percentages, no refs. */
	add_dev(&cur, 3, 1)->c.dma_ops = 1;
	snapshot_sort(&cur);

	ASSERT_OK(table_build(&t, VIEW_DEVS, &prev, &cur, NULL,
			      &(struct sort){ .col = DC_DEV, .reverse = false }));
	ASSERT_EQ(3, t.nr_rows);
	EXPECT_DBL(100.0 * 30 / 44, t.rows[0].v[DC_IOTLB_PCT]);
	EXPECT_DBL(100.0 * 50 / 94, t.rows[0].v[DC_DEVTLB_PCT]);
	EXPECT_DBL(24, t.rows[0].v[DC_WALK_REFS]);
	EXPECT_DBL(50, t.rows[1].v[DC_IOTLB_PCT]);
	EXPECT_TRUE(isnan(t.rows[1].v[DC_DEVTLB_PCT]));
	EXPECT_DBL(4, t.rows[1].v[DC_WALK_REFS]);
	EXPECT_TRUE(isnan(t.rows[2].v[DC_IOTLB_PCT]));
	EXPECT_TRUE(isnan(t.rows[2].v[DC_WALK_REFS]));
	table_free(&t);
	snapshot_free(&cur);
}

TEST(page_requests_outstanding_age_and_latency)
{
	struct snapshot prev = { .mono_ns = 8 * SEC }, cur = { .mono_ns = 10 * SEC };
	struct snap_dev *d;
	struct table t;

	d = add_dev(&prev, 1, 1);
	d->c.lat_hist[10] = 100;	/* before the interval */
	d = add_dev(&cur, 1, 1);
	d->pr_out_pages = 3;
	d->pr_out_groups = 2;
	d->pr_oldest_ns = 7 * SEC + SEC / 2;
	d->c.lat_hist[10] = 100;
	d->c.lat_hist[20] = 4;		/* during it: all in (2^19, 2^20] */
	ASSERT_OK(table_build(&t, VIEW_DEVS, &prev, &cur, NULL, NULL));
	EXPECT_DBL(3, t.rows[0].v[DC_PR_OUT]);
	EXPECT_DBL(2.5, t.rows[0].v[DC_PR_AGE]);
	EXPECT_DBL(((1 << 19) + 0.5 * (1 << 19)) / 1e9, t.rows[0].v[DC_P50]);
	EXPECT_DBL(((1 << 19) + 0.99 * (1 << 19)) / 1e9, t.rows[0].v[DC_P99]);
	table_free(&t);

	/* Nothing outstanding, no response in the interval: no values. */
	cur.devs[0].pr_oldest_ns = 0;
	prev.devs[0].c.lat_hist[20] = 4;
	ASSERT_OK(table_build(&t, VIEW_DEVS, &prev, &cur, NULL, NULL));
	EXPECT_TRUE(isnan(t.rows[0].v[DC_PR_AGE]));
	EXPECT_TRUE(isnan(t.rows[0].v[DC_P50]));
	table_free(&t);
	snapshot_free(&prev);
	snapshot_free(&cur);
}

/* The bars of latency_lines() (after its header): each slot's width. */
static int latency_bars(const struct frame *fr, int *widths, int max,
			char *header, size_t header_len)
{
	char lines[IOMMUTOP_LAT_SLOTS + 1][LINE_MAX_LEN];
	int n, i;

	n = latency_lines(fr, lines, IOMMUTOP_LAT_SLOTS + 1);
	snprintf(header, header_len, "%s", n ? lines[0] : "");
	for (i = 1; i < n && i <= max; i++) {
		const char *bar = strchr(lines[i], '#');

		widths[i - 1] = bar ? (int)strspn(bar, "#") : 0;
	}
	return n - 1;
}

/*
 * The latency screen after a burst: an interval without responses draws
 * the distribution since start (so a person who opens it after the burst
 * sees its shape), an interval with responses draws its own.
 */
TEST(latency_distribution_interval_or_total)
{
	struct snapshot prev = { .mono_ns = 8 * SEC }, cur = { .mono_ns = 10 * SEC };
	char header[LINE_MAX_LEN];
	struct frame fr;
	int w[4] = {};
	struct snap_dev *d;

	d = add_dev(&prev, 1, 1);
	d->c.lat_hist[10] = 40;
	d->c.lat_hist[12] = 10;
	d = add_dev(&cur, 1, 1);
	d->c.lat_hist[10] = 40;
	d->c.lat_hist[12] = 10;
	/* The burst is over: nothing in the interval. */
	ASSERT_OK(frame_build(&fr, &prev, &cur, NULL, NULL));
	EXPECT_TRUE(fr.sum.lat_dist_total);
	ASSERT_EQ(2, latency_bars(&fr, w, 4, header, sizeof(header)));
	EXPECT_NE(NULL, (void *)strstr(header, "DISTRIBUTION (since start)"));
	EXPECT_EQ(40, w[0]);
	EXPECT_EQ(10, w[1]);
	frame_free(&fr);

	/* Responses in the interval: its own distribution, total kept. */
	cur.devs[0].c.lat_hist[12] = 30;
	ASSERT_OK(frame_build(&fr, &prev, &cur, NULL, NULL));
	EXPECT_FALSE(fr.sum.lat_dist_total);
	ASSERT_EQ(2, latency_bars(&fr, w, 4, header, sizeof(header)));
	EXPECT_NE(NULL, (void *)strstr(header, "DISTRIBUTION (interval)"));
	EXPECT_EQ(0, w[0]);
	EXPECT_EQ(40, w[1]);
	EXPECT_EQ(20, fr.sum.lat_hist[12]);
	EXPECT_EQ(30, fr.sum.lat_hist_total[12]);
	frame_free(&fr);

	/* Nothing ever answered: no slot, no bar. */
	memset(cur.devs[0].c.lat_hist, 0, sizeof(cur.devs[0].c.lat_hist));
	memset(prev.devs[0].c.lat_hist, 0, sizeof(prev.devs[0].c.lat_hist));
	ASSERT_OK(frame_build(&fr, &prev, &cur, NULL, NULL));
	EXPECT_EQ(0, latency_bars(&fr, w, 4, header, sizeof(header)));
	frame_free(&fr);
	snapshot_free(&prev);
	snapshot_free(&cur);
}

/* ---- sorting and filtering ---- */

FIXTURE(three_devs)
{
	struct snapshot prev, cur;
};

FIXTURE_SETUP(three_devs)
{
	struct snap_dev *d;

	memset(self, 0, sizeof(*self));
	self->cur.mono_ns = SEC;
	d = add_dev(&self->cur, 1, 1);
	d->c.dma_ops = 10;
	d->c.translations = 5;
	d->hwpt_id = 7;
	d = add_dev(&self->cur, 2, NESTIOMMU_PASID_NONE);
	d->c.dma_ops = 30;
	d->c.translations = 5;
	d->hwpt_id = 8;
	d->c.translations = 20;
	d->c.iotlb_hits = 10;
	d->c.devtlb_hits = 5;
	d = add_dev(&self->cur, 3, 2);
	d->c.dma_ops = 20;
	d->c.translations = 5;
	d->hwpt_id = 9;
	add_hwpt(&self->cur, 7)->c.translations = 5;
	add_hwpt(&self->cur, 8)->c.translations = 20;
	add_hwpt(&self->cur, 9)->c.translations = 5;
	add_fault(&self->cur, 1, 1, 7, 1, 5, 0, 3);
	add_fault(&self->cur, 2, NESTIOMMU_PASID_NONE, 8, 2, 6, 1, 9);
	snapshot_sort(&self->cur);
}

FIXTURE_TEARDOWN(three_devs)
{
	snapshot_free(&self->prev);
	snapshot_free(&self->cur);
}

static void expect_dev_order(const struct table *t, __u32 a, __u32 b, __u32 c)
{
	ASSERT_EQ(3, t->nr_rows);
	EXPECT_EQ(a, row_dev(t, 0)->key.dev_id);
	EXPECT_EQ(b, row_dev(t, 1)->key.dev_id);
	EXPECT_EQ(c, row_dev(t, 2)->key.dev_id);
}

TEST_F(three_devs, sort_by_any_column_both_ways)
{
	struct sort s = { .col = DC_DMA_OPS };
	struct table t;

	ASSERT_OK(table_build(&t, VIEW_DEVS, &self->prev, &self->cur, NULL, &s));
	expect_dev_order(&t, 2, 3, 1);
	s.reverse = true;
	table_sort(&t, &s);
	expect_dev_order(&t, 1, 3, 2);
	/* Keys sort ascending by nature. */
	s = (struct sort){ .col = DC_DEV };
	table_sort(&t, &s);
	expect_dev_order(&t, 1, 2, 3);
	s = (struct sort){ .col = DC_HWPT, .reverse = true };
	table_sort(&t, &s);
	expect_dev_order(&t, 3, 2, 1);
	table_free(&t);
}

TEST_F(three_devs, ties_keep_key_order_and_nan_sorts_last)
{
	struct sort s = { .col = DC_DEVTLB_PCT };
	struct table t;

	/* Only device 2 has a DTLB% (5 hits of 20); 1 and 3: NAN, last. */
	ASSERT_OK(table_build(&t, VIEW_DEVS, &self->prev, &self->cur, NULL, &s));
	expect_dev_order(&t, 2, 1, 3);
	s.reverse = true;
	table_sort(&t, &s);
	expect_dev_order(&t, 2, 1, 3);
	table_free(&t);
}

TEST_F(three_devs, default_sort_is_translations)
{
	struct table t;

	ASSERT_OK(table_build(&t, VIEW_DEVS, &self->prev, &self->cur, NULL,
			      &(struct sort){ .col = -1 }));
	expect_dev_order(&t, 2, 1, 3);
	table_free(&t);
}

TEST_F(three_devs, filter_by_device_or_pasid)
{
	struct filter f = { .dev_set = true, .dev = 3 };
	struct table t;

	ASSERT_OK(table_build(&t, VIEW_DEVS, &self->prev, &self->cur, &f, NULL));
	ASSERT_EQ(1, t.nr_rows);
	EXPECT_EQ(3, row_dev(&t, 0)->key.dev_id);
	table_free(&t);
	/* The HWPT view keeps the HWPTs such devices are attached to. */
	ASSERT_OK(table_build(&t, VIEW_HWPTS, &self->prev, &self->cur, &f, NULL));
	ASSERT_EQ(1, t.nr_rows);
	EXPECT_DBL(9, t.rows[0].v[HC_HWPT]);
	table_free(&t);

	f = (struct filter){ .pasid_set = true, .pasid = NESTIOMMU_PASID_NONE };
	ASSERT_OK(table_build(&t, VIEW_DEVS, &self->prev, &self->cur, &f, NULL));
	ASSERT_EQ(1, t.nr_rows);
	EXPECT_EQ(2, row_dev(&t, 0)->key.dev_id);
	table_free(&t);
	ASSERT_OK(table_build(&t, VIEW_FAULTS, &self->prev, &self->cur, &f, NULL));
	ASSERT_EQ(1, t.nr_rows);
	EXPECT_DBL(9, t.rows[0].v[FC_TOTAL]);
	table_free(&t);

	f = (struct filter){ .dev_set = true, .dev = 1, .pasid_set = true, .pasid = 2 };
	ASSERT_OK(table_build(&t, VIEW_DEVS, &self->prev, &self->cur, &f, NULL));
	EXPECT_EQ(0, t.nr_rows);
	table_free(&t);
}

TEST(filter_parse_accepts_and_rejects)
{
	struct filter f = { .dev_set = true, .dev = 99 };

	ASSERT_TRUE(filter_parse("dev=3", &f));
	EXPECT_TRUE(f.dev_set && f.dev == 3 && !f.pasid_set);
	ASSERT_TRUE(filter_parse("dev=3 pasid=rid", &f));
	EXPECT_TRUE(f.dev_set && f.pasid_set && f.pasid == NESTIOMMU_PASID_NONE);
	ASSERT_TRUE(filter_parse("pasid=7,dev=1", &f));
	EXPECT_TRUE(f.dev == 1 && f.pasid == 7);
	ASSERT_TRUE(filter_parse("", &f));
	EXPECT_FALSE(f.dev_set || f.pasid_set);

	f = (struct filter){ .dev_set = true, .dev = 5 };
	EXPECT_FALSE(filter_parse("dev=x", &f));
	EXPECT_FALSE(filter_parse("dev=", &f));
	EXPECT_FALSE(filter_parse("dev=-1", &f));
	EXPECT_FALSE(filter_parse("dev=4294967296", &f));
	EXPECT_FALSE(filter_parse("pasid=4294967295", &f));
	EXPECT_FALSE(filter_parse("hwpt=1", &f));
	EXPECT_FALSE(filter_parse("dev=1 dev=2", &f));
	/* A rejected filter leaves the old one. */
	EXPECT_TRUE(f.dev_set && f.dev == 5);
}

TEST(columns_have_unique_names_and_help)
{
	int v, i, j, n;

	for (v = 0; v < VIEW_NR; v++) {
		const struct column *c = view_columns(v, &n);

		ASSERT_GT(n, 0);
		ASSERT_LE(n, MAX_COLS);
		for (i = 0; i < n; i++) {
			TH_CONTEXT("view %s column %d", view_name(v), i);
			ASSERT_NE(NULL, (void *)c[i].key);
			EXPECT_TRUE(c[i].help && *c[i].help);
			EXPECT_EQ(i, view_find_column(v, c[i].key));
			for (j = 0; j < i; j++)
				EXPECT_NE(0, strcmp(c[i].key, c[j].key));
		}
		EXPECT_EQ(-1, view_find_column(v, "no_such_column"));
	}
}

/* ---- other views and the header ---- */

TEST(hwpt_ioas_and_fault_rows)
{
	struct snapshot prev = { .mono_ns = 0 }, cur = { .mono_ns = 2 * SEC };
	struct snap_hwpt *h;
	struct snap_ioas *a;
	struct table t;

	h = add_hwpt(&prev, 4);
	h->c.inv_entries = 10;
	h = add_hwpt(&cur, 4);
	h->c.inv_entries = 30;
	h->c.inv_iotlb = 16;
	h->c.inv_dev_iotlb = 4;
	h->c.inv_pasid = 2;
	h->c.inv_dropped = 100;
	h->c.inv_injected_drops = 1;
	h->c.inv_injected_errors = 3;
	h->c.dma_bytes = 4096;
	a = add_ioas(&cur, 1);
	a->c.maps = 6;
	a->c.unmaps = 4;
	a->c.map_bytes = 8192;
	add_fault(&prev, 1, 1, 4, 1, 5, 0, 10);
	add_fault(&cur, 1, 1, 4, 1, 5, 0, 14);
	add_fault(&cur, 1, 1, 4, 2, 6, 1, 2);

	ASSERT_OK(table_build(&t, VIEW_HWPTS, &prev, &cur, NULL, NULL));
	ASSERT_EQ(1, t.nr_rows);
	EXPECT_DBL(10, t.rows[0].v[HC_INV]);
	EXPECT_DBL(8, t.rows[0].v[HC_INV_IOTLB]);
	EXPECT_DBL(2, t.rows[0].v[HC_INV_DEVTLB]);
	EXPECT_DBL(1, t.rows[0].v[HC_INV_PASID]);
	EXPECT_DBL(50, t.rows[0].v[HC_INV_DROPPED]);
	EXPECT_DBL(2, t.rows[0].v[HC_INV_INJECTED]);
	EXPECT_DBL(2048, t.rows[0].v[HC_DMA_BYTES]);
	table_free(&t);

	ASSERT_OK(table_build(&t, VIEW_IOAS, &prev, &cur, NULL, NULL));
	EXPECT_DBL(3, t.rows[0].v[IC_MAPS]);
	EXPECT_DBL(2, t.rows[0].v[IC_UNMAPS]);
	EXPECT_DBL(4096, t.rows[0].v[IC_MAP_BYTES]);
	table_free(&t);

	ASSERT_OK(table_build(&t, VIEW_FAULTS, &prev, &cur, NULL, NULL));
	ASSERT_EQ(2, t.nr_rows);
	/* By rate: 2/s (stage 1 pte_fetch), then 1/s (stage 2 permission). */
	EXPECT_DBL(2, t.rows[0].v[FC_RATE]);
	EXPECT_DBL(14, t.rows[0].v[FC_TOTAL]);
	EXPECT_DBL(0, t.rows[0].v[FC_ORIGIN]);
	EXPECT_DBL(1, t.rows[1].v[FC_RATE]);
	EXPECT_DBL(2, t.rows[1].v[FC_STAGE]);
	EXPECT_DBL(1, t.rows[1].v[FC_ORIGIN]);
	EXPECT_EQ(0, strcmp("pte_fetch", fault_reason_name(5)));
	EXPECT_EQ(0, strcmp("permission", fault_reason_name(6)));
	EXPECT_EQ(0, strcmp("unknown", fault_reason_name(200)));
	table_free(&t);
	snapshot_free(&prev);
	snapshot_free(&cur);
}

TEST(summary_totals_and_cost)
{
	struct snapshot prev = { .mono_ns = 10 * SEC, .have_cost = true,
				 .run_ns = 1000000, .run_cnt = 100 };
	struct snapshot cur = { .mono_ns = 12 * SEC, .have_cost = true,
				.run_ns = 21000000, .run_cnt = 20100 };
	struct summary s;
	struct snap_dev *d;

	prev.totals.lost = 1;
	cur.totals.lost = 5;
	cur.totals.events[IOMMUTOP_EV_FQ_OVERFLOW] = 6;
	d = add_dev(&prev, 1, 1);
	d->c.dma_ops = 100;
	d = add_dev(&cur, 1, 1);
	d->c.dma_ops = 300;
	d->c.translations = 40;
	d->c.iotlb_hits = 10;
	d->c.walks = 10;
	d->c.walk_mem_refs = 50;
	d->pr_out_pages = 2;
	d->pr_out_groups = 1;
	d->pr_oldest_ns = 11 * SEC;
	d = add_dev(&cur, 2, 1);
	d->c.dma_ops = 100;
	d->c.translations = 40;
	d->c.iotlb_hits = 30;
	d->c.walks = 10;
	d->c.walk_mem_refs = 150;
	d->pr_out_pages = 5;
	d->pr_out_groups = 2;
	d->pr_oldest_ns = 9 * SEC;
	add_hwpt(&cur, 3)->c.inv_entries = 8;
	add_ioas(&cur, 1)->c.maps = 4;
	snapshot_sort(&prev);
	snapshot_sort(&cur);

	summary_build(&s, &prev, &cur);
	EXPECT_DBL(2, s.interval_s);
	EXPECT_DBL(150, s.dma_ops);		/* (200 + 100) / 2 */
	EXPECT_EQ(400, s.dev_total.dma_ops);	/* since start */
	EXPECT_DBL(40, s.translations);
	EXPECT_DBL(50, s.iotlb_hit_pct);	/* 40 hits of 80 */
	EXPECT_TRUE(isnan(s.devtlb_hit_pct));
	EXPECT_DBL(10, s.walk_refs);		/* 200 refs / 20 walks */
	EXPECT_DBL(4, s.inv);
	EXPECT_DBL(2, s.maps);
	EXPECT_EQ(7, s.pr_out_pages);
	EXPECT_EQ(3, s.pr_out_groups);
	EXPECT_DBL(3, s.pr_oldest_s);		/* the older of the two */
	EXPECT_DBL(3, s.fq_overflows);
	EXPECT_EQ(5, s.lost);
	EXPECT_DBL(2, s.lost_rate);
	ASSERT_TRUE(s.have_cost);
	EXPECT_DBL(1, s.bpf_cpu_pct);		/* 20 ms of 2 s */
	EXPECT_DBL(10000, s.bpf_runs);
	EXPECT_DBL(1000, s.bpf_avg_ns);

	cur.have_cost = false;
	summary_build(&s, &prev, &cur);
	EXPECT_FALSE(s.have_cost);
	snapshot_free(&prev);
	snapshot_free(&cur);
}

TEST(snapshot_copy_is_deep)
{
	struct snapshot a = { .mono_ns = 5 }, b;

	add_dev(&a, 1, 1)->c.dma_ops = 3;
	add_fault(&a, 1, 1, 2, 1, 5, 0, 1);
	ASSERT_OK(snapshot_copy(&b, &a));
	a.devs[0].c.dma_ops = 9;
	EXPECT_EQ(3, b.devs[0].c.dma_ops);
	EXPECT_EQ(1, b.nr_faults);
	EXPECT_NE((void *)a.devs, (void *)b.devs);
	snapshot_free(&a);
	snapshot_free(&b);
}

/* ---- renderings ---- */

/* A snapshot with a bit of everything, for the renderers. */
static void sample_snapshots(struct snapshot *prev, struct snapshot *cur)
{
	struct snap_dev *d;

	memset(prev, 0, sizeof(*prev));
	memset(cur, 0, sizeof(*cur));
	prev->mono_ns = 100 * SEC;
	cur->mono_ns = 101 * SEC;
	cur->real_ns = 1700000000ULL * SEC;
	cur->have_cost = prev->have_cost = true;
	cur->run_ns = 5000;
	cur->run_cnt = 10;
	d = add_dev(cur, 1, 1);
	d->hwpt_id = 3;
	d->c.dma_ops = 10;
	d->c.dma_bytes = 640;
	d->c.translations = 12;
	d->c.devtlb_hits = 6;
	d->c.walks = 5;
	d->c.walk_mem_refs = 120;
	d->c.faults = 1;
	d->c.page_requests = 3;
	d->c.pr_groups = 2;
	d->c.pr_responses = 2;
	d->c.pr_success = 2;
	d->c.lat_hist[iommutop_lat_slot(80000)] = 1;
	d->c.lat_hist[iommutop_lat_slot(3000000)] = 1;
	d->c.lat_sum_ns = 3080000;
	d->pr_out_pages = 1;
	d->pr_out_groups = 1;
	d->pr_oldest_ns = 100 * SEC;
	d = add_dev(cur, 2, NESTIOMMU_PASID_NONE);
	d->c.translations = 1;
	d->c.faults = 1;
	d->c.faults_no_hwpt = 1;
	add_hwpt(cur, 3)->c.inv_entries = 2;
	add_ioas(cur, 1)->c.maps = 1;
	add_fault(cur, 1, 1, 3, 1, 5, 0, 1);
	add_fault(cur, 2, NESTIOMMU_PASID_NONE, 0, 1, 3, 0, 1);
	cur->totals.events[IOMMUTOP_EV_DMA] = 10;
	snapshot_sort(cur);
}

/* Write @text to out_dir/@name when --out-dir was given. */
static void save(const char *name, const char *text, size_t len)
{
	char path[512];
	FILE *f;

	if (!out_dir)
		return;
	snprintf(path, sizeof(path), "%s/%s", out_dir, name);
	f = fopen(path, "w");
	ASSERT_NE(NULL, (void *)f);
	ASSERT_EQ(len, fwrite(text, 1, len, f));
	ASSERT_OK(fclose(f));
}

static void render_metrics(const struct snapshot *s, bool om, char **buf,
			   size_t *len)
{
	FILE *f;

	*buf = NULL;
	f = open_memstream(buf, len);
	exporter_render(f, s, "tp_btf", om);
	fclose(f);
}

TEST(exposition_histogram_is_cumulative)
{
	struct snapshot prev, cur;
	char *text, *line, *save_ptr = NULL;
	unsigned long long last = 0, v, count = ~0ULL, inf = ~0ULL;
	int buckets = 0, helps = 0, types = 0;
	size_t len;

	sample_snapshots(&prev, &cur);
	render_metrics(&cur, false, &text, &len);
	save("metrics.prom", text, len);
	for (line = strtok_r(text, "\n", &save_ptr); line;
	     line = strtok_r(NULL, "\n", &save_ptr)) {
		const char *p = "nestiommu_device_page_response_latency_seconds";

		helps += !strncmp(line, "# HELP ", 7);
		types += !strncmp(line, "# TYPE ", 7);
		if (strncmp(line, p, strlen(p)) || !strstr(line, "dev=\"1\""))
			continue;
		line += strlen(p);
		if (!strncmp(line, "_bucket", 7)) {
			ASSERT_EQ(1, sscanf(strrchr(line, ' '), "%llu", &v));
			EXPECT_LE(last, v);
			last = v;
			buckets++;
			if (strstr(line, "le=\"+Inf\""))
				inf = v;
		} else if (!strncmp(line, "_count", 6)) {
			ASSERT_EQ(1, sscanf(strrchr(line, ' '), "%llu", &count));
		}
	}
	EXPECT_EQ(2, inf);
	EXPECT_EQ(2, count);
	EXPECT_GT(buckets, 10);
	EXPECT_EQ(helps, types);
	free(text);

	render_metrics(&cur, true, &text, &len);
	save("metrics.om", text, len);
	EXPECT_TRUE(len > 6 && !strcmp(text + len - 6, "# EOF\n"));
	/* OpenMetrics names counter families without "_total". */
	EXPECT_NE(NULL, (void *)strstr(text, "# TYPE nestiommu_device_dma_ops counter\n"));
	EXPECT_NE(NULL, (void *)strstr(text, "\nnestiommu_device_dma_ops_total{dev=\"1\",pasid=\"1\"} 10\n"));
	EXPECT_NE(NULL, (void *)strstr(text, "pasid=\"rid\""));
	free(text);
	snapshot_free(&prev);
	snapshot_free(&cur);
}

TEST(json_and_csv_render)
{
	struct snapshot prev, cur;
	struct frame fr = {};
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	sample_snapshots(&prev, &cur);
	ASSERT_OK(frame_build(&fr, &prev, &cur, NULL, NULL));
	fr.attach = "raw_tp";
	f = open_memstream(&buf, &len);
	print_json(f, &fr);
	fclose(f);
	save("sample.json", buf, len);
	EXPECT_NE(NULL, (void *)strstr(buf, "\"attach\":\"raw_tp\""));
	EXPECT_NE(NULL, (void *)strstr(buf, "\"pasid\":null"));
	EXPECT_NE(NULL, (void *)strstr(buf, "\"total\":{\"bpf_runs\":10,\"bpf_run_ns\":5000,\"events_lost\":0}"));
	free(buf);

	buf = NULL;
	f = open_memstream(&buf, &len);
	csv_header(f);
	csv_sample(f, &fr);
	fclose(f);
	save("sample.csv", buf, len);
	free(buf);

	buf = NULL;
	f = open_memstream(&buf, &len);
	print_batch_text(f, &fr);
	fclose(f);
	save("sample.txt", buf, len);
	EXPECT_NE(NULL, (void *)strstr(buf, "DEVICES"));
	EXPECT_NE(NULL, (void *)strstr(buf, "PAGE-RESPONSE LATENCY"));
	free(buf);
	frame_free(&fr);
	snapshot_free(&prev);
	snapshot_free(&cur);
}

/* ---- the interactive screen's keys (no terminal needed) ---- */

static enum tui_action keys(struct tui *t, const char *s)
{
	enum tui_action a = TUI_NONE;

	for (; *s; s++)
		a = tui_key(t, (unsigned char)*s);
	return a;
}

TEST(tui_keys_sort_filter_views_quit)
{
	struct tui t = {};
	int v;

	for (v = 0; v < VIEW_NR; v++)
		t.sorts[v].col = -1;
	EXPECT_EQ(TUI_REBUILD, keys(&t, ">"));
	EXPECT_EQ(DC_XLATE + 1, t.sorts[VIEW_DEVS].col);
	EXPECT_EQ(TUI_REBUILD, keys(&t, "<<"));
	EXPECT_EQ(DC_XLATE - 1, t.sorts[VIEW_DEVS].col);
	EXPECT_EQ(TUI_REBUILD, keys(&t, "r"));
	EXPECT_TRUE(t.sorts[VIEW_DEVS].reverse);
	EXPECT_EQ(TUI_REBUILD, keys(&t, "sdma_ops\r"));
	EXPECT_EQ(DC_DMA_OPS, t.sorts[VIEW_DEVS].col);
	EXPECT_EQ(TUI_REDRAW, keys(&t, "sbogus\r"));
	EXPECT_NE(NULL, (void *)strstr(t.message, "no column 'bogus'"));
	EXPECT_EQ(DC_DMA_OPS, t.sorts[VIEW_DEVS].col);
	EXPECT_EQ(TUI_REBUILD, keys(&t, "/dev=2 pasid=rid\r"));
	EXPECT_TRUE(t.filter.dev_set && t.filter.dev == 2);
	EXPECT_TRUE(t.filter.pasid_set && t.filter.pasid == NESTIOMMU_PASID_NONE);
	/* Backspace edits, Esc cancels. */
	EXPECT_EQ(TUI_REDRAW, keys(&t, "/dev=9\x7f" "8\x1b"));
	EXPECT_EQ(2, t.filter.dev);
	EXPECT_EQ(TUI_REBUILD, keys(&t, "/dev=9\x7f" "8\r"));
	EXPECT_EQ(8, t.filter.dev);
	EXPECT_EQ(TUI_REBUILD, keys(&t, "/junk\r"));
	EXPECT_NE(NULL, (void *)strstr(t.message, "bad filter"));
	EXPECT_EQ(8, t.filter.dev);
	EXPECT_EQ(TUI_REBUILD, keys(&t, "c"));
	EXPECT_FALSE(t.filter.dev_set);
	EXPECT_EQ(TUI_REDRAW, keys(&t, "2"));
	EXPECT_EQ(SCREEN_HWPTS, t.screen);
	EXPECT_EQ(TUI_REBUILD, keys(&t, ">"));
	EXPECT_EQ(HC_XLATE + 1, t.sorts[VIEW_HWPTS].col);
	EXPECT_EQ(TUI_REDRAW, keys(&t, "\t\t"));
	EXPECT_EQ(SCREEN_LATENCY, t.screen);
	EXPECT_EQ(TUI_NONE, keys(&t, ">"));
	EXPECT_EQ(TUI_REDRAW, keys(&t, "h"));
	EXPECT_TRUE(t.help);
	EXPECT_EQ(TUI_REDRAW, keys(&t, "x"));	/* any key leaves help */
	EXPECT_FALSE(t.help);
	EXPECT_EQ(TUI_QUIT, keys(&t, "q"));
}

/* The screen tui_draw() writes, as plain text (escape sequences dropped). */
static void draw_text(struct tui *t, const struct frame *fr, char *text,
		      size_t n)
{
	char raw[16384];
	FILE *f = tmpfile();
	size_t len, i, o = 0;

	ASSERT_NE(NULL, (void *)f);
	t->out_fd = fileno(f);
	tui_draw(t, fr);
	rewind(f);
	len = fread(raw, 1, sizeof(raw) - 1, f);
	fclose(f);
	for (i = 0; i < len && o < n - 1; i++) {
		if (raw[i] == '\033') {
			i++;
			while (i < len && raw[i] != 'H' && raw[i] != 'K' &&
			       raw[i] != 'J' && raw[i] != 'm' && raw[i] != 'l' &&
			       raw[i] != 'h')
				i++;
			continue;
		}
		if (raw[i] != '\r')
			text[o++] = raw[i];
	}
	text[o] = 0;
}

/*
 * What the screen refuses it says on the status line, and the line stays
 * over the redraws of the samples until the next key: a bad filter, an
 * unknown sort column, and a -s column the screen does not have.
 */
TEST(tui_status_line_says_what_was_refused)
{
	struct snapshot s = { .mono_ns = SEC };
	struct sort sorts[VIEW_NR];
	struct tui t = {};
	struct frame fr;
	char text[16384];
	int v;

	for (v = 0; v < VIEW_NR; v++)
		sorts[v].col = view_find_column(v, "invalidations");
	memcpy(t.sorts, sorts, sizeof(sorts));
	t.sort_key = "invalidations";
	t.rows = 24;
	t.cols = 120;
	ASSERT_OK(frame_build(&fr, &s, &s, &t.filter, t.sorts));

	draw_text(&t, &fr, text, sizeof(text));
	EXPECT_NE(NULL, (void *)strstr(text, "no column 'invalidations' on the devices screen: sorted by XLATE/s"));
	keys(&t, "2");
	draw_text(&t, &fr, text, sizeof(text));
	EXPECT_EQ(NULL, (void *)strstr(text, "no column"));
	EXPECT_NE(NULL, (void *)strstr(text, "[hwpts] q quit"));

	EXPECT_EQ(TUI_REBUILD, keys(&t, "/dev=x\r"));
	draw_text(&t, &fr, text, sizeof(text));
	EXPECT_NE(NULL, (void *)strstr(text, "bad filter 'dev=x'"));
	/* The next sample's redraw keeps it. */
	draw_text(&t, &fr, text, sizeof(text));
	EXPECT_NE(NULL, (void *)strstr(text, "bad filter 'dev=x'"));
	EXPECT_EQ(TUI_REDRAW, keys(&t, "sbogus\r"));
	draw_text(&t, &fr, text, sizeof(text));
	draw_text(&t, &fr, text, sizeof(text));
	EXPECT_NE(NULL, (void *)strstr(text, "no column 'bogus' on this screen"));
	/* Any key takes it away. */
	EXPECT_EQ(TUI_REDRAW, keys(&t, "1"));
	draw_text(&t, &fr, text, sizeof(text));
	EXPECT_EQ(NULL, (void *)strstr(text, "bogus"));
	EXPECT_NE(NULL, (void *)strstr(text, "no column 'invalidations' on the devices screen"));
	/* Sorting the screen by one of its columns ends that notice. */
	EXPECT_EQ(TUI_REBUILD, keys(&t, ">"));
	draw_text(&t, &fr, text, sizeof(text));
	EXPECT_NE(NULL, (void *)strstr(text, "[devices] q quit"));

	/* A filter that passes no row says so, not "nothing seen". */
	frame_free(&fr);
	EXPECT_EQ(TUI_REBUILD, keys(&t, "/dev=5\r"));
	ASSERT_OK(frame_build(&fr, &s, &s, &t.filter, t.sorts));
	draw_text(&t, &fr, text, sizeof(text));
	EXPECT_NE(NULL, (void *)strstr(text, "(no row passes the filter; c clears it)"));
	frame_free(&fr);
}

/* ---- options and preflight ---- */

TEST(samples_stay_on_their_grid)
{
	const __u64 p = 2 * SEC, t0 = 100 * SEC;

	/* On time, or late by less than a period: the next one on the grid. */
	EXPECT_EQ(t0 + 2 * p, sample_next_due(t0 + p, p, t0 + p));
	EXPECT_EQ(t0 + 2 * p, sample_next_due(t0 + p, p, t0 + p + p / 2));
	EXPECT_EQ(t0 + 2 * p, sample_next_due(t0 + p, p, t0 + 2 * p - 1));
	/* Late by a whole period or more: skip, one period from now. */
	EXPECT_EQ(t0 + 3 * p, sample_next_due(t0 + p, p, t0 + 2 * p));
	EXPECT_EQ(t0 + 9 * p + 5, sample_next_due(t0 + p, p, t0 + 8 * p + 5));
}

TEST(kernel_release_check)
{
	EXPECT_TRUE(kernel_release_ok("6.1.0-56-amd64", 5, 11));
	EXPECT_TRUE(kernel_release_ok("5.11.0", 5, 11));
	EXPECT_TRUE(kernel_release_ok("10.0", 5, 11));
	EXPECT_FALSE(kernel_release_ok("5.10.209-1", 5, 11));
	EXPECT_FALSE(kernel_release_ok("4.19.0-26-amd64", 5, 11));
	EXPECT_TRUE(kernel_release_ok("weird", 5, 11));
}

TEST(exporter_address_check)
{
	EXPECT_TRUE(exporter_addr_valid("127.0.0.1:9464"));
	EXPECT_TRUE(exporter_addr_valid(":9464"));
	EXPECT_TRUE(exporter_addr_valid("[::1]:80"));
	EXPECT_TRUE(exporter_addr_valid("localhost:1"));
	EXPECT_FALSE(exporter_addr_valid("127.0.0.1"));
	EXPECT_FALSE(exporter_addr_valid("127.0.0.1:0"));
	EXPECT_FALSE(exporter_addr_valid("127.0.0.1:65536"));
	EXPECT_FALSE(exporter_addr_valid("127.0.0.1:x"));
	EXPECT_FALSE(exporter_addr_valid("example.org:80"));
	EXPECT_FALSE(exporter_addr_valid("[::1:80"));
}

/* A fake sysfs grown one piece at a time: each check speaks in turn. */
TEST(preflight_names_the_first_missing_piece)
{
	char dir[] = "/tmp/iommutop-sysfs-XXXXXX", path[256], msg[512];
	int rc;

	ASSERT_NE(NULL, (void *)mkdtemp(dir));
	EXPECT_EQ(1, check_environment("iommutop", dir, "6.1.0-56-amd64", msg, sizeof(msg)));
	EXPECT_EQ(0, strcmp(msg, "nestiommu module not loaded: run insmod kernel/nestiommu.ko (or modprobe nestiommu)"));

	snprintf(path, sizeof(path), "%s/module", dir);
	ASSERT_OK(mkdir(path, 0755));
	snprintf(path, sizeof(path), "%s/module/nestiommu", dir);
	ASSERT_OK(mkdir(path, 0755));
	EXPECT_EQ(1, check_environment("iommutop", dir, "5.10.0-28-amd64", msg, sizeof(msg)));
	EXPECT_EQ(0, strcmp(msg, "kernel 5.10.0-28-amd64 is too old: iommutop needs Linux 5.11 or later (BPF CO-RE on the module's types needs module BTF)"));
	EXPECT_EQ(1, check_environment("iommutop", dir, "6.1.0-56-amd64", msg, sizeof(msg)));
	EXPECT_NE(NULL, (void *)strstr(msg, "no kernel BTF"));
	EXPECT_NE(NULL, (void *)strstr(msg, "CONFIG_DEBUG_INFO_BTF=y"));

	snprintf(path, sizeof(path), "%s/kernel", dir);
	ASSERT_OK(mkdir(path, 0755));
	snprintf(path, sizeof(path), "%s/kernel/btf", dir);
	ASSERT_OK(mkdir(path, 0755));
	snprintf(path, sizeof(path), "%s/kernel/btf/vmlinux", dir);
	fclose(fopen(path, "w"));
	EXPECT_EQ(1, check_environment("iommutop", dir, "6.1.0-56-amd64", msg, sizeof(msg)));
	EXPECT_NE(NULL, (void *)strstr(msg, "the nestiommu module has no BTF"));

	snprintf(path, sizeof(path), "%s/kernel/btf/nestiommu", dir);
	fclose(fopen(path, "w"));
	rc = check_environment("iommutop", dir, "6.1.0-56-amd64", msg, sizeof(msg));
	if (geteuid() == 0)
		EXPECT_EQ(0, rc);
	else
		EXPECT_NE(NULL, (void *)strstr(msg, "permission denied"));
	if (system((snprintf(path, sizeof(path), "rm -rf %s", dir), path)))
		TH_LOG("could not remove %s", dir);
}

TEST_HARNESS_MAIN

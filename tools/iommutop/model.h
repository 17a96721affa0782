/* SPDX-License-Identifier: GPL-2.0 */
/*
 * model.h - iommutop's pure model: snapshots in, tables out.
 *
 * The collector (collect.c) fills a struct snapshot with the cumulative
 * counters of the BPF maps; the model turns two snapshots into tables of
 * rates, percentages and percentiles (one row per device x PASID, HWPT,
 * IOAS or fault kind), filters and sorts them. It does no I/O, so the
 * host unit tests (model_test.c) drive it with made-up snapshots.
 *
 * Definitions (over the interval between the two snapshots):
 *  - translations: pages translated or faulted (nestiommu:nest_translate plus
 *    nestiommu:nest_fault), as the driver's "translations" statistic;
 *  - IOTLB hit %: IOTLB hits / translations that reached the IOTLB, i.e.
 *    not served by the device TLB, not injected, not PASID_INVALID;
 *  - device-TLB hit %: device-TLB hits / translations that reached a
 *    cache; shown only for rows that ever had a device-TLB hit, since the
 *    events do not say whether a device has ATS;
 *  - walk refs: page-table entries read per successful walk;
 *  - page-response latency p50/p99: from the log2 histogram
 *    (iommutop.h), interpolated linearly inside a slot;
 *  - outstanding page requests and the age of the oldest: now, not over
 *    the interval.
 * A value that is undefined (no lookups, no responses) is NAN.
 */
#ifndef IOMMUTOP_MODEL_H
#define IOMMUTOP_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include <linux/nestiommu.h>

#include "iommutop.h"

/* ---- the snapshot: cumulative counters at one moment ---- */

struct snap_dev {
	struct iommutop_dev_key key;
	__u32 hwpt_id;			/* attached now; 0: none known */
	struct iommutop_dev_counters c;
	__u64 pr_out_groups;		/* outstanding now */
	__u64 pr_out_pages;
	__u64 pr_oldest_ns;		/* sent_ns of the oldest; 0: none */
};

struct snap_hwpt {
	__u32 hwpt_id;
	struct iommutop_hwpt_counters c;
};

struct snap_ioas {
	__u32 ioas_id;
	struct iommutop_ioas_counters c;
};

struct snap_fault {
	struct iommutop_fault_key key;
	__u64 count;
};

struct snapshot {
	__u64 mono_ns;		/* CLOCK_MONOTONIC (bpf_ktime_get_ns's clock) */
	__u64 real_ns;		/* CLOCK_REALTIME, for time stamps */
	struct iommutop_totals totals;
	bool have_cost;		/* BPF run-time statistics are on */
	__u64 run_ns;		/* run time of the programs, summed */
	__u64 run_cnt;
	struct snap_dev *devs;
	size_t nr_devs;
	struct snap_hwpt *hwpts;
	size_t nr_hwpts;
	struct snap_ioas *ioas;
	size_t nr_ioas;
	struct snap_fault *faults;
	size_t nr_faults;
};

void snapshot_free(struct snapshot *s);
/* Sort the rows by key: the model looks rows up by key in both snapshots. */
void snapshot_sort(struct snapshot *s);
/* Deep copy; 0 or -ENOMEM. */
int snapshot_copy(struct snapshot *dst, const struct snapshot *src);

/* ---- histograms ---- */

/* Upper bound in ns of lat_hist slot @k (INFINITY for the last). */
double lat_slot_le_ns(int k);
/* The @q quantile (0..1) in ns of @slots, or NAN if they are all 0. */
double hist_quantile_ns(const __u64 *slots, int n, double q);

/* ---- tables ---- */

enum col_fmt {
	FMT_ID,		/* an object ID; 0 shows as "-" */
	FMT_PASID,	/* a PASID; NESTIOMMU_PASID_NONE shows as "rid" */
	FMT_RATE,	/* per second */
	FMT_BYTES,	/* bytes per second */
	FMT_PCT,
	FMT_FLOAT,
	FMT_COUNT,
	FMT_SECONDS,
	FMT_STAGE,
	FMT_REASON,	/* enum nestiommu_fault_reason */
	FMT_ORIGIN,	/* 0 organic, 1 injected */
};

struct column {
	const char *key;	/* JSON, CSV and -s name */
	const char *header;	/* on screen */
	int width;
	enum col_fmt fmt;
	bool descending;	/* the natural order when sorted by it */
	const char *help;
};

enum view_kind { VIEW_DEVS, VIEW_HWPTS, VIEW_IOAS, VIEW_FAULTS, VIEW_NR };

enum dev_col {
	DC_DEV, DC_PASID, DC_HWPT, DC_DMA_OPS, DC_DMA_BYTES, DC_XLATE,
	DC_IOTLB_PCT, DC_DEVTLB_PCT, DC_WALK_REFS, DC_FAULTS, DC_INJECTED,
	DC_PR, DC_PR_OUT, DC_PR_AGE, DC_P50, DC_P99, DC_NR
};

enum hwpt_col {
	HC_HWPT, HC_XLATE, HC_IOTLB_PCT, HC_DEVTLB_PCT, HC_WALK_REFS,
	HC_DMA_OPS, HC_DMA_BYTES, HC_FAULTS, HC_INJECTED, HC_INV, HC_INV_IOTLB,
	HC_INV_DEVTLB, HC_INV_PASID, HC_INV_DROPPED, HC_INV_INJECTED, HC_NR
};

enum ioas_col { IC_IOAS, IC_MAPS, IC_UNMAPS, IC_MAP_BYTES, IC_UNMAP_BYTES,
		IC_NR };

enum fault_col {
	FC_DEV, FC_PASID, FC_HWPT, FC_STAGE, FC_REASON, FC_ORIGIN, FC_RATE,
	FC_TOTAL, FC_NR
};

#define MAX_COLS 16

/* A table row: one value per column, and the snapshot row it came from. */
struct row {
	double v[MAX_COLS];
	const void *src;	/* struct snap_dev, snap_hwpt ... of "cur" */
};

struct table {
	enum view_kind kind;
	const struct column *cols;
	int nr_cols;
	struct row *rows;
	size_t nr_rows;
};

const struct column *view_columns(enum view_kind kind, int *nr_cols);
const char *view_name(enum view_kind kind);
/* Column index of @key in @kind, or -1. */
int view_find_column(enum view_kind kind, const char *key);
/* The column a view is sorted by unless told otherwise. */
int view_default_sort(enum view_kind kind);

/* Show only rows of this device and/or PASID. */
struct filter {
	bool dev_set;
	__u32 dev;
	bool pasid_set;
	__u32 pasid;
};

bool filter_match(const struct filter *f, __u32 dev, __u32 pasid);
/*
 * Parse "dev=N", "pasid=N" or "pasid=rid", either or both (separated by
 * spaces or commas); "" clears. Return: false (and @f untouched) if
 * malformed.
 */
bool filter_parse(const char *s, struct filter *f);

struct sort {
	int col;
	bool reverse;		/* against the column's natural order */
};

/*
 * Fill @t with the rows of @kind from @cur and their rates since @prev
 * (an earlier snapshot; a row it lacks counted from 0), the rows that
 * pass @f (NULL: all), sorted by @s (NULL: the view's default).
 * Return: 0 or -ENOMEM. The rows' src point into @cur.
 */
int table_build(struct table *t, enum view_kind kind,
		const struct snapshot *prev, const struct snapshot *cur,
		const struct filter *f, const struct sort *s);
void table_free(struct table *t);
void table_sort(struct table *t, const struct sort *s);

/* ---- the header: totals over every row ---- */

struct summary {
	double interval_s;
	/* per second over the interval */
	double dma_ops, dma_bytes, translations, faults, faults_injected;
	double maps, unmaps, inv, inv_iotlb, inv_devtlb, inv_pasid;
	double page_requests, pr_responses, stale, fq_overflows;
	double iotlb_hit_pct, devtlb_hit_pct, walk_refs;
	double lat_p50_s, lat_p99_s;
	/* now */
	__u64 pr_out_groups, pr_out_pages;
	double pr_oldest_s;
	/* the tool's own cost */
	bool have_cost;
	double bpf_cpu_pct;	/* BPF run time / wall time, one CPU = 100 */
	double bpf_runs;	/* program runs per second */
	double bpf_avg_ns;	/* per run */
	__u64 bpf_run_ns;	/* since the programs were loaded */
	__u64 bpf_run_cnt;
	__u64 lost;		/* since start */
	double lost_rate;
	/* cumulative, since start */
	struct iommutop_dev_counters dev_total;
	struct iommutop_hwpt_counters hwpt_total;
	struct iommutop_ioas_counters ioas_total;
	__u64 events[IOMMUTOP_EV_NR];
	/* page-response latency over the interval and since start */
	__u64 lat_hist[IOMMUTOP_LAT_SLOTS];
	__u64 lat_hist_total[IOMMUTOP_LAT_SLOTS];
	/*
	 * The distribution to draw is lat_hist_total: the interval had no
	 * response, and a burst that has ended still shows its shape.
	 */
	bool lat_dist_total;
};

void summary_build(struct summary *sum, const struct snapshot *prev,
		   const struct snapshot *cur);

/* ---- the cumulative counters, by name (JSON "total", the exporter) ---- */

struct counter_field {
	const char *name;
	size_t offset;		/* in the counter block */
	const char *help;
};

/* Every field of the block but the latency histogram and its sum. */
extern const struct counter_field dev_fields[];
extern const int nr_dev_fields;
extern const struct counter_field hwpt_fields[];
extern const int nr_hwpt_fields;
extern const struct counter_field ioas_fields[];
extern const int nr_ioas_fields;

static inline __u64 counter_get(const void *block,
				const struct counter_field *f)
{
	return *(const __u64 *)((const char *)block + f->offset);
}

/* ---- the sampling clock ---- */

/*
 * The deadline of the sample after the one due at @due, taken at @now (all
 * in ns): samples stay on the grid of @period from the start, so a late
 * sample does not delay the later ones; one more than a whole period late
 * (a stopped process) skips the missed samples instead of bursting them.
 */
__u64 sample_next_due(__u64 due, __u64 period, __u64 now);

/* Names of enum nestiommu_fault_reason values ("pte_fetch"...). */
const char *fault_reason_name(unsigned int reason);
/* The nestiommu event an enum iommutop_event counts ("nest_map"...). */
const char *event_name(enum iommutop_event ev);

#endif /* IOMMUTOP_MODEL_H */

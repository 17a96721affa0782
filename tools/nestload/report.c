// SPDX-License-Identifier: GPL-2.0
/*
 * nestload: the summary. The values are collected once into a list of
 * (section, key, value) items and rendered either as text, one
 * "section.key=value" (or "key=value") per line, or as one JSON object
 * in which each section is a nested object: the text keys are the JSON
 * paths joined with '.'. Keys and their order are fixed; new keys are
 * only ever appended to their section.
 *
 * Sections: "config" (what ran), none (nestload's own counts and
 * throughput), "pri" (the PRI handler), "driver" (GET_STATS summed over
 * nestload's devices; inv_* over its nested HWPTs, map_ops.. of its IOAS,
 * queue_* of its fault queue).
 */
#include <stdlib.h>
#include <string.h>

#include "nestload.h"

enum nl_kind {
	NL_KIND_U64,
	NL_KIND_F64,
	NL_KIND_STR,
};

struct nl_item {
	const char *section;	/* NULL: top level */
	const char *key;
	enum nl_kind kind;
	__u64 u;
	double f;
	int prec;		/* decimals of an F64 */
	const char *s;
};

#define NL_ITEMS_MAX	128

struct nl_report {
	struct nl_item item[NL_ITEMS_MAX];
	unsigned int n;
	const char *section;	/* of the items being added */
};

static struct nl_item *nl_report_add(struct nl_report *r, const char *key,
				     enum nl_kind kind)
{
	struct nl_item *it = &r->item[r->n];

	/* A fixed list: running out is a bug of this file. */
	if (r->n == NL_ITEMS_MAX)
		abort();
	r->n++;
	*it = (struct nl_item){ .section = r->section, .key = key,
				.kind = kind };
	return it;
}

static void nl_report_u64(struct nl_report *r, const char *key, __u64 v)
{
	nl_report_add(r, key, NL_KIND_U64)->u = v;
}

static void nl_report_f64(struct nl_report *r, const char *key, double v,
			  int prec)
{
	struct nl_item *it = nl_report_add(r, key, NL_KIND_F64);

	it->f = v;
	it->prec = prec;
}

/* @v must need no JSON escaping (a fixed word). */
static void nl_report_str(struct nl_report *r, const char *key, const char *v)
{
	nl_report_add(r, key, NL_KIND_STR)->s = v;
}

static void nl_item_value(FILE *f, const struct nl_item *it, bool json)
{
	switch (it->kind) {
	case NL_KIND_U64:
		fprintf(f, "%llu", (unsigned long long)it->u);
		break;
	case NL_KIND_F64:
		fprintf(f, "%.*f", it->prec, it->f);
		break;
	case NL_KIND_STR:
		fprintf(f, json ? "\"%s\"" : "%s", it->s);
		break;
	}
}

static void nl_report_text(FILE *f, const struct nl_report *r)
{
	unsigned int i;

	for (i = 0; i < r->n; i++) {
		const struct nl_item *it = &r->item[i];

		if (it->section)
			fprintf(f, "%s.", it->section);
		fprintf(f, "%s=", it->key);
		nl_item_value(f, it, false);
		fputc('\n', f);
	}
}

/* One line of JSON; the items of a section are consecutive. */
static void nl_report_json(FILE *f, const struct nl_report *r)
{
	const char *open = NULL;	/* the section whose object is open */
	bool comma = false;		/* the open object has a member */
	unsigned int i;

	fputc('{', f);
	for (i = 0; i < r->n; i++) {
		const struct nl_item *it = &r->item[i];

		if (open && (!it->section || strcmp(open, it->section))) {
			fputc('}', f);
			open = NULL;
			comma = true;
		}
		if (it->section && !open) {
			fprintf(f, "%s\"%s\":{", comma ? "," : "", it->section);
			open = it->section;
			comma = false;
		}
		fprintf(f, "%s\"%s\":", comma ? "," : "", it->key);
		nl_item_value(f, it, true);
		comma = true;
	}
	if (open)
		fputc('}', f);
	fputs("}\n", f);
}

static __u64 nl_faults_sum(const struct nestiommu_xlate_stats *st, int stage)
{
	__u64 sum = 0;
	int i;

	for (i = 0; i < NESTIOMMU_FAULT_REASON_SLOTS; i++)
		sum += st->faults[stage][i];
	return sum;
}

static void nl_report_config(struct nl_report *r, const struct nl_world *w,
			     const struct nl_driver_stats *st)
{
	const struct nl_opts *o = w->o;

	r->section = "config";
	nl_report_u64(r, "devices", o->devices);
	nl_report_u64(r, "pasids", o->pasids);
	nl_report_u64(r, "threads", o->threads);
	nl_report_u64(r, "ops", o->ops);
	nl_report_f64(r, "duration_s", o->duration_s, 3);
	nl_report_str(r, "pattern",
		      o->pattern == NL_PATTERN_SEQ ? "seq" : "random");
	nl_report_u64(r, "read_pct", o->read_pct);
	nl_report_u64(r, "working_set", o->working_set);
	nl_report_u64(r, "dma_size", o->dma_size);
	nl_report_u64(r, "fault_pct", o->fault_pct);
	nl_report_u64(r, "fault_pages", nl_opts_fault_pages(o));
	nl_report_u64(r, "refault_every", o->refault_every);
	nl_report_u64(r, "s1_change_every", o->s1_change_every);
	nl_report_u64(r, "churn_every", o->churn_every);
	nl_report_u64(r, "iotlb_entries", st->iotlb_entries);
	nl_report_u64(r, "ats", o->ats);
	nl_report_u64(r, "devtlb_entries", o->devtlb_entries);
	nl_report_u64(r, "pri_timeout_ms", o->pri_timeout_ms);
	nl_report_u64(r, "audit", o->audit);
	nl_report_u64(r, "recover", o->recover);
	nl_report_u64(r, "seed", o->seed);
}

static void nl_report_own(struct nl_report *r, const struct nl_counters *c,
			  double elapsed_s, bool interrupted)
{
	double secs = elapsed_s > 0 ? elapsed_s : 1e-9;

	r->section = NULL;
	nl_report_f64(r, "elapsed_s", elapsed_s, 6);
	nl_report_u64(r, "interrupted", interrupted);
	nl_report_u64(r, "dma_ops", c->dma_ops);
	nl_report_u64(r, "dma_reads", c->dma_reads);
	nl_report_u64(r, "dma_writes", c->dma_writes);
	nl_report_u64(r, "dma_bytes", c->dma_bytes);
	nl_report_u64(r, "dma_faults", c->dma_faults);
	nl_report_f64(r, "ops_per_s", c->dma_ops / secs, 1);
	nl_report_f64(r, "mb_per_s", c->dma_bytes / secs / 1e6, 3);
	nl_report_u64(r, "invalidations", c->invalidations);
	nl_report_u64(r, "inv_entries", c->inv_entries);
	nl_report_u64(r, "s1_changes", c->s1_changes);
	nl_report_u64(r, "refaults", c->refaults);
	nl_report_u64(r, "refault_pages", c->refault_pages);
	nl_report_u64(r, "maps", c->maps);
	nl_report_u64(r, "unmaps", c->unmaps);
	nl_report_u64(r, "recoveries", c->recoveries);
}

static void nl_report_pri(struct nl_report *r, const struct nl_world *w)
{
	const struct nest_pri_counters *pc = &w->pri_final;

	r->section = "pri";
	nl_report_u64(r, "groups", pc->groups);
	nl_report_u64(r, "pages", pc->page_requests);
	nl_report_u64(r, "success", pc->success);
	nl_report_u64(r, "invalid", pc->invalid);
	nl_report_u64(r, "failure", pc->failure);
	nl_report_u64(r, "rejected", pc->rejected);
	nl_report_u64(r, "write_errors", pc->write_errors);
	nl_report_u64(r, "incomplete", pc->incomplete);
	nl_report_u64(r, "pages_mapped", w->pri_pages.mapped);
	nl_report_u64(r, "pages_present", w->pri_pages.present);
	nl_report_u64(r, "pages_refused", w->pri_pages.refused);
	nl_report_u64(r, "fault_records", pc->faults);
	nl_report_u64(r, "overflows", pc->overflows);
	nl_report_u64(r, "dropped", pc->dropped);
	nl_report_u64(r, "error", pc->error);
}

static void nl_report_driver(struct nl_report *r,
			     const struct nl_driver_stats *st)
{
	const struct nestiommu_xlate_stats *d = &st->dev;
	__u64 s1 = nl_faults_sum(d, 0), s2 = nl_faults_sum(d, 1);

	r->section = "driver";
	nl_report_u64(r, "dma_ops", d->dma_ops);
	nl_report_u64(r, "dma_bytes", d->dma_bytes);
	nl_report_u64(r, "translations", d->translations);
	nl_report_u64(r, "iotlb_hits", d->iotlb_hits);
	nl_report_u64(r, "iotlb_misses", d->iotlb_misses);
	nl_report_u64(r, "devtlb_hits", d->devtlb_hits);
	nl_report_u64(r, "devtlb_misses", d->devtlb_misses);
	nl_report_u64(r, "walks", d->walks);
	nl_report_u64(r, "walk_levels", d->walk_levels);
	nl_report_u64(r, "walk_mem_refs", d->walk_mem_refs);
	nl_report_u64(r, "pasid_cache_hits", d->pasid_cache_hits);
	nl_report_u64(r, "pasid_cache_misses", d->pasid_cache_misses);
	nl_report_u64(r, "faults", s1 + s2);
	nl_report_u64(r, "faults_s1", s1);
	nl_report_u64(r, "faults_s2", s2);
	nl_report_u64(r, "stale_translations", d->stale_translations);
	nl_report_u64(r, "injected_faults", d->injected_faults);
	nl_report_u64(r, "pri_page_requests", d->pri_page_requests);
	nl_report_u64(r, "pri_groups", d->pri_groups);
	nl_report_u64(r, "pri_success", d->pri_success);
	nl_report_u64(r, "pri_invalid", d->pri_invalid);
	nl_report_u64(r, "pri_failure", d->pri_failure);
	nl_report_u64(r, "pri_auto_invalid", d->pri_auto_invalid);
	nl_report_u64(r, "pri_timeouts", d->pri_timeouts);
	nl_report_u64(r, "pri_outstanding", d->pri_outstanding);
	/* Invalidations count on the HWPT only. */
	nl_report_u64(r, "inv_iotlb", st->hwpt.inv_iotlb);
	nl_report_u64(r, "inv_dev_iotlb", st->hwpt.inv_dev_iotlb);
	nl_report_u64(r, "inv_pasid", st->hwpt.inv_pasid);
	nl_report_u64(r, "inv_dropped", st->hwpt.inv_dropped);
	nl_report_u64(r, "map_ops", st->ioas.map_ops);
	nl_report_u64(r, "unmapped_areas", st->ioas.unmapped_areas);
	nl_report_u64(r, "mappings", st->ioas.mappings);
	nl_report_u64(r, "pinned_pages", st->ioas.pinned_pages);
	nl_report_u64(r, "queue_queued", st->queue.queued);
	nl_report_u64(r, "queue_dropped", st->queue.dropped);
}

/**
 * nl_report_print() - print the summary
 * @f: where to
 * @w: the world after the run (options, PRI handler counters)
 * @c: nestload's own counters
 * @elapsed_s: the run's length
 * @interrupted: a signal stopped the run
 * @st: the driver's statistics
 */
void nl_report_print(FILE *f, const struct nl_world *w,
		     const struct nl_counters *c, double elapsed_s,
		     bool interrupted, const struct nl_driver_stats *st)
{
	static struct nl_report r;

	r.n = 0;
	nl_report_config(&r, w, st);
	nl_report_own(&r, c, elapsed_s, interrupted);
	nl_report_pri(&r, w);
	nl_report_driver(&r, st);
	if (w->o->json)
		nl_report_json(f, &r);
	else
		nl_report_text(f, &r);
}

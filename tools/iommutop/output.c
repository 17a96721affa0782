// SPDX-License-Identifier: GPL-2.0
/*
 * output.c - batch text, JSON lines and CSV renderings of a frame, and the
 * cells and header lines the interactive screen shares.
 *
 * JSON: one object per sample and line, after the one that says the
 * programs are attached. Rates are per second over the interval ("rate"
 * objects), counts are since iommutop started ("total" objects, exact),
 * times are in seconds, undefined values are null and a request without
 * PASID has "pasid": null.
 */
#include <errno.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "output.h"

int frame_build(struct frame *fr, const struct snapshot *prev,
		const struct snapshot *cur, const struct filter *filter,
		const struct sort *sorts)
{
	int v, rc;

	fr->prev = prev;
	fr->cur = cur;
	fr->filter = filter;
	summary_build(&fr->sum, prev, cur);
	memset(fr->tables, 0, sizeof(fr->tables));
	for (v = 0; v < VIEW_NR; v++) {
		rc = table_build(&fr->tables[v], v, prev, cur, filter,
				 sorts ? &sorts[v] : NULL);
		if (rc) {
			frame_free(fr);
			return rc;
		}
	}
	return 0;
}

void frame_free(struct frame *fr)
{
	int v;

	for (v = 0; v < VIEW_NR; v++)
		table_free(&fr->tables[v]);
}

/* ---- cells ---- */

static void fmt_scaled(char *buf, size_t n, double v, double base)
{
	static const char units[] = " KMGTP";
	int u = 0;

	while (fabs(v) >= base && u < 5) {
		v /= base;
		u++;
	}
	if (!u)
		snprintf(buf, n, v == (long long)v ? "%.0f" : "%.1f", v);
	else
		snprintf(buf, n, "%.1f%c", v, units[u]);
}

static void fmt_seconds(char *buf, size_t n, double s)
{
	if (s < 1e-6)
		snprintf(buf, n, "%.0fns", s * 1e9);
	else if (s < 1e-3)
		snprintf(buf, n, "%.1fus", s * 1e6);
	else if (s < 1)
		snprintf(buf, n, "%.1fms", s * 1e3);
	else
		snprintf(buf, n, "%.2fs", s);
}

void fmt_cell(char *buf, size_t n, const struct column *col, double v)
{
	if (isnan(v)) {
		snprintf(buf, n, "-");
		return;
	}
	switch (col->fmt) {
	case FMT_ID:
		if (v)
			snprintf(buf, n, "%.0f", v);
		else
			snprintf(buf, n, "-");
		break;
	case FMT_PASID:
		if (v == NESTIOMMU_PASID_NONE)
			snprintf(buf, n, "rid");
		else
			snprintf(buf, n, "%.0f", v);
		break;
	case FMT_RATE:
		fmt_scaled(buf, n, v, 1000);
		break;
	case FMT_BYTES:
		fmt_scaled(buf, n, v, 1024);
		break;
	case FMT_PCT:
	case FMT_FLOAT:
		snprintf(buf, n, "%.1f", v);
		break;
	case FMT_COUNT:
	case FMT_STAGE:
		snprintf(buf, n, "%.0f", v);
		break;
	case FMT_SECONDS:
		fmt_seconds(buf, n, v);
		break;
	case FMT_REASON:
		snprintf(buf, n, "%s", fault_reason_name(v));
		break;
	case FMT_ORIGIN:
		snprintf(buf, n, "%s", v ? "injected" : "organic");
		break;
	}
}

/* ---- header ---- */

static const char *cell(char *buf, enum col_fmt fmt, double v)
{
	struct column c = { .fmt = fmt };

	fmt_cell(buf, CELL_MAX, &c, v);
	return buf;
}

int header_lines(const struct frame *fr, char lines[][LINE_MAX_LEN], int max)
{
	const struct summary *s = &fr->sum;
	char c[8][CELL_MAX];	/* one per cell of a line */
	char when[32], filter[64] = "";
	time_t t = fr->cur->real_ns / 1000000000ULL;
	struct tm tm;
	int n = 0;

	if (max < HEADER_LINES)
		return 0;
	localtime_r(&t, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	if (fr->filter && (fr->filter->dev_set || fr->filter->pasid_set)) {
		int len = snprintf(filter, sizeof(filter), "  filter:");

		if (fr->filter->dev_set)
			len += snprintf(filter + len, sizeof(filter) - len,
					" dev=%u", fr->filter->dev);
		if (fr->filter->pasid_set) {
			if (fr->filter->pasid == NESTIOMMU_PASID_NONE)
				snprintf(filter + len, sizeof(filter) - len,
					 " pasid=rid");
			else
				snprintf(filter + len, sizeof(filter) - len,
					 " pasid=%u", fr->filter->pasid);
		}
	}
	snprintf(lines[n++], LINE_MAX_LEN,
		 "iommutop %s  interval %.2fs  %s  devices %zu  hwpts %zu  ioas %zu%s%s",
		 when, s->interval_s, fr->attach ?: "", fr->cur->nr_devs,
		 fr->cur->nr_hwpts, fr->cur->nr_ioas,
		 fr->collect_filter && *fr->collect_filter ? "  collecting " : "",
		 fr->collect_filter ?: "");
	if (*filter)
		strncat(lines[n - 1], filter,
			LINE_MAX_LEN - strlen(lines[n - 1]) - 1);
	snprintf(lines[n++], LINE_MAX_LEN,
		 "DMA %s/s %sB/s  xlate %s/s  IOTLB %s%%  DTLB %s%%  refs/walk %s",
		 cell(c[0], FMT_RATE, s->dma_ops), cell(c[1], FMT_BYTES, s->dma_bytes),
		 cell(c[2], FMT_RATE, s->translations),
		 cell(c[3], FMT_PCT, s->iotlb_hit_pct),
		 cell(c[4], FMT_PCT, s->devtlb_hit_pct),
		 cell(c[5], FMT_FLOAT, s->walk_refs));
	snprintf(lines[n++], LINE_MAX_LEN,
		 "maps %s/s  unmaps %s/s  inv %s/s (iotlb %s devtlb %s pasid %s)  stale %s/s",
		 cell(c[0], FMT_RATE, s->maps), cell(c[1], FMT_RATE, s->unmaps),
		 cell(c[2], FMT_RATE, s->inv), cell(c[3], FMT_RATE, s->inv_iotlb),
		 cell(c[4], FMT_RATE, s->inv_devtlb),
		 cell(c[5], FMT_RATE, s->inv_pasid), cell(c[6], FMT_RATE, s->stale));
	snprintf(lines[n++], LINE_MAX_LEN,
		 "faults %s/s (injected %s/s)  PR %s/s  outstanding %llu (oldest %s)  response p50 %s p99 %s",
		 cell(c[0], FMT_RATE, s->faults),
		 cell(c[1], FMT_RATE, s->faults_injected),
		 cell(c[2], FMT_RATE, s->page_requests),
		 (unsigned long long)s->pr_out_pages,
		 cell(c[3], FMT_SECONDS, s->pr_oldest_s),
		 cell(c[4], FMT_SECONDS, s->lat_p50_s),
		 cell(c[5], FMT_SECONDS, s->lat_p99_s));
	if (s->have_cost)
		snprintf(lines[n++], LINE_MAX_LEN,
			 "cost: BPF %.3f%% CPU  %s runs/s  %s/run  lost %llu (%s/s)  fq overflows %s/s",
			 s->bpf_cpu_pct, cell(c[0], FMT_RATE, s->bpf_runs),
			 cell(c[1], FMT_SECONDS, s->bpf_avg_ns / 1e9),
			 (unsigned long long)s->lost,
			 cell(c[2], FMT_RATE, s->lost_rate),
			 cell(c[3], FMT_RATE, s->fq_overflows));
	else
		snprintf(lines[n++], LINE_MAX_LEN,
			 "cost: BPF run time n/a (needs CAP_SYS_ADMIN)  lost %llu (%s/s)  fq overflows %s/s",
			 (unsigned long long)s->lost,
			 cell(c[0], FMT_RATE, s->lost_rate),
			 cell(c[1], FMT_RATE, s->fq_overflows));
	return n;
}

/* ---- tables as text ---- */

void table_header_text(char *buf, size_t n, const struct table *t,
		       int sort_col)
{
	size_t len = 0;
	int i;

	buf[0] = 0;
	for (i = 0; i < t->nr_cols && len < n; i++) {
		const struct column *c = &t->cols[i];
		char h[CELL_MAX];

		/* The sort column is marked with '*'. */
		snprintf(h, sizeof(h), "%s%s", i == sort_col ? "*" : "",
			 c->header);
		len += snprintf(buf + len, n - len, "%s%*s", i ? " " : "",
				c->width, h);
	}
}

void table_row_text(char *buf, size_t n, const struct table *t, size_t r)
{
	size_t len = 0;
	int i;

	buf[0] = 0;
	for (i = 0; i < t->nr_cols && len < n; i++) {
		const struct column *c = &t->cols[i];
		char v[CELL_MAX];

		fmt_cell(v, sizeof(v), c, t->rows[r].v[i]);
		len += snprintf(buf + len, n - len, "%s%*s", i ? " " : "",
				c->width, v);
	}
}

int latency_lines(const struct frame *fr, char lines[][LINE_MAX_LEN], int max)
{
	const struct summary *s = &fr->sum;
	const __u64 *dist = s->lat_dist_total ? s->lat_hist_total : s->lat_hist;
	__u64 peak = 0;
	int k, n = 0;

	for (k = 0; k < IOMMUTOP_LAT_SLOTS; k++)
		if (dist[k] > peak)
			peak = dist[k];
	if (n < max)
		snprintf(lines[n++], LINE_MAX_LEN, "%16s %10s %10s  %s",
			 "LATENCY <=", "INTERVAL", "TOTAL",
			 s->lat_dist_total ? "DISTRIBUTION (since start)" :
					     "DISTRIBUTION (interval)");
	for (k = 0; k < IOMMUTOP_LAT_SLOTS && n < max; k++) {
		char le[CELL_MAX], bar[41];
		int w;

		if (!s->lat_hist_total[k])
			continue;
		if (k == IOMMUTOP_LAT_SLOTS - 1)
			snprintf(le, sizeof(le), "+Inf");
		else
			cell(le, FMT_SECONDS, lat_slot_le_ns(k) / 1e9);
		w = peak ? (int)(40 * dist[k] / peak) : 0;
		if (dist[k] && !w)
			w = 1;
		memset(bar, '#', w);
		bar[w] = 0;
		snprintf(lines[n++], LINE_MAX_LEN, "%16s %10llu %10llu  %s", le,
			 (unsigned long long)s->lat_hist[k],
			 (unsigned long long)s->lat_hist_total[k], bar);
	}
	return n;
}

void print_attached(FILE *f, bool json, const char *mode, int programs)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (json)
		fprintf(f, "{\"event\":\"attached\",\"time\":%.6f,\"attach\":\"%s\",\"programs\":%d}\n",
			ts.tv_sec + ts.tv_nsec / 1e9, mode, programs);
	else
		fprintf(f, "iommutop: attached %d programs (%s)\n", programs,
			mode);
	fflush(f);
}

void print_batch_text(FILE *f, const struct frame *fr)
{
	static const char *const titles[VIEW_NR] = {
		[VIEW_DEVS] = "DEVICES", [VIEW_HWPTS] = "HWPTS",
		[VIEW_IOAS] = "IOAS", [VIEW_FAULTS] = "FAULTS",
	};
	char lines[IOMMUTOP_LAT_SLOTS + 1][LINE_MAX_LEN], line[LINE_MAX_LEN];
	int i, n, v;
	size_t r;

	n = header_lines(fr, lines, HEADER_LINES);
	for (i = 0; i < n; i++)
		fprintf(f, "%s\n", lines[i]);
	for (v = 0; v < VIEW_NR; v++) {
		const struct table *t = &fr->tables[v];

		fprintf(f, "\n%s\n", titles[v]);
		table_header_text(line, sizeof(line), t, -1);
		fprintf(f, "%s\n", line);
		for (r = 0; r < t->nr_rows; r++) {
			table_row_text(line, sizeof(line), t, r);
			fprintf(f, "%s\n", line);
		}
	}
	n = latency_lines(fr, lines, IOMMUTOP_LAT_SLOTS + 1);
	if (n > 1) {
		fprintf(f, "\nPAGE-RESPONSE LATENCY\n");
		for (i = 0; i < n; i++)
			fprintf(f, "%s\n", lines[i]);
	}
	fprintf(f, "\n");
	fflush(f);
}

/* ---- JSON ---- */

static void json_num(FILE *f, const char *key, double v, bool *first)
{
	fprintf(f, "%s\"%s\":", *first ? "" : ",", key);
	if (isnan(v) || isinf(v))
		fprintf(f, "null");
	else
		fprintf(f, "%.9g", v);
	*first = false;
}

static void json_u64(FILE *f, const char *key, __u64 v, bool *first)
{
	fprintf(f, "%s\"%s\":%llu", *first ? "" : ",", key,
		(unsigned long long)v);
	*first = false;
}

static void json_id(FILE *f, const char *key, const struct column *c,
		    double v, bool *first)
{
	fprintf(f, "%s\"%s\":", *first ? "" : ",", key);
	if ((c->fmt == FMT_PASID && v == NESTIOMMU_PASID_NONE) ||
	    (c->fmt == FMT_ID && !v))
		fprintf(f, "null");
	else
		fprintf(f, "%.0f", v);
	*first = false;
}

static void json_counters(FILE *f, const char *key, const void *block,
			  const struct counter_field *fields, int nr,
			  bool *first)
{
	bool inner = true;
	int i;

	fprintf(f, "%s\"%s\":{", *first ? "" : ",", key);
	for (i = 0; i < nr; i++)
		json_u64(f, fields[i].name, counter_get(block, &fields[i]),
			 &inner);
	fprintf(f, "}");
	*first = false;
}

/*
 * A table row: its key columns, then the rate columns in "rate", the other
 * columns as they are.
 */
static void json_row_values(FILE *f, const struct table *t, size_t r)
{
	bool first = true, inner = true;
	int i;

	for (i = 0; i < t->nr_cols; i++) {
		const struct column *c = &t->cols[i];

		if (c->fmt == FMT_ID || c->fmt == FMT_PASID)
			json_id(f, c->key, c, t->rows[r].v[i], &first);
	}
	fprintf(f, ",\"rate\":{");
	for (i = 0; i < t->nr_cols; i++) {
		const struct column *c = &t->cols[i];

		if (c->fmt == FMT_RATE || c->fmt == FMT_BYTES)
			json_num(f, c->key, t->rows[r].v[i], &inner);
	}
	fprintf(f, "}");
	for (i = 0; i < t->nr_cols; i++) {
		const struct column *c = &t->cols[i];

		if (c->fmt == FMT_PCT || c->fmt == FMT_FLOAT ||
		    c->fmt == FMT_SECONDS || c->fmt == FMT_COUNT)
			json_num(f, c->key, t->rows[r].v[i], &first);
	}
}

static void json_devices(FILE *f, const struct table *t)
{
	size_t r;

	fprintf(f, ",\"devices\":[");
	for (r = 0; r < t->nr_rows; r++) {
		const struct snap_dev *d = t->rows[r].src;
		bool first = false;

		fprintf(f, "%s{", r ? "," : "");
		json_row_values(f, t, r);
		json_u64(f, "pr_outstanding_groups", d->pr_out_groups, &first);
		json_counters(f, "total", &d->c, dev_fields, nr_dev_fields,
			      &first);
		fprintf(f, "}");
	}
	fprintf(f, "]");
}

static void json_hwpts(FILE *f, const struct table *t)
{
	size_t r;

	fprintf(f, ",\"hwpts\":[");
	for (r = 0; r < t->nr_rows; r++) {
		const struct snap_hwpt *h = t->rows[r].src;
		bool first = false;

		fprintf(f, "%s{", r ? "," : "");
		json_row_values(f, t, r);
		json_counters(f, "total", &h->c, hwpt_fields, nr_hwpt_fields,
			      &first);
		fprintf(f, "}");
	}
	fprintf(f, "]");
}

static void json_ioas(FILE *f, const struct table *t)
{
	size_t r;

	fprintf(f, ",\"ioas\":[");
	for (r = 0; r < t->nr_rows; r++) {
		const struct snap_ioas *a = t->rows[r].src;
		bool first = false;

		fprintf(f, "%s{", r ? "," : "");
		json_row_values(f, t, r);
		json_counters(f, "total", &a->c, ioas_fields, nr_ioas_fields,
			      &first);
		fprintf(f, "}");
	}
	fprintf(f, "]");
}

static void json_faults(FILE *f, const struct table *t)
{
	size_t r;

	fprintf(f, ",\"faults\":[");
	for (r = 0; r < t->nr_rows; r++) {
		const struct snap_fault *fl = t->rows[r].src;
		const double *v = t->rows[r].v;
		bool first = true;

		fprintf(f, "%s{", r ? "," : "");
		json_id(f, "dev", &t->cols[FC_DEV], v[FC_DEV], &first);
		json_id(f, "pasid", &t->cols[FC_PASID], v[FC_PASID], &first);
		json_id(f, "hwpt", &t->cols[FC_HWPT], v[FC_HWPT], &first);
		fprintf(f, ",\"stage\":%u,\"reason\":\"%s\",\"origin\":\"%s\"",
			fl->key.stage, fault_reason_name(fl->key.reason),
			fl->key.injected ? "injected" : "organic");
		fprintf(f, ",\"rate\":{\"faults\":%.9g}", v[FC_RATE]);
		fprintf(f, ",\"total\":{\"faults\":%llu}}",
			(unsigned long long)fl->count);
	}
	fprintf(f, "]");
}

static void json_summary(FILE *f, const struct summary *s)
{
	bool first = true, inner = true;
	int i;

	fprintf(f, ",\"summary\":{\"rate\":{");
	json_num(f, "dma_ops", s->dma_ops, &inner);
	json_num(f, "dma_bytes", s->dma_bytes, &inner);
	json_num(f, "translations", s->translations, &inner);
	json_num(f, "faults", s->faults, &inner);
	json_num(f, "faults_injected", s->faults_injected, &inner);
	json_num(f, "maps", s->maps, &inner);
	json_num(f, "unmaps", s->unmaps, &inner);
	json_num(f, "invalidations", s->inv, &inner);
	json_num(f, "inv_iotlb", s->inv_iotlb, &inner);
	json_num(f, "inv_dev_iotlb", s->inv_devtlb, &inner);
	json_num(f, "inv_pasid", s->inv_pasid, &inner);
	json_num(f, "page_requests", s->page_requests, &inner);
	json_num(f, "pr_responses", s->pr_responses, &inner);
	json_num(f, "stale", s->stale, &inner);
	json_num(f, "fault_queue_overflows", s->fq_overflows, &inner);
	fprintf(f, "}");
	first = false;
	json_num(f, "iotlb_hit_pct", s->iotlb_hit_pct, &first);
	json_num(f, "devtlb_hit_pct", s->devtlb_hit_pct, &first);
	json_num(f, "walk_refs", s->walk_refs, &first);
	json_num(f, "lat_p50_s", s->lat_p50_s, &first);
	json_num(f, "lat_p99_s", s->lat_p99_s, &first);
	json_u64(f, "pr_outstanding", s->pr_out_pages, &first);
	json_u64(f, "pr_outstanding_groups", s->pr_out_groups, &first);
	json_num(f, "pr_oldest_s", s->pr_oldest_s, &first);
	json_counters(f, "total", &s->dev_total, dev_fields, nr_dev_fields,
		      &first);
	json_counters(f, "hwpt_total", &s->hwpt_total, hwpt_fields,
		      nr_hwpt_fields, &first);
	json_counters(f, "ioas_total", &s->ioas_total, ioas_fields,
		      nr_ioas_fields, &first);
	fprintf(f, ",\"events\":{");
	inner = true;
	for (i = 0; i < IOMMUTOP_EV_NR; i++)
		json_u64(f, event_name(i), s->events[i], &inner);
	fprintf(f, "}}");
}

static void json_cost(FILE *f, const struct summary *s)
{
	bool first = true, inner = true;

	fprintf(f, ",\"cost\":{");
	json_num(f, "bpf_cpu_pct", s->have_cost ? s->bpf_cpu_pct : NAN, &first);
	json_num(f, "bpf_avg_ns", s->have_cost ? s->bpf_avg_ns : NAN, &first);
	fprintf(f, ",\"rate\":{");
	json_num(f, "bpf_runs", s->have_cost ? s->bpf_runs : NAN, &inner);
	json_num(f, "events_lost", s->lost_rate, &inner);
	fprintf(f, "},\"total\":{");
	inner = true;
	if (s->have_cost) {
		json_u64(f, "bpf_runs", s->bpf_run_cnt, &inner);
		json_u64(f, "bpf_run_ns", s->bpf_run_ns, &inner);
	} else {
		fprintf(f, "\"bpf_runs\":null,\"bpf_run_ns\":null");
		inner = false;
	}
	json_u64(f, "events_lost", s->lost, &inner);
	fprintf(f, "}}");
}

static void json_latency(FILE *f, const struct summary *s)
{
	bool any = false;
	int k;

	fprintf(f, ",\"latency_hist\":[");
	for (k = 0; k < IOMMUTOP_LAT_SLOTS; k++) {
		double le = lat_slot_le_ns(k);

		if (!s->lat_hist_total[k])
			continue;
		fprintf(f, "%s{\"le_s\":", any ? "," : "");
		if (isinf(le))
			fprintf(f, "null");
		else
			fprintf(f, "%.9g", le / 1e9);
		fprintf(f, ",\"count\":%llu,\"total\":%llu}",
			(unsigned long long)s->lat_hist[k],
			(unsigned long long)s->lat_hist_total[k]);
		any = true;
	}
	fprintf(f, "]");
}

void print_json(FILE *f, const struct frame *fr)
{
	const struct summary *s = &fr->sum;

	fprintf(f, "{\"time\":%.6f,\"interval_s\":%.6f,\"attach\":\"%s\"",
		fr->cur->real_ns / 1e9, s->interval_s, fr->attach ?: "");
	json_summary(f, s);
	json_cost(f, s);
	json_devices(f, &fr->tables[VIEW_DEVS]);
	json_hwpts(f, &fr->tables[VIEW_HWPTS]);
	json_ioas(f, &fr->tables[VIEW_IOAS]);
	json_faults(f, &fr->tables[VIEW_FAULTS]);
	json_latency(f, s);
	fprintf(f, "}\n");
	fflush(f);
}

/* ---- CSV: one line per device row and sample, and one for all ---- */

void csv_header(FILE *f)
{
	const struct column *cols;
	int i, n;

	cols = view_columns(VIEW_DEVS, &n);
	fprintf(f, "time,interval_s");
	for (i = 0; i < n; i++)
		fprintf(f, ",%s", cols[i].key);
	fprintf(f, "\n");
	fflush(f);
}

static void csv_value(FILE *f, const struct column *c, double v)
{
	if (isnan(v))
		fprintf(f, ",");
	else if (c->fmt == FMT_PASID && v == NESTIOMMU_PASID_NONE)
		fprintf(f, ",rid");
	else if (c->fmt == FMT_ID && !v)
		fprintf(f, ",");
	else
		fprintf(f, ",%.9g", v);
}

void csv_sample(FILE *f, const struct frame *fr)
{
	/* Every row whatever the screen shows, in (device, PASID) order. */
	struct sort by_key = { .col = DC_DEV };
	const struct summary *s = &fr->sum;
	double all[DC_NR];
	struct table t;
	size_t r;
	int i;

	if (table_build(&t, VIEW_DEVS, fr->prev, fr->cur, NULL, &by_key))
		return;
	for (r = 0; r < t.nr_rows; r++) {
		fprintf(f, "%.6f,%.6f", fr->cur->real_ns / 1e9, s->interval_s);
		for (i = 0; i < t.nr_cols; i++)
			csv_value(f, &t.cols[i], t.rows[r].v[i]);
		fprintf(f, "\n");
	}
	/* The "all" line: the header's figures, in the same columns. */
	for (i = 0; i < DC_NR; i++)
		all[i] = NAN;
	all[DC_DMA_OPS] = s->dma_ops;
	all[DC_DMA_BYTES] = s->dma_bytes;
	all[DC_XLATE] = s->translations;
	all[DC_IOTLB_PCT] = s->iotlb_hit_pct;
	all[DC_DEVTLB_PCT] = s->devtlb_hit_pct;
	all[DC_WALK_REFS] = s->walk_refs;
	all[DC_FAULTS] = s->faults;
	all[DC_INJECTED] = s->faults_injected;
	all[DC_PR] = s->page_requests;
	all[DC_PR_OUT] = s->pr_out_pages;
	all[DC_PR_AGE] = s->pr_oldest_s;
	all[DC_P50] = s->lat_p50_s;
	all[DC_P99] = s->lat_p99_s;
	fprintf(f, "%.6f,%.6f,all", fr->cur->real_ns / 1e9, s->interval_s);
	for (i = DC_PASID; i < DC_NR; i++)
		csv_value(f, &t.cols[i], all[i]);
	fprintf(f, "\n");
	fflush(f);
	table_free(&t);
}

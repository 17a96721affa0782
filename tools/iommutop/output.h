/* SPDX-License-Identifier: GPL-2.0 */
/*
 * output.h - iommutop's renderers of the model: cells and header lines
 * (shared with the interactive screen), batch text, JSON lines and the
 * CSV log. They only format what the model computed.
 */
#ifndef IOMMUTOP_OUTPUT_H
#define IOMMUTOP_OUTPUT_H

#include <stdio.h>

#include "model.h"

/* Everything one sample shows. */
struct frame {
	const struct snapshot *prev, *cur;
	struct summary sum;
	struct table tables[VIEW_NR];
	const char *attach;		/* "tp_btf" or "raw_tp" */
	const struct filter *filter;	/* display filter, or NULL */
	const char *collect_filter;	/* in-kernel filter ("" if none) */
};

/*
 * Compute the summary and every table of @fr from @prev and @cur, sorted
 * by @sorts[view] (NULL: defaults). Return: 0 or -ENOMEM.
 */
int frame_build(struct frame *fr, const struct snapshot *prev,
		const struct snapshot *cur, const struct filter *filter,
		const struct sort *sorts);
void frame_free(struct frame *fr);

#define CELL_MAX 32
/* @v as column @col shows it ("-" for NAN). */
void fmt_cell(char *buf, size_t n, const struct column *col, double v);

#define HEADER_LINES 5
#define LINE_MAX_LEN 512
/* The header: totals and the tool's own cost, one line each. */
int header_lines(const struct frame *fr, char lines[][LINE_MAX_LEN], int max);

/* A table's column headers and one row, columns right-aligned. */
void table_header_text(char *buf, size_t n, const struct table *t,
		       int sort_col);
void table_row_text(char *buf, size_t n, const struct table *t, size_t i);

/* The latency histogram, one line per slot in use (interval and total). */
int latency_lines(const struct frame *fr, char lines[][LINE_MAX_LEN],
		  int max);

/*
 * The line that says every program is attached: text, or with @json a
 * JSON object {"event":"attached",...}.
 */
void print_attached(FILE *f, bool json, const char *mode, int programs);
void print_batch_text(FILE *f, const struct frame *fr);
void print_json(FILE *f, const struct frame *fr);

void csv_header(FILE *f);
void csv_sample(FILE *f, const struct frame *fr);

#endif /* IOMMUTOP_OUTPUT_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * recording.h - faultinject's recording file (tools/faultinject/README.md,
 * "The recording format"): line-oriented text, versioned, one event per
 * line as "KIND key=value ...", written by `faultinject record` and read
 * by `faultinject replay`.
 */
#ifndef FI_RECORDING_H
#define FI_RECORDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>

#include "fi_record.h"

#define FI_REC_VERSION	1
#define FI_REC_ERR_LEN	512

/* The keys of an event line (struct fi_rec_line.keys). */
enum fi_rec_keyb {
	FI_K_DEV = 1 << 0, FI_K_PASID = 1 << 1, FI_K_POS = 1 << 2,
	FI_K_HWPT = 1 << 3, FI_K_IOAS = 1 << 4, FI_K_SITE = 1 << 5,
	FI_K_XPOS = 1 << 6, FI_K_IOVA = 1 << 7, FI_K_ACCESS = 1 << 8,
	FI_K_REASON = 1 << 9, FI_K_STAGE = 1 << 10, FI_K_LEVEL = 1 << 11,
	FI_K_ORIGIN = 1 << 12, FI_K_GRPID = 1 << 13, FI_K_ADDR = 1 << 14,
	FI_K_PAGES = 1 << 15, FI_K_PERM = 1 << 16, FI_K_COOKIE = 1 << 17,
	FI_K_INJ = 1 << 18, FI_K_CODE = 1 << 19, FI_K_BY = 1 << 20,
	FI_K_LATENCY = 1 << 21, FI_K_DELAY = 1 << 22, FI_K_DROP = 1 << 23,
	FI_K_ERRNO = 1 << 24, FI_K_LENGTH = 1 << 25,
};

/* What replay does not compare: it differs from run to run. */
#define FI_K_NOCMP	(FI_K_GRPID | FI_K_COOKIE | FI_K_LATENCY | FI_K_DELAY)

struct fi_rec_line {
	struct fi_rec_event ev;
	unsigned int keys;	/* enum fi_rec_keyb: those the line has */
	unsigned int lineno;
};

struct fi_recording {
	unsigned int version;
	char kernel[128];
	char module[64];
	__u64 lost;
	struct fi_rec_line *line;
	size_t nr, cap;
};

/* Every key an event of @kind is written with. */
unsigned int fi_rec_all_keys(unsigned int kind);

/*
 * The line of @e with the keys in @keys (those @e's kind has), without a
 * newline.
 */
void fi_rec_format(const struct fi_rec_event *e, unsigned int keys,
		   char *buf, size_t len);

/* The header, with a lost line fi_rec_finish() rewrites in place. */
int fi_rec_write_header(FILE *f, const char *kernel, const char *module,
			long *lost_at);
/* The real count of losses, and the end line: 0, or -1 (errno). */
int fi_rec_finish(FILE *f, long lost_at, __u64 lost);

/*
 * Read the recording @path. Return: 0, or -1 with "PATH:LINE: WHY" in
 * @err (WHY naming the bad word) and nothing kept.
 */
int fi_rec_load(struct fi_recording *rec, const char *path, char *err,
		size_t errlen);
void fi_rec_free(struct fi_recording *rec);

#endif /* FI_RECORDING_H */

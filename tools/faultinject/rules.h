/* SPDX-License-Identifier: GPL-2.0 */
/*
 * faultinject's rule language: text -> struct fi_rule (bpf/faultinject.h).
 *
 * A rule is words separated by blanks: "at=WHERE", one action, filters and
 * "when" words, e.g.
 *	at=page-response code=failure pasid=3 nth=2
 * A rules file holds one rule per line; "#" starts a comment. The grammar
 * and what each word means are in tools/faultinject/README.md.
 */
#ifndef FI_RULES_H
#define FI_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>

#include "faultinject.h"

/* Room for one error message: the rule's origin, the rule and the word. */
#define FI_ERR_LEN	512

struct fi_rules {
	struct fi_rule rule[FI_MAX_RULES];
	/* The text of each rule as given (for the final table). */
	char *text[FI_MAX_RULES];
	unsigned int nr;
};

/*
 * Parse @text into @r. Return: 0, or -1 with a one-line message in @err
 * naming the bad word (without the origin: the caller knows it).
 */
int fi_rule_parse(const char *text, struct fi_rule *r, char *err,
		  size_t errlen);

/*
 * Append the rule @text (from @origin, e.g. "rules.txt:3" or "rule 2") to
 * @set. Return: 0, or -1 with "ORIGIN: rule 'TEXT': WHY" in @err.
 */
int fi_rules_add(struct fi_rules *set, const char *text, const char *origin,
		 char *err, size_t errlen);

/*
 * Append every rule of the file @path ("-": standard input). Return: 0, or
 * -1 with "PATH:LINE: rule 'TEXT': WHY" (or why the file cannot be read)
 * in @err; @set then holds the rules before the bad one.
 */
int fi_rules_load(struct fi_rules *set, const char *path, char *err,
		  size_t errlen);

void fi_rules_free(struct fi_rules *set);

/* The canonical text of @r (what fi_rule_parse() reads back as @r). */
void fi_rule_format(const struct fi_rule *r, char *buf, size_t len);

/* Names, for `faultinject list` and the tables. */
const char *fi_at_name(unsigned int at);
const char *fi_action_name(unsigned int action);
const char *fi_fault_reason_name(unsigned int reason);
const char *fi_resp_code_name(unsigned int code);
/* enum nestiommu_fail_site: name ("pin_pages"), what fails and its errno. */
const char *fi_site_name(unsigned int site);
const char *fi_site_doc(unsigned int site);
int fi_site_find(const char *name);	/* -1: no such site */

/* An unsigned number, decimal or 0x hex, at most @max. */
bool fi_parse_u64(const char *s, uint64_t max, uint64_t *v);

/* What `faultinject list` prints: per hook point, the words it takes. */
unsigned int fi_at_actions(unsigned int at);	/* 1 << enum fi_action */
unsigned int fi_at_filters(unsigned int at);	/* enum fi_filter */
const char *fi_filter_key(unsigned int bit);	/* "dev" for FI_F_DEV */

/*
 * The same names for recordings (recording.c), so each has one table.
 * Parsers return false on a bad word; formatters never fail.
 */
bool fi_fault_reason_parse(const char *s, unsigned int *reason);
bool fi_resp_code_parse(const char *s, unsigned int *code);
bool fi_access_parse(const char *s, unsigned int *access);
void fi_access_format(unsigned int access, char *buf, size_t len);
bool fi_errno_parse(const char *s, unsigned int *e);
const char *fi_errno_name(unsigned int e, char *buf, size_t len);

#endif /* FI_RULES_H */

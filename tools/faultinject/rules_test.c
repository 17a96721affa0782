// SPDX-License-Identifier: GPL-2.0
/*
 * rules_test - host unit tests of faultinject's rule language: every word
 * read into the right field, the canonical text read back to the same rule,
 * and every malformed rule rejected with a message naming the bad word.
 * KTAP output (selftests/lib/harness.h), run by selftests/test_faultinject.py.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "nestiommu.h"
#include "rules.h"

static struct fi_rule parse_ok(const char *text)
{
	char err[FI_ERR_LEN] = "";
	struct fi_rule r;

	if (fi_rule_parse(text, &r, err, sizeof(err)))
		TH_LOG("rule '%s': %s", text, err);
	ASSERT_EQ(0, fi_rule_parse(text, &r, err, sizeof(err)));
	return r;
}

/* @text parses, and its canonical text is @canon and parses to the same. */
static void check_canonical(const char *text, const char *canon)
{
	struct fi_rule r = parse_ok(text), again;
	char buf[512];

	fi_rule_format(&r, buf, sizeof(buf));
	if (strcmp(canon, buf))
		TH_LOG("'%s': canonical '%s', want '%s'", text, buf, canon);
	EXPECT_EQ(0, strcmp(canon, buf));
	again = parse_ok(buf);
	EXPECT_EQ(0, memcmp(&r, &again, sizeof(r)));
}

TEST(every_action_reads_back)
{
	check_canonical("at=translate fault=pte-fetch stage=1",
			"at=translate fault=pte-fetch stage=1");
	check_canonical("at=translate fault=PERMISSION stage=2 level=3",
			"at=translate fault=permission stage=2 level=3");
	check_canonical("at=translate fault=oor_address stage=1",
			"at=translate fault=oor-address stage=1");
	check_canonical("at=translate page-request",
			"at=translate page-request");
	check_canonical("at=page-request drop", "at=page-request drop");
	check_canonical("at=page_request duplicate",
			"at=page-request duplicate");
	check_canonical("at=page-request clear-last",
			"at=page-request clear-last");
	check_canonical("at=page-response code=failure",
			"at=page-response code=failure");
	check_canonical("at=page-response code=success",
			"at=page-response code=success");
	check_canonical("at=page-response drop", "at=page-response drop");
	check_canonical("at=page-response delay=10ms",
			"at=page-response delay=10000us");
	check_canonical("at=page-response delay=1s",
			"at=page-response delay=1000000us");
	check_canonical("at=invalidate drop", "at=invalidate drop");
	check_canonical("at=invalidate errno=EIO", "at=invalidate errno=EIO");
	check_canonical("at=map errno=12", "at=map errno=ENOMEM");
	check_canonical("at=map errno=enomem", "at=map errno=ENOMEM");
	check_canonical("at=Page-Response code=FAILURE",
			"at=page-response code=failure");
}

/* Every site of enum nestiommu_fail_site, by its name in either spelling. */
TEST(every_fail_site_parses)
{
	char text[64], canon[64], dashed[32];
	unsigned int i;
	struct fi_rule r;
	char *c;

	for (i = 0; i < NESTIOMMU_FAIL_SITE_COUNT; i++) {
		ASSERT_NE(NULL, fi_site_name(i));
		ASSERT_NE(NULL, strstr(fi_site_doc(i), "ENOMEM"));
		snprintf(canon, sizeof(canon), "at=fail-site site=%s",
			 fi_site_name(i));
		check_canonical(canon, canon);
		snprintf(dashed, sizeof(dashed), "%s", fi_site_name(i));
		for (c = dashed; *c; c++)
			if (*c == '_')
				*c = '-';
		snprintf(text, sizeof(text), "at=fail-site site=%s nth=2", dashed);
		r = parse_ok(text);
		EXPECT_EQ(FI_AT_FAIL_SITE, r.at);
		EXPECT_EQ(FI_ACT_FAIL, r.action);
		EXPECT_EQ(i, r.site);
		EXPECT_EQ(2, r.nth);
		EXPECT_EQ((int)i, fi_site_find(fi_site_name(i)));
	}
	EXPECT_EQ(NULL, fi_site_name(NESTIOMMU_FAIL_SITE_COUNT));
	EXPECT_EQ(-1, fi_site_find("all"));
	r = parse_ok("at=fail-site site=pin_pages pid=7 comm=vmm after=1 times=2");
	EXPECT_EQ(NESTIOMMU_FAIL_SITE_PIN_PAGES, r.site);
	EXPECT_EQ(FI_F_PID | FI_F_COMM, r.filters);
}

TEST(fields_hold_the_values)
{
	struct fi_rule r;

	r = parse_ok("  at=translate\tfault=walk-eabt stage=2 dev=7 pasid=0x20 hwpt=9 "
		     "iova=0x1000-0x1fff access=w,priv comm=vmm pid=42 after=3 every=2 "
		     "times=5 prob=25%");
	EXPECT_EQ(FI_AT_TRANSLATE, r.at);
	EXPECT_EQ(FI_ACT_FAULT, r.action);
	EXPECT_EQ(NESTIOMMU_FAULT_REASON_WALK_EABT, r.fault_reason);
	EXPECT_EQ(2, r.fault_stage);
	EXPECT_EQ(0, r.fault_level);
	EXPECT_EQ(FI_F_DEV | FI_F_PASID | FI_F_HWPT | FI_F_IOVA | FI_F_ACCESS |
		  FI_F_COMM | FI_F_PID, r.filters);
	EXPECT_EQ(7, r.dev_id);
	EXPECT_EQ(0x20, r.pasid);
	EXPECT_EQ(9, r.hwpt_id);
	EXPECT_EQ(0x1000, r.iova_first);
	EXPECT_EQ(0x1fff, r.iova_last);
	EXPECT_EQ(NESTIOMMU_ACCESS_WRITE | NESTIOMMU_ACCESS_PRIV, r.access);
	EXPECT_EQ(0, strcmp("vmm", r.comm));
	EXPECT_EQ(42, r.pid);
	EXPECT_EQ(3, r.after);
	EXPECT_EQ(2, r.every);
	EXPECT_EQ(5, r.times);
	EXPECT_EQ(0, r.nth);
	EXPECT_EQ(FI_PROB_ONE / 4, r.prob);

	r = parse_ok("at=page-response delay=250us pasid=none nth=4 prob=0.5");
	EXPECT_EQ(FI_ACT_DELAY, r.action);
	EXPECT_EQ(250, r.delay_us);
	EXPECT_EQ(0xffffffffU, r.pasid);
	EXPECT_EQ(4, r.nth);
	EXPECT_EQ(FI_PROB_ONE / 2, r.prob);

	/* No "when" words: every match injects. */
	r = parse_ok("at=invalidate drop cache=devtlb,pasid iova=0x5000");
	EXPECT_EQ(NESTIOMMU_INV_CACHE_DEV_IOTLB | NESTIOMMU_INV_CACHE_PASID,
		  r.cache);
	EXPECT_EQ(0x5000, r.iova_first);
	EXPECT_EQ(0x5000, r.iova_last);
	EXPECT_EQ(0, r.nth);
	EXPECT_EQ(0, r.every);
	EXPECT_EQ(0, r.after);
	EXPECT_EQ(0, r.times);
	EXPECT_EQ(FI_PROB_ONE, r.prob);

	r = parse_ok("at=map errno=ENOSPC ioas=3 iova=0-0xffffffffffffffff");
	EXPECT_EQ(ENOSPC, r.error);
	EXPECT_EQ(3, r.ioas_id);
	EXPECT_EQ(0xffffffffffffffffULL, r.iova_last);
}

TEST(canonical_text_of_filters_and_when)
{
	check_canonical("at=translate fault=access stage=1 access=priv,r dev=1 pasid=none "
			"iova=4096-8191 times=2 after=1 every=3 prob=0.125",
			"at=translate fault=access stage=1 dev=1 pasid=none "
			"iova=0x1000-0x1fff access=r,priv after=1 every=3 times=2 prob=0.125");
	check_canonical("at=page-request drop hwpt=4 access=w nth=1 comm=nestload",
			"at=page-request drop hwpt=4 access=w comm=nestload nth=1");
	check_canonical("at=invalidate errno=EINVAL cache=iotlb pasid=3 pid=100",
			"at=invalidate errno=EINVAL pasid=3 cache=iotlb pid=100");
}

/* @text is rejected with a message containing @why. */
static void check_bad(const char *text, const char *why)
{
	char err[FI_ERR_LEN] = "";
	struct fi_rule r;

	EXPECT_EQ(-1, fi_rule_parse(text, &r, err, sizeof(err)));
	if (!strstr(err, why))
		TH_LOG("rule '%s': said '%s', want '%s'", text, err, why);
	EXPECT_TRUE(strstr(err, why) != NULL);
	EXPECT_TRUE(strchr(err, '\n') == NULL);
}

TEST(malformed_words_are_named)
{
	check_bad("", "no at=");
	check_bad("fault=pte-fetch stage=1", "no at=");
	check_bad("at=translate", "no action for at=translate");
	check_bad("at=tranlate drop", "bad value in 'at=tranlate'");
	check_bad("at=", "'at=' has no value");
	check_bad("at=map at=map errno=EIO", "at= given twice");
	check_bad("at=map errno=EIO frob", "unknown word 'frob'");
	check_bad("at=map errno=EIO colour=red", "unknown word 'colour=red'");
	check_bad("at=map errno=EIO averyveryverylongkey=1",
		  "unknown word 'averyveryverylongkey=1'");
	check_bad("at=map errno=EFOO", "bad value in 'errno=EFOO'");
	check_bad("at=map errno=0", "bad value in 'errno=0'");
	check_bad("at=map errno=134", "bad value in 'errno=134'");
	check_bad("at=translate fault=gremlins stage=1",
		  "bad value in 'fault=gremlins'");
	check_bad("at=translate fault=unknown stage=1",
		  "bad value in 'fault=unknown'");
	check_bad("at=translate fault=pte-fetch", "needs stage=1 or stage=2");
	check_bad("at=translate fault=pte-fetch stage=3", "bad value in 'stage=3'");
	check_bad("at=translate fault=pte-fetch stage=0", "bad value in 'stage=0'");
	check_bad("at=translate fault=pte-fetch stage=1 level=6",
		  "bad value in 'level=6'");
	check_bad("at=translate page-request stage=1",
		  "stage= applies only with fault=");
	check_bad("at=translate fault=pte-fetch stage=1 stage=2",
		  "stage= given twice");
	check_bad("at=page-response code=maybe", "bad value in 'code=maybe'");
	check_bad("at=page-response delay=10", "bad value in 'delay=10'");
	check_bad("at=page-response delay=2s", "bad value in 'delay=2s'");
	check_bad("at=page-response delay=0us", "bad value in 'delay=0us'");
	check_bad("at=page-response delay=99999999999999999999s",
		  "bad value in 'delay=99999999999999999999s'");
	check_bad("at=fail-site site=nowhere", "bad value in 'site=nowhere'");
	check_bad("at=fail-site site=all", "bad value in 'site=all'");
	check_bad("at=fail-site site=pin site=area",
		  "'site=area' conflicts with 'site=pin': one action per rule");
	check_bad("at=fail-site", "no action for at=fail-site");
	check_bad("at=map site=pin", "'site=pin' does not apply at=map");
	check_bad("at=fail-site site=pin dev=1", "dev= does not apply at=fail-site");
	check_bad("at=fail-site site=pin iova=0x1000",
		  "iova= does not apply at=fail-site");
}

TEST(malformed_filters_are_named)
{
	check_bad("at=map errno=EIO ioas=x", "bad value in 'ioas=x'");
	check_bad("at=map errno=EIO ioas=-1", "bad value in 'ioas=-1'");
	check_bad("at=map errno=EIO ioas=4294967296",
		  "bad value in 'ioas=4294967296'");
	check_bad("at=translate page-request dev=1 dev=2", "dev= given twice");
	check_bad("at=translate page-request pasid=0x100000",
		  "bad value in 'pasid=0x100000'");
	check_bad("at=translate page-request pasid=rid",
		  "bad value in 'pasid=rid'");
	check_bad("at=translate page-request iova=0x2000-0x1000",
		  "FIRST must not exceed LAST");
	check_bad("at=translate page-request iova=0x1000-",
		  "bad value in 'iova=0x1000-'");
	check_bad("at=translate page-request iova=-0x1000",
		  "bad value in 'iova=-0x1000'");
	check_bad("at=translate page-request iova=0x10000000000000000",
		  "bad value in 'iova=0x10000000000000000'");
	check_bad("at=translate page-request access=rwx",
		  "bad value in 'access=rwx'");
	check_bad("at=translate page-request access=r,",
		  "bad value in 'access=r,'");
	check_bad("at=invalidate drop cache=l2", "bad value in 'cache=l2'");
	check_bad("at=map errno=EIO comm=abcdefghijklmnop",
		  "bad value in 'comm=abcdefghijklmnop'");
	check_bad("at=map errno=EIO pid=0", "bad value in 'pid=0'");
	/* A filter the hook point's event does not know. */
	check_bad("at=map errno=EIO dev=1", "dev= does not apply at=map");
	check_bad("at=map errno=EIO pasid=1", "pasid= does not apply at=map");
	check_bad("at=translate page-request ioas=1",
		  "ioas= does not apply at=translate");
	check_bad("at=translate page-request cache=iotlb",
		  "cache= does not apply at=translate");
	check_bad("at=page-response drop iova=0x1000",
		  "iova= does not apply at=page-response");
	check_bad("at=invalidate drop dev=1", "dev= does not apply at=invalidate");
}

TEST(malformed_when_and_conflicts_are_named)
{
	check_bad("at=map errno=EIO nth=0", "bad value in 'nth=0'");
	check_bad("at=map errno=EIO every=0", "bad value in 'every=0'");
	check_bad("at=map errno=EIO times=0", "bad value in 'times=0'");
	check_bad("at=map errno=EIO after=x", "bad value in 'after=x'");
	check_bad("at=map errno=EIO nth=2 nth=3", "nth= given twice");
	check_bad("at=map errno=EIO nth=2 every=3", "nth= conflicts with every=");
	check_bad("at=map errno=EIO nth=2 after=1", "nth= conflicts with after=");
	check_bad("at=map errno=EIO nth=2 times=1", "nth= conflicts with times=");
	check_bad("at=map errno=EIO prob=0", "bad value in 'prob=0'");
	check_bad("at=map errno=EIO prob=1.5", "bad value in 'prob=1.5'");
	check_bad("at=map errno=EIO prob=150%", "bad value in 'prob=150%'");
	check_bad("at=map errno=EIO prob=half", "bad value in 'prob=half'");
	check_bad("at=map errno=EIO prob=0.5 prob=0.5", "prob= given twice");
	/* Two actions, or one the hook point does not offer. */
	check_bad("at=page-response code=failure drop",
		  "'drop' conflicts with 'code=failure'");
	check_bad("at=translate fault=pte-fetch stage=1 page-request",
		  "'page-request' conflicts with 'fault=pte-fetch'");
	check_bad("at=invalidate drop errno=EIO",
		  "'errno=EIO' conflicts with 'drop'");
	check_bad("at=translate drop", "'drop' does not apply at=translate");
	check_bad("at=map drop", "'drop' does not apply at=map");
	check_bad("at=page-request code=success",
		  "'code=success' does not apply at=page-request");
	check_bad("at=invalidate delay=1ms",
		  "'delay=1ms' does not apply at=invalidate");
}

/* Write @text to a temporary file; return its path (static buffer). */
static const char *rules_file(const char *text, size_t len)
{
	static char path[] = "/tmp/fi_rules_XXXXXX";
	int fd;

	strcpy(path, "/tmp/fi_rules_XXXXXX");
	fd = mkstemp(path);
	ASSERT_LE(0, fd);
	ASSERT_EQ((ssize_t)len, write(fd, text, len));
	close(fd);
	return path;
}

TEST(rules_file_lines_and_comments)
{
	static const char text[] =
		"# QA scenario 7\n"
		"\n"
		"at=page-response code=failure pasid=3 nth=2   # the second answer\n"
		"   at=map errno=ENOMEM times=1\n"
		"\t# done\n";
	struct fi_rules set = { .nr = 0 };
	const char *path = rules_file(text, sizeof(text) - 1);
	char err[FI_ERR_LEN] = "";

	ASSERT_EQ(0, fi_rules_load(&set, path, err, sizeof(err)));
	ASSERT_EQ(2, set.nr);
	EXPECT_EQ(FI_AT_PAGE_RESPONSE, set.rule[0].at);
	EXPECT_EQ(2, set.rule[0].nth);
	EXPECT_EQ(0, strcmp("at=page-response code=failure pasid=3 nth=2",
			    set.text[0]));
	EXPECT_EQ(FI_AT_MAP, set.rule[1].at);
	EXPECT_EQ(0, strcmp("at=map errno=ENOMEM times=1", set.text[1]));
	fi_rules_free(&set);
	unlink(path);
}

TEST(rules_file_errors_name_file_line_and_rule)
{
	static const char bad[] = "at=map errno=EIO\n# fine\nat=map errno=EIO nth=x\n";
	static const char nul[] = "at=map errno=EIO\nat=map\0 errno=EIO\n";
	struct fi_rules set = { .nr = 0 };
	char err[FI_ERR_LEN] = "", want[FI_ERR_LEN];
	const char *path = rules_file(bad, sizeof(bad) - 1);

	ASSERT_EQ(-1, fi_rules_load(&set, path, err, sizeof(err)));
	snprintf(want, sizeof(want),
		 "%s:3: rule 'at=map errno=EIO nth=x': bad value in 'nth=x': a count from 1",
		 path);
	if (strcmp(want, err))
		TH_LOG("said '%s', want '%s'", err, want);
	EXPECT_EQ(0, strcmp(want, err));
	fi_rules_free(&set);
	unlink(path);

	path = rules_file(nul, sizeof(nul) - 1);
	ASSERT_EQ(-1, fi_rules_load(&set, path, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s:2: not text (a NUL byte)", path);
	EXPECT_EQ(0, strcmp(want, err));
	fi_rules_free(&set);
	unlink(path);

	ASSERT_EQ(-1, fi_rules_load(&set, "/nonexistent/rules", err, sizeof(err)));
	EXPECT_EQ(0, strcmp("/nonexistent/rules: No such file or directory", err));
}

TEST(at_most_max_rules)
{
	struct fi_rules set = { .nr = 0 };
	char err[FI_ERR_LEN] = "";
	unsigned int i;

	for (i = 0; i < FI_MAX_RULES; i++)
		ASSERT_EQ(0, fi_rules_add(&set, "at=map errno=EIO", "rule", err,
					  sizeof(err)));
	ASSERT_EQ(-1, fi_rules_add(&set, "at=map errno=EIO", "rule 65", err,
				   sizeof(err)));
	EXPECT_EQ(0, strcmp("rule 65: rule 'at=map errno=EIO': more than 64 rules",
			    err));
	EXPECT_EQ(FI_MAX_RULES, set.nr);
	fi_rules_free(&set);
}

TEST_HARNESS_MAIN

// SPDX-License-Identifier: GPL-2.0
/*
 * recording_test - host unit tests of faultinject's recording format:
 * every kind of event written and read back to the same event, the header
 * and its lost line rewritten in place, hand-written lines with only the
 * keys replay needs, and every malformed file (missing or wrong header,
 * truncated, unknown event or key, bad or missing value) rejected with
 * "FILE:LINE: WHY" naming the bad word. KTAP output
 * (selftests/lib/harness.h), run by selftests/test_faultinject_replay.py.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "nestiommu.h"
#include "recording.h"

static const char *tmp_file(const char *text)
{
	static char path[] = "/tmp/fi_rec_XXXXXX";
	size_t len = strlen(text);
	int fd;

	strcpy(path, "/tmp/fi_rec_XXXXXX");
	fd = mkstemp(path);
	ASSERT_LE(0, fd);
	ASSERT_EQ((ssize_t)len, write(fd, text, len));
	close(fd);
	return path;
}

#define HEADER "version 1\nkernel 6.1.0-test\nmodule btf-0123\nlost 0\n"

/* @text must be rejected with "PATH:@want". */
static void check_bad(const char *text, const char *want)
{
	struct fi_recording rec;
	char err[FI_REC_ERR_LEN] = "", full[FI_REC_ERR_LEN + 64];
	const char *path = tmp_file(text);

	ASSERT_EQ(-1, fi_rec_load(&rec, path, err, sizeof(err)));
	snprintf(full, sizeof(full), "%s:%s", path, want);
	if (strcmp(full, err))
		TH_LOG("got '%s', want '%s'", err, full);
	EXPECT_EQ(0, strcmp(full, err));
	EXPECT_EQ(0, rec.nr);
	unlink(path);
}

static const struct fi_rec_event samples[] = {
	{ .kind = FI_REC_FAULT, .id1 = 1, .id2 = 0, .hwpt_id = 3, .pos = 12,
	  .addr = 0x40000000000ULL, .access = NESTIOMMU_ACCESS_WRITE,
	  .reason = NESTIOMMU_FAULT_REASON_PTE_FETCH, .stage = 1, .level = 2 },
	{ .kind = FI_REC_FAULT, .id1 = 2, .id2 = NESTIOMMU_PASID_NONE,
	  .pos = 0, .addr = 0x1000, .access = NESTIOMMU_ACCESS_READ,
	  .reason = NESTIOMMU_FAULT_REASON_PASID_INVALID, .stage = 1,
	  .injected = 0 },
	{ .kind = FI_REC_FAULT, .id1 = 1, .id2 = 7, .hwpt_id = 3, .pos = 5,
	  .reason = NESTIOMMU_FAULT_REASON_PERMISSION, .stage = 2,
	  .injected = 1 },
	{ .kind = FI_REC_PAGE_REQUEST, .id1 = 1, .id2 = 2, .hwpt_id = 4,
	  .pos = 3, .xpos = 40, .grpid = 5, .addr = 0x7000, .npages = 2,
	  .access = NESTIOMMU_ACCESS_READ | NESTIOMMU_ACCESS_WRITE,
	  .cookie = 99, .injected = NEST_PR_INJ_FORCED | NEST_PR_INJ_DROPPED },
	{ .kind = FI_REC_PAGE_RESPONSE, .id1 = 1, .id2 = 2, .pos = 3,
	  .grpid = 5, .cookie = 99, .code = NESTIOMMU_PAGE_RESP_FAILURE,
	  .by = FI_BY_USER, .latency_ns = 25000000, .delay_us = 20000,
	  .injected = NEST_RESP_INJ_CODE | NEST_RESP_INJ_DELAYED },
	{ .kind = FI_REC_PAGE_RESPONSE, .id1 = 1, .id2 = 2, .pos = 4,
	  .code = NESTIOMMU_PAGE_RESP_INVALID, .by = FI_BY_TIMEOUT,
	  .latency_ns = 100000000 },
	{ .kind = FI_REC_INVALIDATE, .id1 = 6, .pos = 10, .drop = 1,
	  .injected = 1 },
	{ .kind = FI_REC_INVALIDATE, .id1 = 6, .pos = 11, .error = 5,
	  .injected = 1 },
	{ .kind = FI_REC_MAP, .id1 = 2, .pos = 3, .addr = 0x100000,
	  .length = 0x2000, .error = 12, .injected = 1 },
	{ .kind = FI_REC_FAIL_SITE, .id1 = 7, .pos = 1, .error = 12,
	  .injected = 1 },
};

static const char *const sample_lines[] = {
	"fault dev=1 pasid=0 hwpt=3 pos=12 iova=0x40000000000 access=w reason=pte-fetch stage=1 level=2 origin=organic",
	"fault dev=2 pasid=none pos=- iova=0x1000 access=r reason=pasid-invalid stage=1 level=0 origin=organic",
	"fault dev=1 pasid=7 hwpt=3 pos=5 iova=0x0 access=- reason=permission stage=2 level=0 origin=injected",
	"page-request dev=1 pasid=2 hwpt=4 pos=3 xpos=40 grpid=5 addr=0x7000 pages=2 perm=r,w cookie=99 inj=forced,dropped",
	"page-response dev=1 pasid=2 pos=3 grpid=5 code=failure by=user latency=25000us delay=20000us cookie=99 inj=code,delayed",
	"page-response dev=1 pasid=2 pos=4 grpid=0 code=invalid by=timeout latency=100000us cookie=0 inj=none",
	"invalidate hwpt=6 pos=10 drop=1",
	"invalidate hwpt=6 pos=11 errno=EIO",
	"map ioas=2 pos=3 iova=0x100000 length=0x2000 errno=ENOMEM origin=injected",
	"fail-site site=pin_pages pos=1 errno=ENOMEM",
};

TEST(every_kind_reads_back)
{
	struct fi_recording rec;
	char err[FI_REC_ERR_LEN] = "", line[512];
	char path[] = "/tmp/fi_rec_XXXXXX";
	long lost_at;
	int fd, rc;
	size_t i;
	FILE *f;

	fd = mkstemp(path);
	ASSERT_LE(0, fd);
	f = fdopen(fd, "w");
	ASSERT_TRUE(f != NULL);
	ASSERT_EQ(0, fi_rec_write_header(f, "6.1.0-test", "btf-0123",
					 &lost_at));
	for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		fi_rec_format(&samples[i], fi_rec_all_keys(samples[i].kind),
			      line, sizeof(line));
		if (strcmp(sample_lines[i], line))
			TH_LOG("event %zu: '%s', want '%s'", i, line,
			       sample_lines[i]);
		EXPECT_EQ(0, strcmp(sample_lines[i], line));
		fprintf(f, "%s\n", line);
	}
	/* Losses found at the end are written into the header. */
	ASSERT_EQ(0, fi_rec_finish(f, lost_at, 12345678901ULL));
	fclose(f);

	rc = fi_rec_load(&rec, path, err, sizeof(err));
	if (rc)
		TH_LOG("%s", err);
	ASSERT_EQ(0, rc);
	EXPECT_EQ(1, rec.version);
	EXPECT_EQ(0, strcmp("6.1.0-test", rec.kernel));
	EXPECT_EQ(0, strcmp("btf-0123", rec.module));
	EXPECT_EQ(12345678901ULL, rec.lost);
	ASSERT_EQ(sizeof(samples) / sizeof(samples[0]), rec.nr);
	for (i = 0; i < rec.nr; i++) {
		struct fi_rec_event e = samples[i];

		EXPECT_EQ(6 + i, rec.line[i].lineno);
		fi_rec_format(&rec.line[i].ev, rec.line[i].keys, line,
			      sizeof(line));
		EXPECT_EQ(0, strcmp(sample_lines[i], line));
		EXPECT_EQ(e.kind, rec.line[i].ev.kind);
		EXPECT_EQ(e.id1, rec.line[i].ev.id1);
		EXPECT_EQ(e.id2, rec.line[i].ev.id2);
		EXPECT_EQ(e.pos, rec.line[i].ev.pos);
		EXPECT_EQ(e.xpos, rec.line[i].ev.xpos);
		EXPECT_EQ(e.injected, rec.line[i].ev.injected);
		EXPECT_EQ(e.error, rec.line[i].ev.error);
		EXPECT_EQ(e.code, rec.line[i].ev.code);
		EXPECT_EQ(e.reason, rec.line[i].ev.reason);
	}
	fi_rec_free(&rec);
	unlink(path);
}

/* A line longer than the buffer is cut, never overrun. */
TEST(long_line_is_cut)
{
	char line[16 + 2];
	size_t i;

	for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		memset(line, 'X', sizeof(line));
		fi_rec_format(&samples[i], fi_rec_all_keys(samples[i].kind),
			      line, sizeof(line) - 1);
		EXPECT_EQ(0, strncmp(sample_lines[i], line, strlen(line)));
		EXPECT_EQ(sizeof(line) - 2, strlen(line));
		EXPECT_EQ('X', line[sizeof(line) - 1]);
	}
}

TEST(hand_written_lines_need_only_what_replay_uses)
{
	struct fi_recording rec;
	char err[FI_REC_ERR_LEN] = "";
	const char *path = tmp_file(
		"# crafted by QA\n" HEADER
		"\n"
		"fault dev=1 pasid=2 pos=7 reason=PTE_FETCH stage=1 origin=injected   \n"
		"  page-response dev=1 pasid=none pos=2 code=FAILURE by=user inj=code\n"
		"# the end\n"
		"end\n");
	int rc = fi_rec_load(&rec, path, err, sizeof(err));

	if (rc)
		TH_LOG("%s", err);
	ASSERT_EQ(0, rc);
	ASSERT_EQ(2, rec.nr);
	EXPECT_EQ(FI_REC_FAULT, rec.line[0].ev.kind);
	EXPECT_EQ(NESTIOMMU_FAULT_REASON_PTE_FETCH, rec.line[0].ev.reason);
	EXPECT_EQ(7, rec.line[0].ev.pos);
	EXPECT_EQ(7, rec.line[0].lineno);
	EXPECT_EQ(NESTIOMMU_PASID_NONE, rec.line[1].ev.id2);
	EXPECT_EQ(NESTIOMMU_PAGE_RESP_FAILURE, rec.line[1].ev.code);
	EXPECT_EQ(NEST_RESP_INJ_CODE, rec.line[1].ev.injected);
	fi_rec_free(&rec);
	unlink(path);
}

TEST(bad_header)
{
	check_bad("", "1: missing header: not a faultinject recording (no 'version' line)");
	check_bad("kernel 6.1\n", "1: missing header: 'version 1' must come first");
	check_bad("version 2\nkernel x\n", "1: unsupported version '2' (this faultinject reads 1)");
	check_bad("version one\n", "1: unsupported version 'one' (this faultinject reads 1)");
	check_bad("version 1\nversion 1\n", "2: 'version' given twice");
	check_bad("version 1\nkernel\n", "2: 'kernel' without a value");
	check_bad("version 1\nkernel x\nmodule y\nlost many\n", "4: bad value in 'lost many'");
	check_bad("version 1\nkernel x\nmodule y\nmap ioas=1 pos=1 errno=EIO origin=injected\nend\n",
		  "4: missing header: 'lost' before the event 'map ioas=1 pos=1 errno=EIO origin=injected'");
	check_bad("version 1\nkernel x\nlost 0\nend\n", "5: missing header: no 'module' line");
	check_bad("garbage\n", "1: missing header: 'version' before the event 'garbage'");
}

TEST(truncated)
{
	check_bad(HEADER "fault dev=1 pasid=0 pos=1 reason=permission stage=2 origin=injected\n",
		  "6: truncated: no 'end' line");
	check_bad(HEADER "fault dev=1 pasid=0 pos=1 reason=perm",
		  "5: truncated: the last line has no newline");
	check_bad(HEADER "end\nfault dev=1 pasid=0 pos=1 reason=permission stage=2 origin=injected\n",
		  "6: 'fault dev=1 pasid=0 pos=1 reason=permission stage=2 origin=injected' after 'end'");
}

TEST(bad_events)
{
	check_bad(HEADER "faults dev=1\nend\n",
		  "5: unknown event 'faults' (fault, page-request, page-response, invalidate, map, fail-site)");
	check_bad(HEADER "fault dev=1 pasid=0 pos=1 reason=permission stage=2 origin=injected color=red\nend\n",
		  "5: unknown key 'color' for fault");
	check_bad(HEADER "map ioas=1 pos=1 errno=EIO origin=injected code=success\nend\n",
		  "5: unknown key 'code' for map");
	check_bad(HEADER "fault dev=1 pasid=0 pos=1 reason=permission stage=3 origin=injected\nend\n",
		  "5: bad value in 'stage=3'");
	check_bad(HEADER "fault dev=1 pasid=0 pos=1 reason=bogus stage=1 origin=injected\nend\n",
		  "5: bad value in 'reason=bogus'");
	check_bad(HEADER "fault dev=1 pasid=0 pos=0 reason=permission stage=1 origin=injected\nend\n",
		  "5: bad value in 'pos=0'");
	check_bad(HEADER "fault dev=x pasid=0 pos=1 reason=permission stage=1 origin=injected\nend\n",
		  "5: bad value in 'dev=x'");
	check_bad(HEADER "fault dev=1 pasid=0 pos=1 reason=permission stage=1 origin=maybe\nend\n",
		  "5: bad value in 'origin=maybe'");
	check_bad(HEADER "fault dev=1 pasid=0 pos=1 reason=permission stage=1 origin=injected level=6\nend\n",
		  "5: bad value in 'level=6'");
	check_bad(HEADER "page-response dev=1 pasid=0 pos=1 code=maybe by=user inj=none\nend\n",
		  "5: bad value in 'code=maybe'");
	check_bad(HEADER "page-response dev=1 pasid=0 pos=1 code=success by=kernel inj=none\nend\n",
		  "5: bad value in 'by=kernel'");
	check_bad(HEADER "page-response dev=1 pasid=0 pos=1 code=success by=user inj=code,\nend\n",
		  "5: bad value in 'inj=code,'");
	check_bad(HEADER "page-response dev=1 pasid=0 pos=1 code=success by=user delay=20ms inj=delayed\nend\n",
		  "5: bad value in 'delay=20ms'");
	check_bad(HEADER "page-request dev=1 pasid=0 pos=1 inj=dropped,lost\nend\n",
		  "5: bad value in 'inj=dropped,lost'");
	check_bad(HEADER "map ioas=1 pos=1 errno=EBOGUS origin=injected\nend\n",
		  "5: bad value in 'errno=EBOGUS'");
	check_bad(HEADER "fault dev=1 pasid=0 pos=1 pos=2 reason=permission stage=1 origin=injected\nend\n",
		  "5: 'pos=' given twice");
	check_bad(HEADER "fault dev=1 pasid=0 reason=permission stage=1 origin=injected\nend\n",
		  "5: fault without pos=");
	check_bad(HEADER "page-response dev=1 pasid=0 pos=1 by=user inj=none\nend\n",
		  "5: page-response without code=");
	check_bad(HEADER "invalidate hwpt=1 pos=1\nend\n",
		  "5: invalidate needs one of drop=1 and errno=");
	check_bad(HEADER "invalidate hwpt=1 pos=1 drop=1 errno=EIO\nend\n",
		  "5: invalidate needs one of drop=1 and errno=");
	check_bad(HEADER "page-request dev=1 pasid=0 pos=1 inj=forced\nend\n",
		  "5: page-request inj=forced without xpos=");
	check_bad(HEADER "fault dev=1 pasid=0 pos=1 reason permission\nend\n",
		  "5: 'reason' is not key=value");
}

TEST(missing_file)
{
	struct fi_recording rec;
	char err[FI_REC_ERR_LEN] = "";

	ASSERT_EQ(-1, fi_rec_load(&rec, "/nonexistent/rec", err, sizeof(err)));
	EXPECT_EQ(0, strcmp("/nonexistent/rec: No such file or directory", err));
}

TEST_HARNESS_MAIN

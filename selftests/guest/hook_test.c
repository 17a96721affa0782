// SPDX-License-Identifier: GPL-2.0
/*
 * BPF hook points: a BPF program (bpf/hook_inject.bpf.c, attached as
 * raw_tp.w to nestiommu:nest_hook_translate, nest_hook_invalidate, nest_hook_map,
 * nest_hook_page_request and nest_hook_page_response) writes the driver's
 * decisions, and the driver
 *  - honours a valid one: a translation faults with the injected reason
 *    and stage (and level, 0 unless given; NESTIOMMU_FAULT_F_INJECTED,
 *    counted in injected_faults and faults[][]), an invalidation entry is dropped
 *    (reported done, the stale translation stays) or fails with the errno
 *    (entry_num = its index), an IOAS_MAP fails with the errno before
 *    pinning anything; a PRI device's DMA sends a page request for a page
 *    that is there (page_request), a page request group is lost, queued
 *    twice or sent without LAST_PAGE, a page response gets another code,
 *    is lost or arrives late;
 *  - rejects an out-of-range one: the operation goes on as if no program
 *    were there, and hook_rejected counts it;
 *  - is organic again once the program is detached.
 * The hooks see the request (IDs, PASID, access, addresses, cookies) and
 * start every decision zeroed. Injected outcomes are counted per device
 * (injected_*) and marked in the ordinary tracepoints (fault,
 * invalidate, page_request, page_response) and in fault-queue records.
 *
 * The cases are in one file per story: hook_xlate.c (nest_hook_translate and
 * the marks of its faults), hook_map_inval.c (nest_hook_invalidate, nest_hook_map)
 * hook_pri.c (page requests and responses) and hook_fail.c (failure
 * sites); this file loads and attaches the programs (hook_test.h).
 *
 * Needs root (BPF) and the module with BTF; skips only where the kernel
 * has no writable raw tracepoints (BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE).
 */
#include "hook_test.h"

/* ==== loading and attaching ==== */

/* libbpf's warnings (a verifier log, say) as KTAP diagnostic lines. */
static int hook_libbpf_print(enum libbpf_print_level level, const char *fmt,
			     va_list ap)
{
	char *msg, *line, *save = NULL;

	if (level == LIBBPF_DEBUG || vasprintf(&msg, fmt, ap) < 0)
		return 0;
	for (line = strtok_r(msg, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		harness_diag("libbpf: %s", line);
	free(msg);
	return 0;
}

/*
 * Open and load hook_inject (the tp_btf programs that count the marks in
 * the ordinary events only if @marks); skip when the kernel cannot run
 * writable raw tracepoint programs at all.
 */
static struct hook_inject_bpf *hooks_load(bool marks)
{
	struct hook_inject_bpf *skel;
	int rc;

	libbpf_set_print(hook_libbpf_print);
	rc = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE, NULL);
	if (rc == 0)
		SKIP("the kernel has no writable raw tracepoints (BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE, Linux 5.2+)");
	if (rc < 0)
		TH_LOG("probing BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE: %s (not root?)",
		       strerror(-rc));
	ASSERT_EQ(1, rc);
	skel = hook_inject_bpf__open();
	if (!skel)
		TH_LOG("hook_inject_bpf__open: %s", strerror(errno));
	ASSERT_NE(NULL, (void *)skel);
	ASSERT_OK(bpf_program__set_autoload(skel->progs.fault_mark_prog, marks));
	ASSERT_OK(bpf_program__set_autoload(skel->progs.inv_mark_prog, marks));
	ASSERT_OK(bpf_program__set_autoload(skel->progs.pr_mark_prog, marks));
	ASSERT_OK(bpf_program__set_autoload(skel->progs.resp_mark_prog, marks));
	ASSERT_OK(bpf_program__set_autoload(skel->progs.map_mark_prog, marks));
	rc = hook_inject_bpf__load(skel);
	if (rc)
		TH_LOG("loading hook_inject: %s (module BTF missing? /sys/kernel/btf/nestiommu)",
		       strerror(-rc));
	ASSERT_OK(rc);
	return skel;
}

void hook_attach(struct bpf_program *prog, struct bpf_link **link,
			const char *event)
{
	*link = bpf_program__attach(prog);
	if (!*link)
		TH_LOG("attaching %s to %s: %s (a module without BPF hook points?)",
		       bpf_program__name(prog), event, strerror(errno));
	ASSERT_NE(NULL, (void *)*link);
}

/*
 * Attach all five hooks (each does nothing until its block is enabled),
 * and with @marks the programs counting the marks of nestiommu:nest_fault,
 * invalidate, page_request and page_response.
 */
struct hook_inject_bpf *hooks_setup(bool marks)
{
	struct hook_inject_bpf *skel = hooks_load(marks);

	hook_attach(skel->progs.hook_translate, &skel->links.hook_translate,
		    "nestiommu:nest_hook_translate");
	hook_attach(skel->progs.hook_invalidate, &skel->links.hook_invalidate,
		    "nestiommu:nest_hook_invalidate");
	hook_attach(skel->progs.hook_map, &skel->links.hook_map, "nestiommu:nest_hook_map");
	hook_attach(skel->progs.hook_page_request, &skel->links.hook_page_request,
		    "nestiommu:nest_hook_page_request");
	hook_attach(skel->progs.hook_page_response, &skel->links.hook_page_response,
		    "nestiommu:nest_hook_page_response");
	if (marks) {
		hook_attach(skel->progs.fault_mark_prog, &skel->links.fault_mark_prog,
			    "nestiommu:nest_fault (tp_btf)");
		hook_attach(skel->progs.inv_mark_prog, &skel->links.inv_mark_prog,
			    "nestiommu:nest_invalidate (tp_btf)");
		hook_attach(skel->progs.pr_mark_prog, &skel->links.pr_mark_prog,
			    "nestiommu:nest_page_request (tp_btf)");
		hook_attach(skel->progs.resp_mark_prog, &skel->links.resp_mark_prog,
			    "nestiommu:nest_page_response (tp_btf)");
		hook_attach(skel->progs.map_mark_prog, &skel->links.map_mark_prog,
			    "nestiommu:nest_map_error (tp_btf)");
	}
	skel->bss->translate.tgid = getpid();
	skel->bss->invalidate.tgid = getpid();
	skel->bss->map.tgid = getpid();
	skel->bss->map_mark.tgid = getpid();
	/* Page requests are sent, and responses written, by this process too. */
	skel->bss->page_request.tgid = getpid();
	skel->bss->page_response.tgid = getpid();
	return skel;
}

void hook_detach(struct bpf_link **link)
{
	ASSERT_OK(bpf_link__destroy(*link));
	*link = NULL;
}

/* Every decision reached the programs zeroed. */
void hooks_teardown(struct hook_inject_bpf *skel)
{
	if (!skel)
		return;
	EXPECT_EQ(0, skel->bss->translate.dirty);
	EXPECT_EQ(0, skel->bss->invalidate.dirty);
	EXPECT_EQ(0, skel->bss->map.dirty);
	EXPECT_EQ(0, skel->bss->page_request.dirty);
	EXPECT_EQ(0, skel->bss->page_response.dirty);
	hook_inject_bpf__destroy(skel);
}

/* ==== statistics ==== */

struct nestiommu_xlate_stats xstats(struct nest_env *e, __u32 id, __u32 type)
{
	struct nestiommu_xlate_stats st;

	do_xlate_stats(e->fd, id, type, &st);
	return st;
}

__u64 faults_sum(const struct nestiommu_xlate_stats *st)
{
	__u64 n = 0;
	int s, r;

	for (s = 0; s < 2; s++)
		for (r = 0; r < NESTIOMMU_FAULT_REASON_SLOTS; r++)
			n += st->faults[s][r];
	return n;
}

struct nestiommu_ioas_stats istats(int fd, __u32 ioas)
{
	struct nestiommu_ioas_stats st;

	do_ioas_stats(fd, ioas, &st);
	return st;
}

TEST_HARNESS_MAIN

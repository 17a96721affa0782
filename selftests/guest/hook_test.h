/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the files of hook_test share (hook_test.c defines it): loading
 * bpf/hook_inject.bpf.c and attaching its programs to the hook points,
 * and the statistics the cases read.
 */
#ifndef HOOK_TEST_H
#define HOOK_TEST_H

#include <bpf/libbpf.h>

#include "pri_job.h"
#include "hook_inject.h"
#include "hook_inject.skel.h"

/* The largest errno a hook may inject: NEST_HOOK_MAX_ERRNO of kernel/hooks.h. */
#define HOOK_MAX_ERRNO	EHWPOISON
_Static_assert(EHWPOISON == 133, "kernel/hooks.h: NEST_HOOK_MAX_ERRNO is 133");
/* Room for the steps of any walk TRANSLATE reports. */
#define XL_STEPS	32

/*
 * Open and load hook_inject (with @marks: also the tp_btf programs that
 * count the marks in the ordinary events), attach all five hooks, each
 * doing nothing until its block is enabled, and those programs; skip when
 * the kernel cannot run writable raw tracepoint programs at all.
 */
struct hook_inject_bpf *hooks_setup(bool marks);
/* Check that every decision reached the programs zeroed; destroy @skel. */
void hooks_teardown(struct hook_inject_bpf *skel);
void hook_attach(struct bpf_program *prog, struct bpf_link **link,
		 const char *event);
void hook_detach(struct bpf_link **link);

struct nestiommu_xlate_stats xstats(struct nest_env *e, __u32 id, __u32 type);
/* All the faults counted in @st->faults[][]. */
__u64 faults_sum(const struct nestiommu_xlate_stats *st);
struct nestiommu_ioas_stats istats(int fd, __u32 ioas);

#endif /* HOOK_TEST_H */

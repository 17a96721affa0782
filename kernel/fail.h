/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Failure sites (enum nestiommu_fail_site): every call of the driver that
 * can fail for resources asks nest_fail_site() first, so a BPF program on
 * nest_hook_fail_site can make it fail on stock kernels. With no program
 * attached the check is the tracepoint's static key and nothing else.
 */
#ifndef NEST_FAIL_H
#define NEST_FAIL_H

#include "trace.h"

bool __nest_fail_site(enum nestiommu_fail_site site);

/* Should the call at @site fail? Counted and traced when it should. */
static inline bool nest_fail_site(enum nestiommu_fail_site site)
{
	return trace_nest_hook_fail_site_enabled() && __nest_fail_site(site);
}

void nest_fail_debugfs_init(struct dentry *root);

#endif /* NEST_FAIL_H */

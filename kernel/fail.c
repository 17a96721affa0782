// SPDX-License-Identifier: GPL-2.0
/*
 * Failure sites: the nest_hook_fail_site hook point, its module-wide
 * counters and their debugfs files.
 */
#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/sched.h>
#include <linux/seq_file.h>

#include "fail.h"

/* Each site's name, as nest_fail_site prints it, for debugfs. */
static const struct trace_print_flags nest_fail_site_names[] = {
	NEST_FAIL_SITE_NAMES
};
static_assert(ARRAY_SIZE(nest_fail_site_names) == NESTIOMMU_FAIL_SITE_COUNT);

static atomic64_t nest_fail_injected[NESTIOMMU_FAIL_SITE_COUNT];
static atomic64_t nest_fail_rejected;

/**
 * __nest_fail_site() - ask nest_hook_fail_site whether a call fails
 * @site: where the caller is
 *
 * Use nest_fail_site(), which calls this only while a program is attached.
 *
 * Return: true if the caller must fail with the site's errno (enum
 * nestiommu_fail_site).
 */
bool __nest_fail_site(enum nestiommu_fail_site site)
{
	struct nest_hook_fail_site d = {
		.site = site,
		.pid = task_tgid_nr(current),
	};

	trace_nest_hook_fail_site(&d);
	if (!d.fail)
		return false;
	if (d.fail != 1) {
		atomic64_inc(&nest_fail_rejected);
		return false;
	}
	atomic64_inc(&nest_fail_injected[site]);
	/* Every site fails as an allocation without memory would. */
	trace_nest_fail_site(site, d.pid, -ENOMEM);
	return true;
}

/* One "name count" line per site: the failures injected there. */
static int nest_fail_sites_show(struct seq_file *m, void *unused)
{
	int i;

	/* NEST_FAIL_SITE_NAMES is in enum order (hook_fail.c checks). */
	for (i = 0; i < NESTIOMMU_FAIL_SITE_COUNT; i++)
		seq_printf(m, "%s %lld\n", nest_fail_site_names[i].name,
			   atomic64_read(&nest_fail_injected[i]));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(nest_fail_sites);

static int nest_fail_rejected_get(void *data, u64 *val)
{
	*val = atomic64_read(&nest_fail_rejected);
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(nest_fail_rejected_fops, nest_fail_rejected_get,
			 NULL, "%llu\n");

/**
 * nest_fail_debugfs_init() - create fail_sites and fail_site_rejected
 * @root: the module's debugfs directory
 */
void nest_fail_debugfs_init(struct dentry *root)
{
	debugfs_create_file("fail_sites", 0400, root, NULL,
			    &nest_fail_sites_fops);
	debugfs_create_file_unsafe("fail_site_rejected", 0400, root, NULL,
				   &nest_fail_rejected_fops);
}

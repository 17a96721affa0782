// SPDX-License-Identifier: GPL-2.0
/*
 * The memory services the core's stage-2 tables and walks use
 * (struct nest_mem_ops): table pages, and the walker's accessors of the
 * memory a walk reads PTEs from and sets A/D and dirty bits in.
 *
 * The walker only passes ofns that stage 2 returned: pfns of pages the
 * IOAS pinned. A page stays pinned while the walk runs because the
 * translation step holds the IOAS's iova_rwsem for read (nest_xlate_begin()
 * in xlate.c), and UNMAP, which unpins, takes it for write. So the
 * accessors map and touch the page with no reference of their own.
 */
#include <linux/highmem.h>

#include "fail.h"
#include "nest_priv.h"

static void *nest_s2_table_alloc(void *priv)
{
	if (nest_fail_site(NESTIOMMU_FAIL_SITE_S2_TABLE))
		return NULL;
	return (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
}

static void nest_s2_table_free(void *priv, void *table)
{
	free_page((unsigned long)table);
}

/* A PTE, read once: user space may rewrite its tables at any time. */
static int nest_mem_read_u64(void *priv, u64 ofn, u32 offset, u64 *val)
{
	u64 *p = kmap_local_pfn(ofn);

	*val = READ_ONCE(p[offset / sizeof(u64)]);
	kunmap_local(p);
	return 0;
}

/* Set A/D or dirty bits without losing a concurrent user write. */
static int nest_mem_cmpxchg_u64(void *priv, u64 ofn, u32 offset, u64 old,
				u64 new, u64 *cur)
{
	u64 *p = kmap_local_pfn(ofn);

	*cur = cmpxchg64(&p[offset / sizeof(u64)], old, new);
	kunmap_local(p);
	return 0;
}

const struct nest_mem_ops nest_mem_ops = {
	.alloc_table = nest_s2_table_alloc,
	.free_table = nest_s2_table_free,
	.read_u64 = nest_mem_read_u64,
	.cmpxchg_u64 = nest_mem_cmpxchg_u64,
};

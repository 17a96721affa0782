// SPDX-License-Identifier: GPL-2.0
/*
 * Pinning user pages for DMA and charging them to locked memory.
 *
 * Pages are pinned FOLL_LONGTERM (they stay pinned for as long as they are
 * mapped) and charged to the mapping process's mm->locked_vm, which is what
 * RLIMIT_MEMLOCK limits (account_locked_vm() lets CAP_IPC_LOCK through,
 * like VFIO). The charge is returned to the same mm on unpin, whichever
 * process drops the last reference to the mapping.
 */
#include <linux/atomic.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "nest_priv.h"

/* Pages pinned by every context; read through debugfs. */
static atomic64_t nest_pages_pinned = ATOMIC64_INIT(0);

/* pin_user_pages_fast() takes an int count: pin in bounded chunks. */
#define NEST_PIN_CHUNK 512UL

/**
 * nest_pages_pin() - pin an area's user pages and charge them
 * @area: user_va, npages and prot set; fills pages and mm
 *
 * Return: 0, -ENOMEM (no memory or over RLIMIT_MEMLOCK) or -EFAULT (some
 * page is not mapped with the access @area->prot needs). On error
 * nothing stays pinned or charged.
 */
int nest_pages_pin(struct nest_area *area)
{
	unsigned int gup_flags = FOLL_LONGTERM;
	unsigned long done = 0;
	int rc;

	if (area->prot & NESTIOMMU_IOAS_MAP_WRITEABLE)
		gup_flags |= FOLL_WRITE;

	/* A huge length is user input, not a driver bug: no warning. */
	area->pages = kvcalloc(area->npages, sizeof(*area->pages),
			       GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!area->pages)
		return -ENOMEM;

	rc = account_locked_vm(current->mm, area->npages, true);
	if (rc)
		goto out_free_pages;

	while (done < area->npages) {
		unsigned long n = min(area->npages - done, NEST_PIN_CHUNK);

		rc = pin_user_pages_fast(area->user_va + (done << PAGE_SHIFT),
					 n, gup_flags, area->pages + done);
		if (rc <= 0) {
			rc = rc ?: -EFAULT;
			goto out_unpin;
		}
		done += rc;
		cond_resched();
	}

	area->mm = current->mm;
	mmgrab(area->mm);
	atomic64_add(area->npages, &nest_pages_pinned);
	return 0;

out_unpin:
	unpin_user_pages(area->pages, done);
	account_locked_vm(current->mm, area->npages, false);
out_free_pages:
	kvfree(area->pages);
	area->pages = NULL;
	return rc;
}

/**
 * nest_pages_unpin() - unpin an area's pages and return the charge
 * @area: an area whose nest_pages_pin() succeeded
 *
 * Pages a device could write are marked dirty so the data is not lost.
 */
void nest_pages_unpin(struct nest_area *area)
{
	unpin_user_pages_dirty_lock(area->pages, area->npages,
				    area->prot & NESTIOMMU_IOAS_MAP_WRITEABLE);
	atomic64_sub(area->npages, &nest_pages_pinned);

	/* An mm whose process has exited has no locked_vm to return to. */
	if (mmget_not_zero(area->mm)) {
		account_locked_vm(area->mm, area->npages, false);
		mmput(area->mm);
	}
	mmdrop(area->mm);
	kvfree(area->pages);
	area->pages = NULL;
}

/**
 * nest_pages_pinned_total() - pages pinned by all contexts
 *
 * Return: the number of pages nestiommu holds pinned right now.
 */
u64 nest_pages_pinned_total(void)
{
	return atomic64_read(&nest_pages_pinned);
}

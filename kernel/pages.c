// SPDX-License-Identifier: GPL-2.0
/*
 * Pinning user pages for DMA and charging them to locked memory.
 *
 * Pages are pinned FOLL_LONGTERM (they stay pinned for as long as they are
 * mapped) and charged to the mapping process's mm->locked_vm, which is what
 * RLIMIT_MEMLOCK limits (account_locked_vm() lets CAP_IPC_LOCK through,
 * like VFIO). The charge is returned to the same mm on unpin, whichever
 * process drops the last reference to the mapping. IOAS_COPY shares a pin
 * between areas instead of pinning again.
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
 * nest_pin_create() - pin user pages and charge them
 * @user_va: first page, page aligned
 * @npages: number of pages, not 0
 * @writeable: pin for writing (devices may write the pages)
 *
 * Return: the pin, holding one reference, or ERR_PTR(-ENOMEM) (no memory
 * or over RLIMIT_MEMLOCK) or ERR_PTR(-EFAULT) (some page is not mapped
 * with the access needed). On error nothing stays pinned or charged.
 */
struct nest_pin *nest_pin_create(unsigned long user_va, unsigned long npages,
				 bool writeable)
{
	unsigned int gup_flags = FOLL_LONGTERM;
	struct nest_pin *pin;
	unsigned long done = 0;
	int rc;

	if (writeable)
		gup_flags |= FOLL_WRITE;

	pin = kzalloc(sizeof(*pin), GFP_KERNEL_ACCOUNT);
	if (!pin)
		return ERR_PTR(-ENOMEM);
	/* A huge length is user input, not a driver bug: no warning. */
	pin->pages = kvcalloc(npages, sizeof(*pin->pages),
			      GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!pin->pages) {
		rc = -ENOMEM;
		goto out_free_pin;
	}

	rc = account_locked_vm(current->mm, npages, true);
	if (rc)
		goto out_free_pages;

	while (done < npages) {
		unsigned long n = min(npages - done, NEST_PIN_CHUNK);

		rc = pin_user_pages_fast(user_va + (done << PAGE_SHIFT), n,
					 gup_flags, pin->pages + done);
		if (rc <= 0) {
			rc = rc ?: -EFAULT;
			goto out_unpin;
		}
		done += rc;
		cond_resched();
	}

	refcount_set(&pin->users, 1);
	pin->writeable = writeable;
	pin->npages = npages;
	pin->mm = current->mm;
	mmgrab(pin->mm);
	atomic64_add(npages, &nest_pages_pinned);
	return pin;

out_unpin:
	unpin_user_pages(pin->pages, done);
	account_locked_vm(current->mm, npages, false);
out_free_pages:
	kvfree(pin->pages);
out_free_pin:
	kfree(pin);
	return ERR_PTR(rc);
}

/**
 * nest_pin_put() - drop a reference; the last one unpins and uncharges
 * @pin: from nest_pin_create()
 *
 * Pages a device could write are marked dirty so the data is not lost.
 */
void nest_pin_put(struct nest_pin *pin)
{
	if (!refcount_dec_and_test(&pin->users))
		return;
	unpin_user_pages_dirty_lock(pin->pages, pin->npages, pin->writeable);
	atomic64_sub(pin->npages, &nest_pages_pinned);

	/* An mm whose process has exited has no locked_vm to return to. */
	if (mmget_not_zero(pin->mm)) {
		account_locked_vm(pin->mm, pin->npages, false);
		mmput(pin->mm);
	}
	mmdrop(pin->mm);
	kvfree(pin->pages);
	kfree(pin);
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

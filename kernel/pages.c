// SPDX-License-Identifier: GPL-2.0
/*
 * Pinning user pages for DMA and charging them to locked memory.
 *
 * Pages are pinned FOLL_LONGTERM (they stay pinned for as long as they are
 * mapped) and charged, like iommufd's default IOPT_PAGES_ACCOUNT_USER, to
 * the locked_vm of the mapping caller's user, against the caller's
 * RLIMIT_MEMLOCK. A per-mm charge would not bind: the pins outlive the
 * process, so children that map and exit, or a process that execs with
 * the fd open, would each start from an empty mm. CAP_IPC_LOCK lifts the
 * limit (the pages are still charged), like VFIO. The pin keeps a
 * reference to the user and gives the charge back on unpin, whichever
 * process drops the last reference to the mapping. The mapping mm's
 * pinned_vm (VmPin) shows the pages too, for information. IOAS_COPY
 * shares a pin between areas instead of pinning again.
 *
 * The limit is checked before anything is allocated, and the page array
 * grows as pages are pinned, so a huge MAP costs memory in proportion to
 * what it really pins (charged to the caller's memory cgroup).
 */
#include <linux/atomic.h>
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/user.h>
#include <linux/slab.h>

#include "fail.h"
#include "nest_priv.h"

/* Pages pinned by every context; read through debugfs. */
static atomic64_t nest_pages_pinned = ATOMIC64_INIT(0);

/* pin_user_pages_fast() takes an int count: pin in bounded chunks. */
#define NEST_PIN_CHUNK 512UL

/*
 * Charge @npages to the caller's user, within its RLIMIT_MEMLOCK unless it
 * has CAP_IPC_LOCK. Return: 0 or -ENOMEM.
 */
static int nest_pin_charge(struct nest_pin *pin, unsigned long npages)
{
	unsigned long limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	struct user_struct *user = current_user();
	bool unlimited = capable(CAP_IPC_LOCK);
	unsigned long cur, new;

	if (nest_fail_site(NESTIOMMU_FAIL_SITE_LOCKED_MEM))
		return -ENOMEM;
	cur = atomic_long_read(&user->locked_vm);
	do {
		if (check_add_overflow(cur, npages, &new))
			return -ENOMEM;
		if (!unlimited && new > limit)
			return -ENOMEM;
	} while (!atomic_long_try_cmpxchg(&user->locked_vm, &cur, new));
	pin->user = get_uid(user);
	pin->mm = current->mm;
	mmgrab(pin->mm);
	atomic64_add(npages, &pin->mm->pinned_vm);
	return 0;
}

/* Give back what nest_pin_charge() charged. */
static void nest_pin_uncharge(struct nest_pin *pin, unsigned long npages)
{
	atomic_long_sub(npages, &pin->user->locked_vm);
	free_uid(pin->user);
	atomic64_sub(npages, &pin->mm->pinned_vm);
	mmdrop(pin->mm);
}

/*
 * Make room in @pin->pages for @need entries of the @done already pinned,
 * at least doubling, at most @npages. Return: 0 or -ENOMEM.
 */
static int nest_pin_grow(struct nest_pin *pin, unsigned long *cap,
			 unsigned long done, unsigned long need,
			 unsigned long npages)
{
	unsigned long new_cap = min(max(need, 2 * *cap), npages);
	struct page **pages;

	if (need <= *cap)
		return 0;
	if (nest_fail_site(NESTIOMMU_FAIL_SITE_PIN))
		return -ENOMEM;
	/* A huge length is user input, not a driver bug: no warning. */
	pages = kvmalloc_array(new_cap, sizeof(*pages),
			       GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!pages)
		return -ENOMEM;
	if (done)
		memcpy(pages, pin->pages, done * sizeof(*pages));
	kvfree(pin->pages);
	pin->pages = pages;
	*cap = new_cap;
	return 0;
}

/**
 * nest_pin_create() - pin user pages and charge them
 * @user_va: first page, page aligned
 * @npages: number of pages, not 0
 * @writeable: pin for writing (devices may write the pages)
 *
 * Return: the pin, holding one reference, or ERR_PTR(-ENOMEM) (no memory
 * or over RLIMIT_MEMLOCK), ERR_PTR(-EFAULT) (some page is not mapped
 * with the access needed) or ERR_PTR(-EINTR) (a fatal signal). On error
 * nothing stays pinned or charged.
 */
struct nest_pin *nest_pin_create(unsigned long user_va, unsigned long npages,
				 bool writeable)
{
	unsigned int gup_flags = FOLL_LONGTERM;
	unsigned long done = 0, cap = 0;
	struct nest_pin *pin;
	int rc;

	if (writeable)
		gup_flags |= FOLL_WRITE;

	pin = nest_fail_site(NESTIOMMU_FAIL_SITE_PIN) ? NULL :
	      kzalloc(sizeof(*pin), GFP_KERNEL_ACCOUNT);
	if (!pin)
		return ERR_PTR(-ENOMEM);
	rc = nest_pin_charge(pin, npages);
	if (rc)
		goto out_free_pin;

	while (done < npages) {
		unsigned long n = min(npages - done, NEST_PIN_CHUNK);

		if (fatal_signal_pending(current)) {
			rc = -EINTR;
			goto out_unpin;
		}
		rc = nest_pin_grow(pin, &cap, done, done + n, npages);
		if (rc)
			goto out_unpin;
		if (nest_fail_site(NESTIOMMU_FAIL_SITE_PIN_PAGES))
			rc = -ENOMEM;
		else
			rc = pin_user_pages_fast(user_va + (done << PAGE_SHIFT),
						 n, gup_flags, pin->pages + done);
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
	atomic64_add(npages, &nest_pages_pinned);
	return pin;

out_unpin:
	unpin_user_pages(pin->pages, done);
	nest_pin_uncharge(pin, npages);
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
	nest_pin_uncharge(pin, pin->npages);
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

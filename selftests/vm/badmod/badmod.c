// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only module: at load it commits the memory error or the hang that its
 * "mode" parameter names, so that the VM runner's self-test can check that
 * the guest's memory debugging reports it and the console scanner fails the
 * run on the report:
 *
 *   redzone   writes one byte past a kmalloc object, then frees it
 *             (slub_debug: "BUG kmalloc-64 ...: Right Redzone overwritten")
 *   slab-uaf  writes near the end of a freed kmalloc object ("Poison
 *             overwritten" when the object is allocated again or its cache
 *             validated; KASAN: "use-after-free" at once)
 *   page-uaf  writes into a freed page, then allocates a page again on the
 *             same CPU, which gets the same one back (page_poison=1:
 *             "pagealloc: memory corruption")
 *   hang      starts a kthread, badmod_hang, that sleeps uninterruptibly
 *             until the module is removed ("INFO: task badmod_hang:PID
 *             blocked for more than N seconds")
 */
#include <linux/compiler.h>
#include <linux/err.h>
#include <linux/gfp.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/preempt.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>

#define BADMOD_SIZE 64	/* a kmalloc size: object_size == 64, redzone after */

static char *mode = "";
module_param(mode, charp, 0444);
MODULE_PARM_DESC(mode, "redzone, slab-uaf, page-uaf or hang");

static struct task_struct *hang_task;

static int badmod_redzone(void)
{
	u8 *p = kmalloc(BADMOD_SIZE, GFP_KERNEL);

	if (!p)
		return -ENOMEM;
	/* Hidden from the compiler, which would see the overflow. */
	OPTIMIZER_HIDE_VAR(p);
	p[BADMOD_SIZE] = 0;
	kfree(p);
	return 0;
}

static int badmod_slab_uaf(void)
{
	u8 *p = kmalloc(BADMOD_SIZE, GFP_KERNEL);

	if (!p)
		return -ENOMEM;
	kfree(p);
	OPTIMIZER_HIDE_VAR(p);
	/*
	 * Near the end: KASAN keeps its quarantine link at the start of a
	 * freed object (a write there crashes the kernel later on), and the
	 * last byte holds another poison ("End Poison overwritten").
	 */
	WRITE_ONCE(p[BADMOD_SIZE - 2], 0);
	return 0;
}

static int badmod_page_uaf(void)
{
	struct page *page = alloc_page(GFP_KERNEL);
	u8 *addr;

	if (!page)
		return -ENOMEM;
	/*
	 * A freed page goes to the head of this CPU's free list, and the
	 * next allocation of this CPU takes it from there.
	 */
	migrate_disable();
	addr = page_address(page);
	__free_page(page);
	OPTIMIZER_HIDE_VAR(addr);
	WRITE_ONCE(addr[0], 0);
	page = alloc_page(GFP_KERNEL);
	migrate_enable();
	if (page)
		__free_page(page);
	return 0;
}

static int badmod_hang_fn(void *unused)
{
	for (;;) {
		set_current_state(TASK_UNINTERRUPTIBLE);
		if (kthread_should_stop())
			break;
		schedule();
	}
	__set_current_state(TASK_RUNNING);
	return 0;
}

static int badmod_hang(void)
{
	hang_task = kthread_run(badmod_hang_fn, NULL, "badmod_hang");
	if (IS_ERR(hang_task)) {
		int err = PTR_ERR(hang_task);

		hang_task = NULL;
		return err;
	}
	return 0;
}

static int __init badmod_init(void)
{
	if (!strcmp(mode, "redzone"))
		return badmod_redzone();
	if (!strcmp(mode, "slab-uaf"))
		return badmod_slab_uaf();
	if (!strcmp(mode, "page-uaf"))
		return badmod_page_uaf();
	if (!strcmp(mode, "hang"))
		return badmod_hang();
	pr_err("nestiommu_badmod: unknown mode '%s' (redzone, slab-uaf, page-uaf, hang)\n", mode);
	return -EINVAL;
}

static void __exit badmod_exit(void)
{
	/* kthread_stop() wakes the sleeper, which then sees it should stop. */
	if (hang_task)
		kthread_stop(hang_task);
}

module_init(badmod_init);
module_exit(badmod_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("nestiommu VM runner self-test: deliberate memory errors and a hung task");

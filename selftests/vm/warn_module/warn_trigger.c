// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only module: its init emits one WARN so that the VM runner's self-test
 * can check that kernel warnings in the guest are detected and reported.
 */
#include <linux/bug.h>
#include <linux/module.h>

static int __init warn_trigger_init(void)
{
	WARN(1, "nestiommu_warn_trigger: deliberate warning for the runner self-test\n");
	return 0;
}

static void __exit warn_trigger_exit(void)
{
}

module_init(warn_trigger_init);
module_exit(warn_trigger_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("nestiommu VM runner self-test: deliberate WARN at load");

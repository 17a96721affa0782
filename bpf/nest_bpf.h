/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nest_bpf.h - the nestiommu constants BPF programs need that BTF cannot
 * give them.
 *
 * The driver's types and enums (struct nest_hook_*, struct nest_fault,
 * enum nestiommu_xlate_source, enum nestiommu_page_response_code ...) come
 * from $(O)/bpf/vmlinux_nestiommu.h, which bpf/Makefile generates from the
 * module's BTF. These are #defines of the driver and of the uAPI header:
 * BTF has no macros, and neither header can be included here (they
 * declare the types the generated header already has).
 *
 * Include after vmlinux_nestiommu.h.
 */
#ifndef NEST_BPF_H
#define NEST_BPF_H

/* kernel/hooks.h: the "injected" marks of page_request and page_response. */
#define NEST_PR_INJ_FORCED	 (1U << 0)
#define NEST_PR_INJ_DROPPED	 (1U << 1)
#define NEST_PR_INJ_DUPLICATED	 (1U << 2)
#define NEST_PR_INJ_LAST_CLEARED (1U << 3)
#define NEST_RESP_INJ_CODE	 (1U << 0)
#define NEST_RESP_INJ_DELAYED	 (1U << 1)

/*
 * A tp_btf program's pointer arguments: Linux 6.12's verifier types them
 * "trusted_ptr_or_null" and refuses a load through one, or &p->field for a
 * probe read, until the program has checked it against NULL. The driver
 * never passes NULL; the check costs a branch and loads on every kernel.
 */

/* include/uapi/linux/nestiommu.h: struct nestiommu_dma.out_flags */
#define NESTIOMMU_OUT_FAULT	(1U << 0)

#endif /* NEST_BPF_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * core.h - terms shared by every part of the translation core.
 *
 * Terms:
 *  - IOVA: the address a device puts on the bus, the stage-1 input.
 *  - GPA: guest-physical address, the stage-1 output and stage-2 input
 *    (an IOVA of the IOAS). GPAs are 48 bits wide (NEST_GPA_BITS).
 *  - ofn: "output frame number", an opaque 4 KiB frame number that stage 2
 *    maps a GPA to. In the kernel a pfn of a pinned page, in the host tests
 *    an index into a test memory array. The core never dereferences it: it
 *    passes it back to the caller's nest_mem_ops.
 *  - access: what a request wants (NEST_ACC_*), perm: what a translation
 *    grants (NEST_PERM_*).
 *  - a range is (start, length) in the API; internally `last` is the
 *    inclusive last byte (last = start + length - 1), so a range may end at
 *    the top of the address space without overflowing.
 *
 * Locking: the core takes no lock and allocates nothing by itself. Each
 * header says which calls need which exclusion from the caller.
 */
#ifndef _NEST_CORE_H
#define _NEST_CORE_H

#include "compat.h"

#define NEST_PAGE_SHIFT		12
#define NEST_PAGE_SIZE		(1ULL << NEST_PAGE_SHIFT)
#define NEST_GPA_BITS		48
#define NEST_OFN_BITS		52	/* ofn << 12 must fit in 64 bits */

/* Access request flags, as IOMMU_FAULT_PERM_* of the vSVA uAPI. */
#define NEST_ACC_READ		BIT(0)
#define NEST_ACC_WRITE		BIT(1)
#define NEST_ACC_EXEC		BIT(2)
#define NEST_ACC_PRIV		BIT(3)	/* privileged (supervisor) request */
#define NEST_ACC_MASK		GENMASK_ULL(3, 0)

/*
 * Permissions a translation grants, combined over the descriptor and both
 * stages: everything a cache entry needs to decide a request as the walk
 * would (nest_perm_check()).
 */
#define NEST_PERM_READ		BIT(0)	/* stage 2 R */
#define NEST_PERM_WRITE		BIT(1)	/* R/W=1 at every level, stage 2 W */
#define NEST_PERM_EXEC		BIT(2)	/* XD=0 at every level, stage 2 R */
#define NEST_PERM_USER		BIT(3)	/* U/S=1: non-privileged requests */
#define NEST_PERM_PRIV		BIT(4)	/* SRE: privileged requests */
/* privileged writes: WRITE, or with NEST_S1_F_WPD stage 2 W alone */
#define NEST_PERM_PRIV_WRITE	BIT(5)
#define NEST_PERM_ALL		GENMASK_ULL(5, 0)

/* Stage-2 mapping protection (nest_s2_map). */
#define NEST_PROT_READ		BIT(0)
#define NEST_PROT_WRITE		BIT(1)

/**
 * enum nest_fault_reason - why a translation failed
 *
 * The values are those of enum iommu_fault_reason of the vSVA uAPI.
 *
 * @NEST_FAULT_REASON_UNKNOWN: never produced by the core.
 * @NEST_FAULT_REASON_PASID_FETCH: the PASID table could not be read (the
 *	driver's PASID lookup; not produced by the core).
 * @NEST_FAULT_REASON_BAD_PASID_ENTRY: the stage-1 descriptor is invalid
 *	(levels not 4 or 5, root not 4 KiB aligned or above the GPA width,
 *	unknown flags).
 * @NEST_FAULT_REASON_PASID_INVALID: no descriptor for that PASID (the
 *	driver's PASID lookup; not produced by the core).
 * @NEST_FAULT_REASON_WALK_EABT: read_u64() or cmpxchg_u64() of a stage-1
 *	PTE failed (external abort), or the A/D update kept racing with
 *	concurrent writers for more than NEST_S1_AD_RETRIES walks.
 * @NEST_FAULT_REASON_PTE_FETCH: translation fault: a PTE is not present,
 *	or (NEST_FAULT_F_RSVD) a present PTE has reserved bits set.
 * @NEST_FAULT_REASON_PERMISSION: the access is not allowed by the PTEs.
 * @NEST_FAULT_REASON_ACCESS: the descriptor does not allow this kind of
 *	request (a privileged request on a PASID without NEST_S1_F_SRE).
 * @NEST_FAULT_REASON_OOR_ADDRESS: out-of-range address: a non-canonical
 *	IOVA, or a GPA at or above 2^48 (stage-2 input). A stage-1 PTE with
 *	bits 51:48 set is a PTE_FETCH with NEST_FAULT_F_RSVD (walk.h).
 */
enum nest_fault_reason {
	NEST_FAULT_REASON_UNKNOWN = 0,
	NEST_FAULT_REASON_PASID_FETCH,
	NEST_FAULT_REASON_BAD_PASID_ENTRY,
	NEST_FAULT_REASON_PASID_INVALID,
	NEST_FAULT_REASON_WALK_EABT,
	NEST_FAULT_REASON_PTE_FETCH,
	NEST_FAULT_REASON_PERMISSION,
	NEST_FAULT_REASON_ACCESS,
	NEST_FAULT_REASON_OOR_ADDRESS,
};

/**
 * nest_perm_access() - what a request of @access's privilege may do
 * @perm: NEST_PERM_* of a translation
 * @access: NEST_ACC_*; only NEST_ACC_PRIV counts
 *
 * The one place that turns permissions into the kinds of access allowed:
 * the walk's checks, a cache hit and TRANSLATE's out_perm all use it.
 *
 * Return: the NEST_ACC_READ, _WRITE and _EXEC kinds allowed; none when
 * requests of that privilege are refused.
 */
static inline u32 nest_perm_access(u32 perm, u32 access)
{
	bool priv = access & NEST_ACC_PRIV;

	if (!(perm & (priv ? NEST_PERM_PRIV : NEST_PERM_USER)))
		return 0;
	return (perm & NEST_PERM_READ ? NEST_ACC_READ : 0) |
	       (perm & (priv ? NEST_PERM_PRIV_WRITE : NEST_PERM_WRITE) ?
		NEST_ACC_WRITE : 0) |
	       (perm & NEST_PERM_EXEC ? NEST_ACC_EXEC : 0);
}

/**
 * nest_perm_check() - may a request make @access through @perm?
 * @perm: NEST_PERM_* of a translation
 * @access: NEST_ACC_* of the request
 *
 * Return: 0; NEST_FAULT_REASON_ACCESS for a privileged request where the
 * descriptor refuses them (no SRE); else NEST_FAULT_REASON_PERMISSION if
 * a kind asked for is not allowed.
 */
static inline u32 nest_perm_check(u32 perm, u32 access)
{
	if ((access & NEST_ACC_PRIV) && !(perm & NEST_PERM_PRIV))
		return NEST_FAULT_REASON_ACCESS;
	if (access & (NEST_ACC_READ | NEST_ACC_WRITE | NEST_ACC_EXEC) &
	    ~nest_perm_access(perm, access))
		return NEST_FAULT_REASON_PERMISSION;
	return 0;
}

/* nest_fault.flags */
#define NEST_FAULT_F_GPA_VALID	BIT(0)	/* @gpa holds the stage-2 input */
#define NEST_FAULT_F_TABLE_FETCH BIT(1)	/* stage 2 faulted on a s1 table */
#define NEST_FAULT_F_RSVD	BIT(2)	/* reserved bits set in a PTE */
#define NEST_FAULT_F_AD_UPDATE	BIT(3)	/* while setting A/D bits */
#define NEST_FAULT_F_INJECTED	BIT(4)	/* forced by the driver, not the core */

/**
 * struct nest_fault - an unrecoverable translation fault
 * @reason: enum nest_fault_reason
 * @stage: 1 or 2, the stage that faulted
 * @level: level of the faulting stage where it faulted (stage 1: 5..1,
 *	0 for the descriptor or the canonical check; stage 2: 4..1)
 * @s1_level: for a stage-2 fault, the stage-1 level whose table was being
 *	fetched, 0 when the final output GPA was being translated
 * @flags: NEST_FAULT_F_*
 * @access: the NEST_ACC_* flags of the request
 * @addr: the input address of the request (IOVA)
 * @gpa: for stage-2 faults the GPA being translated (with
 *	NEST_FAULT_F_TABLE_FETCH: the GPA of the stage-1 PTE being fetched);
 *	for stage-1 PTE faults the GPA of the faulting PTE
 */
struct nest_fault {
	u32 reason;
	u8 stage;
	u8 level;
	u8 s1_level;
	u8 flags;
	u32 access;
	u64 addr;
	u64 gpa;
};

/**
 * struct nest_mem_ops - the caller's memory services
 * @alloc_table: return a zeroed, 4 KiB aligned table of 512 u64 for the
 *	stage-2 page table, or NULL
 * @free_table: free a table returned by @alloc_table
 * @read_u64: read the 64-bit word at byte @offset (8-byte aligned, below
 *	4096) of frame @ofn into *@val; 0, or a negative errno that the core
 *	reports as an external abort
 * @cmpxchg_u64: atomically replace the word at (@ofn, @offset) with @new if
 *	it equals @old; store the value found in *@cur (the swap happened iff
 *	*@cur == @old); 0, or a negative errno (external abort)
 *
 * The core calls @read_u64 and @cmpxchg_u64 only with an ofn that stage 2
 * returned, so a frame the caller never mapped is never asked for.
 */
struct nest_mem_ops {
	void *(*alloc_table)(void *priv);
	void (*free_table)(void *priv, void *table);
	int (*read_u64)(void *priv, u64 ofn, u32 offset, u64 *val);
	int (*cmpxchg_u64)(void *priv, u64 ofn, u32 offset, u64 old, u64 new,
			   u64 *cur);
};

/*
 * Start a fault record: what every stage reports. Callers add the flags,
 * gpa and s1_level that apply to them.
 */
static inline void nest_fault_init(struct nest_fault *fault, u8 stage,
				   u32 reason, int level, u64 addr, u32 access)
{
	*fault = (struct nest_fault) {
		.reason = reason,
		.stage = stage,
		.level = level,
		.access = access,
		.addr = addr,
	};
}

#endif /* _NEST_CORE_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The translation step (xlate.c), as the DMA and TRANSLATE ioctls (dma.c)
 * use it.
 */
#ifndef NEST_XLATE_H
#define NEST_XLATE_H

#include "nest_priv.h"

struct nest_pri_req;

/*
 * One device's translations: a TRANSLATE's one, or each step of a DMA.
 * The caller sets the request; nest_xlate_begin() sets @hwpt.
 */
struct nest_xlate_req {
	struct nest_device *dev;
	u32 key;			/* PASID or NESTIOMMU_PASID_NONE */
	bool key_valid;			/* false: PASID beyond the width */
	u64 iova;
	u32 access;			/* NEST_ACC_* */
	bool no_cache;			/* TRANSLATE with NO_CACHE */
	struct nest_walk_trace *trace;	/* TRANSLATE only, or NULL */
	/* DMA only: */
	size_t dma_len;			/* bytes to count */
	struct nest_pri_req *pr;	/* the DMA's page request state */
	/* attached at @key, referenced, between begin and end */
	struct nest_hwpt *hwpt;
	/* the previous step's (a DMA counts dma_ops once per HWPT) */
	struct nest_hwpt *last_hwpt;
};

/*
 * Set the attachment key of a request from its NESTIOMMU_DMA_PASID flag
 * and PASID (the same for DMA and TRANSLATE); not valid: a PASID beyond
 * the device's width.
 */
static inline void nest_request_key(struct nest_xlate_req *req, u32 flags,
				    u32 pasid)
{
	if (!(flags & NESTIOMMU_DMA_PASID)) {
		req->key = NESTIOMMU_PASID_NONE;
		req->key_valid = true;
		return;
	}
	req->key = pasid;
	req->key_valid = req->dev->pasid_bits &&
			 pasid < BIT_ULL(req->dev->pasid_bits);
}

int nest_xlate_begin(struct nest_xlate_req *req, struct nest_xlate_res *res,
		     struct nest_fault *fault);
void nest_xlate_end(struct nest_xlate_req *req);
void nest_fault_to_user(struct nestiommu_fault_info *info,
			const struct nest_fault *fault);

#endif /* NEST_XLATE_H */

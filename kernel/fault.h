/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The fault queue's ring as the rest of the driver uses it (fault.c):
 * the translation path queues unrecoverable faults; pri.c queues the
 * records of page request groups and claims groups off the ring's pending
 * list. The queue knows a group only by its struct nest_fault_pending.
 */
#ifndef NEST_FAULT_H
#define NEST_FAULT_H

#include <linux/list.h>
#include <linux/types.h>
#include <uapi/linux/nestiommu.h>

struct nest_fault_queue;
struct nest_fault_ring;

/*
 * A page request group as the queue sees it (in struct nest_prg): on the
 * ring's pending list (ring lock) from its sending until an answerer
 * claims it. The queue takes no reference: pri.c keeps the group while it
 * is pending.
 */
struct nest_fault_pending {
	struct list_head node;
	u64 cookie;		/* the group's name in records, responses */
};

struct nest_fault_ring *nest_fault_queue_ring_get(struct nest_fault_queue *q);
void nest_fault_ring_put(struct nest_fault_ring *ring);
void nest_fault_record_init(struct nestiommu_fault_record *r, u32 dev_id,
			    u32 key, u32 hwpt_id,
			    const struct nestiommu_fault_info *info);
void nest_fault_queue_report(struct nest_fault_queue *q, u32 dev_id, u32 key,
			     u32 hwpt_id,
			     const struct nestiommu_fault_info *info);
int nest_fault_ring_send(struct nest_fault_ring *ring,
			 struct nest_fault_pending *p,
			 const struct nestiommu_fault_record *r, u32 npages,
			 u32 copies);
bool nest_fault_ring_claim(struct nest_fault_ring *ring,
			   struct nest_fault_pending *p);
bool nest_fault_ring_unclaim(struct nest_fault_ring *ring,
			     struct nest_fault_pending *p);

#endif /* NEST_FAULT_H */

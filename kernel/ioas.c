// SPDX-License-Identifier: GPL-2.0
/*
 * IO address spaces: MAP, COPY, UNMAP, IOVA_RANGES and statistics.
 *
 * An IOAS is a set of non-overlapping areas, each one MAP (or COPY) of
 * pinned user pages at [iova, last] (last inclusive). Areas live in a
 * maple tree keyed by IOVA range, which also rejects overlaps on
 * insertion. Every paging HWPT of the IOAS mirrors the areas in its
 * stage-2 table: adding or removing an area updates them all under
 * iova_rwsem held for write. MAP pins before taking iova_rwsem and
 * answers after dropping it, so that the slow parts hold no lock (no
 * ioctl touches user memory under it); UNMAP unmaps stage 2, drops every cached
 * translation and unpins under it, so once UNMAP returns nothing can reach
 * the pages.
 */
#include <linux/mm.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "fail.h"
#include "nest_priv.h"
#include "trace.h"

#define NEST_IOAS_MAP_PROT \
	(NESTIOMMU_IOAS_MAP_READABLE | NESTIOMMU_IOAS_MAP_WRITEABLE)
#define NEST_IOAS_MAP_FLAGS (NESTIOMMU_IOAS_MAP_FIXED_IOVA | NEST_IOAS_MAP_PROT)
#define NEST_IOAS_IOVA_LAST ((1ULL << NESTIOMMU_IOAS_IOVA_BITS) - 1)

/* The IOVA ranges an IOAS may map: all of it but the MSI window. */
static const struct nestiommu_iova_range nest_ioas_allowed[] = {
	{ .start = 0, .last = NESTIOMMU_MSI_WINDOW_START - 1 },
	{ .start = NESTIOMMU_MSI_WINDOW_LAST + 1, .last = NEST_IOAS_IOVA_LAST },
};

static bool nest_ioas_iova_allowed(u64 iova, u64 last)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(nest_ioas_allowed); i++)
		if (iova >= nest_ioas_allowed[i].start &&
		    last <= nest_ioas_allowed[i].last)
			return true;
	return false;
}

/*
 * Find the lowest free range of @length bytes aligned to @align inside the
 * allowed ranges.
 */
static int nest_ioas_find_free(struct nest_ioas *ioas, u64 length, u64 align,
			       u64 *iova)
{
	int i;

	lockdep_assert_held(&ioas->iova_rwsem);

	for (i = 0; i < ARRAY_SIZE(nest_ioas_allowed); i++) {
		u64 start = nest_ioas_allowed[i].start;
		u64 range_last = nest_ioas_allowed[i].last;

		for (;;) {
			struct nest_area *area;
			unsigned long index;
			u64 cand = round_up(start, align);
			u64 last;

			if (cand < start ||
			    check_add_overflow(cand, length - 1, &last) ||
			    last > range_last)
				break;
			index = cand;
			area = mt_find(&ioas->areas, &index, last);
			if (!area) {
				*iova = cand;
				return 0;
			}
			/* Areas end below 2^48, so area->last + 1 cannot wrap. */
			start = area->last + 1;
		}
	}
	return -ENOSPC;
}

/* Free an area and its share of the pages; it must be out of the tree. */
static void nest_area_free(struct nest_area *area)
{
	nest_pin_put(area->pin);
	kfree(area);
}

/* Take @area out of the tree and out of every paging HWPT. */
static void nest_ioas_area_unlink(struct nest_ioas *ioas,
				  struct nest_area *area)
{
	struct nest_hwpt *hwpt;

	lockdep_assert_held_write(&ioas->iova_rwsem);

	list_for_each_entry(hwpt, &ioas->hwpts, ioas_node)
		nest_hwpt_unmap_area(hwpt, area);
	mtree_erase(&ioas->areas, area->iova);
}

/*
 * Put @area in the tree and in every paging HWPT. On error nothing of it
 * is left anywhere.
 */
static int nest_ioas_area_link(struct nest_ioas *ioas, struct nest_area *area)
{
	struct nest_hwpt *hwpt;
	int rc;

	lockdep_assert_held_write(&ioas->iova_rwsem);

	rc = mtree_insert_range(&ioas->areas, area->iova, area->last, area,
				GFP_KERNEL_ACCOUNT);
	if (rc)
		return rc;
	list_for_each_entry(hwpt, &ioas->hwpts, ioas_node) {
		rc = nest_hwpt_map_area(hwpt, area);
		if (rc)
			goto out_unmap;
	}
	return 0;

out_unmap:
	list_for_each_entry_continue_reverse(hwpt, &ioas->hwpts, ioas_node)
		nest_hwpt_unmap_area(hwpt, area);
	mtree_erase(&ioas->areas, area->iova);
	return rc;
}

/* Count and trace an area just linked for good; iova_rwsem held for write. */
static void nest_ioas_area_added(struct nest_ioas *ioas,
				 struct nest_area *area)
{
	lockdep_assert_held_write(&ioas->iova_rwsem);
	ioas->counters.mappings++;
	ioas->counters.mapped_bytes += area->last - area->iova + 1;
	if (area->pinned_here)
		ioas->counters.pinned_pages += area->npages;
	ioas->counters.map_ops++;
	area->seq = ioas->counters.map_ops;
	trace_nest_map(ioas->obj.id, area);
}

/* Remove @area from the IOAS and its HWPTs, count it, trace it, free it. */
static void nest_ioas_area_remove(struct nest_ioas *ioas,
				  struct nest_area *area)
{
	nest_ioas_area_unlink(ioas, area);
	ioas->counters.mappings--;
	ioas->counters.mapped_bytes -= area->last - area->iova + 1;
	if (area->pinned_here)
		ioas->counters.pinned_pages -= area->npages;
	ioas->counters.unmapped_areas++;
	trace_nest_unmap(ioas->obj.id, area);
	nest_area_free(area);
}

/**
 * nest_ioas_find_area() - the area containing @iova
 * @ioas: the IOAS, iova_rwsem held
 * @iova: an IOVA
 *
 * Return: the area or NULL.
 */
struct nest_area *nest_ioas_find_area(struct nest_ioas *ioas, u64 iova)
{
	lockdep_assert_held(&ioas->iova_rwsem);
	return mtree_load(&ioas->areas, iova);
}

/**
 * nest_ioas_set_huge_pages() - OPTION_HUGE_PAGES
 * @ioas: the IOAS
 * @on: allow 2 MiB and 1 GiB stage-2 pages
 *
 * Return: 0, or -EBUSY while a paging HWPT mirrors the IOAS (its table
 * was built with the old setting).
 */
int nest_ioas_set_huge_pages(struct nest_ioas *ioas, bool on)
{
	int rc = 0;

	down_write(&ioas->iova_rwsem);
	if (!list_empty(&ioas->hwpts))
		rc = -EBUSY;
	else
		ioas->no_huge_pages = !on;
	up_write(&ioas->iova_rwsem);
	return rc;
}

int nest_ioas_alloc_ioctl(struct nest_ucmd *ucmd)
{
	struct nestiommu_ioas_alloc *cmd = ucmd->cmd;
	struct nest_object *obj;
	struct nest_ioas *ioas;
	int rc;

	if (cmd->flags)
		return -EOPNOTSUPP;

	ioas = nest_object_alloc(ucmd->ctx, ioas, NEST_OBJ_IOAS);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	obj = &ioas->obj;
	ioas->ctx = ucmd->ctx;
	init_rwsem(&ioas->iova_rwsem);
	mt_init(&ioas->areas);
	INIT_LIST_HEAD(&ioas->hwpts);

	cmd->out_ioas_id = obj->id;
	rc = nest_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc) {
		nest_object_abort(ucmd->ctx, obj);
		return rc;
	}
	nest_object_finalize(ucmd->ctx, obj);
	return 0;
}

/**
 * nest_ioas_destroy() - free an IOAS and unpin everything it maps
 * @obj: the IOAS's object header
 */
void nest_ioas_destroy(struct nest_object *obj)
{
	struct nest_ioas *ioas = container_of(obj, struct nest_ioas, obj);
	struct nest_area *area;
	unsigned long index = 0;

	down_write(&ioas->iova_rwsem);
	mt_for_each(&ioas->areas, area, index, ULONG_MAX) {
		nest_ioas_area_remove(ioas, area);
		cond_resched();
	}
	up_write(&ioas->iova_rwsem);
	mtree_destroy(&ioas->areas);
}

/* Validate a MAP request; everything that needs no lookup or lock. */
static int nest_ioas_map_check(const struct nestiommu_ioas_map *cmd)
{
	u64 last;

	if (cmd->flags & ~NEST_IOAS_MAP_FLAGS || cmd->__reserved)
		return -EOPNOTSUPP;
	if (!(cmd->flags & NEST_IOAS_MAP_PROT) || !cmd->length)
		return -EINVAL;
	if (check_add_overflow(cmd->user_va, cmd->length - 1, &last))
		return -EOVERFLOW;
	if ((cmd->flags & NESTIOMMU_IOAS_MAP_FIXED_IOVA) &&
	    check_add_overflow(cmd->iova, cmd->length - 1, &last))
		return -EOVERFLOW;
	if (!PAGE_ALIGNED(cmd->user_va) || !PAGE_ALIGNED(cmd->length))
		return -EINVAL;
	if (cmd->flags & NESTIOMMU_IOAS_MAP_FIXED_IOVA &&
	    (!PAGE_ALIGNED(cmd->iova) || !nest_ioas_iova_allowed(cmd->iova, last)))
		return -EINVAL;
	return 0;
}

/*
 * The alignment of a kernel-chosen IOVA: the largest power of two dividing
 * both the user VA and the length, up to 1 GiB, so that the IOVA keeps the
 * huge-page alignment the user memory may have.
 */
static u64 nest_ioas_align(u64 user_va, u64 length)
{
	u64 bits = user_va | length | SZ_1G;

	return bits & -bits;
}

/*
 * Place @area at the IOVA of @flags / *@iova (choosing one aligned to
 * @align without FIXED_IOVA), link it, and answer user space. The answer
 * is written without iova_rwsem: user memory may fault for as long as
 * user space likes, and DMA, TRANSLATE and UNMAP of the IOAS must not
 * wait for it. If it cannot be written, the area is removed again unless
 * an UNMAP already did, so a bad buffer loses nothing.
 *
 * Return: 0 or a negative errno. Consumes @area: on error it is freed.
 */
static int nest_ioas_area_add(struct nest_ioas *ioas, struct nest_ucmd *ucmd,
			      struct nest_area *area, u32 flags, u64 *iova,
			      u64 length, u64 align, size_t cmd_len)
{
	u64 seq;
	int rc;

	down_write(&ioas->iova_rwsem);
	if (!(flags & NESTIOMMU_IOAS_MAP_FIXED_IOVA)) {
		rc = nest_ioas_find_free(ioas, length, align, iova);
		if (rc)
			goto out_unlock;
	}
	area->iova = *iova;
	area->last = *iova + length - 1;
	rc = nest_ioas_area_link(ioas, area);
	if (rc)
		goto out_unlock;
	nest_ioas_area_added(ioas, area);
	seq = area->seq;
	up_write(&ioas->iova_rwsem);

	if (!nest_ucmd_respond(ucmd, cmd_len))
		return 0;

	/* @area may be gone: trust only what the tree holds now. */
	down_write(&ioas->iova_rwsem);
	area = nest_ioas_find_area(ioas, *iova);
	if (area && area->seq == seq)
		nest_ioas_area_remove(ioas, area);
	up_write(&ioas->iova_rwsem);
	return -EFAULT;

out_unlock:
	up_write(&ioas->iova_rwsem);
	nest_area_free(area);
	return rc;
}

/*
 * The nest_hook_map hook point: a BPF program may fail the MAP with an errno.
 * Return: 0, or the negative errno to fail with.
 */
static int nest_ioas_map_hook(struct nest_ioas *ioas,
			      const struct nestiommu_ioas_map *cmd)
{
	struct nest_hook_map d = {
		.ioas_id = ioas->obj.id,
		.flags = cmd->flags,
		.iova = cmd->iova,
		.length = cmd->length,
		.user_va = cmd->user_va,
		.pid = task_tgid_nr(current),
	};
	int rc = 0;

	trace_nest_hook_map(&d);
	if (!d.error)
		return 0;
	down_write(&ioas->iova_rwsem);
	if (d.error <= NEST_HOOK_MAX_ERRNO) {
		ioas->counters.injected_map_errors++;
		rc = -d.error;
	} else {
		ioas->counters.hook_rejected++;
	}
	up_write(&ioas->iova_rwsem);
	return rc;
}

int nest_ioas_map_ioctl(struct nest_ucmd *ucmd)
{
	struct nestiommu_ioas_map *cmd = ucmd->cmd;
	struct nest_area *area;
	struct nest_ioas *ioas;
	bool injected = false;
	int rc;

	rc = nest_ioas_map_check(cmd);
	if (rc)
		return rc;

	ioas = nest_get_ioas(ucmd->ctx, cmd->ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	trace_nest_map_start(ioas->obj.id, cmd->iova, cmd->length);
	if (trace_nest_hook_map_enabled()) {
		rc = nest_ioas_map_hook(ioas, cmd);
		if (rc) {
			injected = true;
			goto out_put;
		}
	}

	area = nest_fail_site(NESTIOMMU_FAIL_SITE_AREA) ? NULL :
	       kzalloc(sizeof(*area), GFP_KERNEL_ACCOUNT);
	if (!area) {
		rc = -ENOMEM;
		goto out_put;
	}
	area->user_va = cmd->user_va;
	area->prot = cmd->flags & NEST_IOAS_MAP_PROT;
	area->npages = cmd->length >> PAGE_SHIFT;
	area->pinned_here = true;
	area->pin = nest_pin_create(cmd->user_va, area->npages,
				    area->prot & NESTIOMMU_IOAS_MAP_WRITEABLE);
	if (IS_ERR(area->pin)) {
		rc = PTR_ERR(area->pin);
		kfree(area);
		goto out_put;
	}

	rc = nest_ioas_area_add(ioas, ucmd, area, cmd->flags, &cmd->iova,
				cmd->length, nest_ioas_align(cmd->user_va, cmd->length),
				sizeof(*cmd));
out_put:
	if (rc)
		trace_nest_map_error(ioas->obj.id, cmd->iova, cmd->length, rc,
				     injected, task_tgid_nr(current));
	trace_nest_map_end(ioas->obj.id, cmd->iova, cmd->length,
			   rc ? 0 : cmd->length >> PAGE_SHIFT, rc);
	nest_put_ioas(ioas);
	return rc;
}

/* Validate a COPY request; everything that needs no lookup or lock. */
static int nest_ioas_copy_check(const struct nestiommu_ioas_copy *cmd)
{
	u64 last;

	if (cmd->flags & ~NEST_IOAS_MAP_FLAGS)
		return -EOPNOTSUPP;
	if (!(cmd->flags & NEST_IOAS_MAP_PROT) || !cmd->length)
		return -EINVAL;
	if (check_add_overflow(cmd->src_iova, cmd->length - 1, &last))
		return -EOVERFLOW;
	if ((cmd->flags & NESTIOMMU_IOAS_MAP_FIXED_IOVA) &&
	    check_add_overflow(cmd->dst_iova, cmd->length - 1, &last))
		return -EOVERFLOW;
	if (!PAGE_ALIGNED(cmd->src_iova) || !PAGE_ALIGNED(cmd->length))
		return -EINVAL;
	if (cmd->flags & NESTIOMMU_IOAS_MAP_FIXED_IOVA &&
	    (!PAGE_ALIGNED(cmd->dst_iova) ||
	     !nest_ioas_iova_allowed(cmd->dst_iova, last)))
		return -EINVAL;
	return 0;
}

/*
 * Make @area a copy of [@iova, @iova + @length) of @src: share the pages of
 * the one source area that holds the whole range.
 */
static int nest_ioas_area_copy_from(struct nest_area *area,
				    struct nest_ioas *src, u64 iova,
				    u64 length)
{
	struct nest_area *from;
	int rc = 0;

	down_read(&src->iova_rwsem);
	from = nest_ioas_find_area(src, iova);
	if (!from || from->last < iova + length - 1) {
		rc = -ENOENT;
		goto out_unlock;
	}
	if ((area->prot & ~from->prot) & NESTIOMMU_IOAS_MAP_WRITEABLE) {
		rc = -EINVAL;
		goto out_unlock;
	}
	area->pin = from->pin;
	refcount_inc(&area->pin->users);
	area->pin_first = from->pin_first + ((iova - from->iova) >> PAGE_SHIFT);
	area->user_va = from->user_va + (iova - from->iova);
out_unlock:
	up_read(&src->iova_rwsem);
	return rc;
}

int nest_ioas_copy_ioctl(struct nest_ucmd *ucmd)
{
	struct nestiommu_ioas_copy *cmd = ucmd->cmd;
	struct nest_ioas *src, *dst;
	struct nest_area *area;
	int rc;

	rc = nest_ioas_copy_check(cmd);
	if (rc)
		return rc;

	src = nest_get_ioas(ucmd->ctx, cmd->src_ioas_id);
	if (IS_ERR(src))
		return PTR_ERR(src);
	dst = nest_get_ioas(ucmd->ctx, cmd->dst_ioas_id);
	if (IS_ERR(dst)) {
		rc = PTR_ERR(dst);
		goto out_put_src;
	}

	area = nest_fail_site(NESTIOMMU_FAIL_SITE_AREA) ? NULL :
	       kzalloc(sizeof(*area), GFP_KERNEL_ACCOUNT);
	if (!area) {
		rc = -ENOMEM;
		goto out_put_dst;
	}
	area->prot = cmd->flags & NEST_IOAS_MAP_PROT;
	area->npages = cmd->length >> PAGE_SHIFT;
	/* Take the source's pages first: src and dst may be one IOAS. */
	rc = nest_ioas_area_copy_from(area, src, cmd->src_iova, cmd->length);
	if (rc) {
		kfree(area);
		goto out_put_dst;
	}

	/* Like a MAP of the same user memory: keep its alignment. */
	rc = nest_ioas_area_add(dst, ucmd, area, cmd->flags, &cmd->dst_iova,
				cmd->length,
				nest_ioas_align(area->user_va, cmd->length),
				sizeof(*cmd));
out_put_dst:
	nest_put_ioas(dst);
out_put_src:
	nest_put_ioas(src);
	return rc;
}

int nest_ioas_unmap_ioctl(struct nest_ucmd *ucmd)
{
	struct nestiommu_ioas_unmap *cmd = ucmd->cmd;
	struct nest_area *area;
	struct nest_ioas *ioas;
	unsigned long index;
	u64 length = cmd->length;	/* the answer overwrites it */
	u64 unmapped = 0;
	bool unmap_all;
	u64 last;
	int rc = 0;

	unmap_all = cmd->iova == 0 && cmd->length == U64_MAX;
	if (unmap_all) {
		last = U64_MAX;
	} else {
		if (!cmd->length)
			return -EINVAL;
		if (check_add_overflow(cmd->iova, cmd->length - 1, &last))
			return -EOVERFLOW;
		if (!PAGE_ALIGNED(cmd->iova) || !PAGE_ALIGNED(cmd->length))
			return -EINVAL;
	}

	ioas = nest_get_ioas(ucmd->ctx, cmd->ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	trace_nest_unmap_start(cmd->ioas_id, cmd->iova, length);

	down_write(&ioas->iova_rwsem);
	/* The range may not cut an area: check both ends before removing. */
	index = cmd->iova;
	area = mt_find(&ioas->areas, &index, last);
	if (area && area->iova < cmd->iova) {
		rc = -ENOENT;
		goto out_unlock;
	}
	index = last;
	area = mt_find(&ioas->areas, &index, last);
	if (area && area->last > last) {
		rc = -ENOENT;
		goto out_unlock;
	}

	index = cmd->iova;
	mt_for_each(&ioas->areas, area, index, last) {
		unmapped += area->last - area->iova + 1;
		nest_ioas_area_remove(ioas, area);
		/* Each removal scans every TLB: many areas take a while. */
		cond_resched();
	}
	if (!unmapped && !unmap_all)
		rc = -ENOENT;
out_unlock:
	up_write(&ioas->iova_rwsem);
	nest_put_ioas(ioas);
	if (!rc) {
		cmd->length = unmapped;
		rc = nest_ucmd_respond(ucmd, sizeof(*cmd));
	}
	trace_nest_unmap_end(cmd->ioas_id, cmd->iova, length, unmapped, rc);
	return rc;
}

int nest_ioas_iova_ranges_ioctl(struct nest_ucmd *ucmd)
{
	struct nestiommu_ioas_iova_ranges *cmd = ucmd->cmd;
	struct nestiommu_iova_range __user *uranges;
	u32 nranges = ARRAY_SIZE(nest_ioas_allowed);
	struct nest_ioas *ioas;
	int rc = 0;
	u32 i;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	ioas = nest_get_ioas(ucmd->ctx, cmd->ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	/* The ranges are fixed for now; the IOAS only has to exist. */
	nest_put_ioas(ioas);

	uranges = u64_to_user_ptr(cmd->allowed_iovas);
	for (i = 0; i < nranges && i < cmd->num_iovas; i++)
		if (copy_to_user(&uranges[i], &nest_ioas_allowed[i],
				 sizeof(uranges[i])))
			return -EFAULT;
	if (cmd->num_iovas < nranges)
		rc = -EMSGSIZE;

	cmd->num_iovas = nranges;
	cmd->out_iova_alignment = PAGE_SIZE;
	return nest_ucmd_respond(ucmd, sizeof(*cmd)) ?: rc;
}

/**
 * nest_ioas_get_stats() - copy an IOAS's statistics to user space
 * @obj: the IOAS's object header
 * @uptr: where to write struct nestiommu_ioas_stats
 * @len: in: bytes available at @uptr; out: the struct's full size
 *
 * Return: 0 or -EFAULT.
 */
int nest_ioas_get_stats(struct nest_object *obj, void __user *uptr, u32 *len)
{
	struct nest_ioas *ioas = container_of(obj, struct nest_ioas, obj);
	struct nestiommu_ioas_stats stats;

	down_read(&ioas->iova_rwsem);
	stats = (struct nestiommu_ioas_stats) {
		.mappings = ioas->counters.mappings,
		.mapped_bytes = ioas->counters.mapped_bytes,
		.pinned_pages = ioas->counters.pinned_pages,
		.map_ops = ioas->counters.map_ops,
		.unmapped_areas = ioas->counters.unmapped_areas,
		.injected_map_errors = ioas->counters.injected_map_errors,
		.hook_rejected = ioas->counters.hook_rejected,
	};
	up_read(&ioas->iova_rwsem);
	return nest_stats_to_user(&stats, sizeof(stats), uptr, len);
}

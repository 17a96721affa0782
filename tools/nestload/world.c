// SPDX-License-Identifier: GPL-2.0
/*
 * nestload: what a VMM builds before its guest runs, and the PRI handler
 * that answers its devices' page requests (terms in nestload.h).
 *
 *   IOAS ── guest RAM at NL_RAM_GPA: per slot [pool | data pages | spare]
 *   paging HWPT (NEST_PARENT) over the IOAS
 *   one fault queue, read by one PRI handler thread
 *   devices 0..N-1 (PRI, maybe ATS), RID NL_RID_BASE + i
 *   per slot: a stage-1 tree in its pool, a nested HWPT with the fault
 *	queue, attached to its device's PASID
 *
 * Functions return 0, or report the error on stderr and return 1.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "nestload.h"

/**
 * nl_fail() - report a failed step
 * @what: the step
 * @rc: -errno
 *
 * Return: 1, the exit status of a failed run.
 */
int nl_fail(const char *what, int rc)
{
	fprintf(stderr, NL_PROG ": %s: %s\n", what, strerror(-rc));
	return 1;
}

static __u64 nl_slot_iova(__u32 page)
{
	return NL_IOVA + page * NL_PAGE;
}

/* ---- the PRI handler's callbacks (on its thread) ---- */

static int nl_slot_cmp_hwpt(const void *a, const void *b)
{
	const struct nl_slot *x = *(struct nl_slot * const *)a;
	const struct nl_slot *y = *(struct nl_slot * const *)b;

	return (x->hwpt_id > y->hwpt_id) - (x->hwpt_id < y->hwpt_id);
}

static struct nl_slot *nl_slot_find(struct nl_world *w, __u32 hwpt_id)
{
	struct nl_slot key = { .hwpt_id = hwpt_id }, *k = &key, **s;

	s = bsearch(&k, w->by_hwpt, w->nslots, sizeof(*w->by_hwpt),
		    nl_slot_cmp_hwpt);
	return s ? *s : NULL;
}

/*
 * One page of a page request group: map it if it is a fault page that is
 * not present. The other pages of a group are the rest of the DMA, which
 * may be present already: SUCCESS for them too.
 */
static __u32 nl_pri_page(void *ctx, const struct nestiommu_fault_record *rec)
{
	struct nl_world *w = ctx;
	struct nl_slot *s = nl_slot_find(w, rec->hwpt_id);
	__u32 code = NESTIOMMU_PAGE_RESP_SUCCESS;
	__u64 page;
	__u8 *state;

	if (!s || rec->addr < NL_IOVA ||
	    (page = (rec->addr - NL_IOVA) / NL_PAGE) >= w->o->working_set) {
		w->pri_pages.refused++;
		return NESTIOMMU_PAGE_RESP_INVALID;
	}
	state = &s->page_state[page];
	pthread_mutex_lock(&s->lock);
	if ((*state & NL_PAGE_FAULT) && !(*state & NL_PAGE_MAPPED)) {
		if (nest_s1_map(&s->s1, nl_slot_iova(page),
				s->data_gpa + page * NL_PAGE, NL_PAGE,
				NL_S1_LEAF_FLAGS)) {
			code = NESTIOMMU_PAGE_RESP_INVALID;
			w->pri_pages.refused++;
		} else {
			*state |= NL_PAGE_MAPPED;
			w->pri_pages.mapped++;
		}
	} else {
		w->pri_pages.present++;
	}
	pthread_mutex_unlock(&s->lock);
	return code;
}

static void nl_pri_fault(void *ctx, const struct nestiommu_fault_record *rec)
{
	struct nl_world *w = ctx;

	(void)rec;
	w->pri_pages.fault_records++;
}

/* ---- setup ---- */

/* Pick the slot's fault pages (a seeded partial shuffle) and the others. */
static int nl_slot_pick_pages(struct nl_world *w, struct nl_slot *s)
{
	__u32 n = w->o->working_set, nfault = nl_opts_fault_pages(w->o);
	__u64 rng = nl_rng_seed(w->o->seed, (1ULL << 32) + s->index);
	__u32 *order, i, j, tmp;

	s->page_state = calloc(n, sizeof(*s->page_state));
	s->fault_pages = calloc(nfault ? nfault : 1, sizeof(*s->fault_pages));
	s->plain_pages = calloc(n - nfault ? n - nfault : 1,
				sizeof(*s->plain_pages));
	order = calloc(n, sizeof(*order));
	if (!s->page_state || !s->fault_pages || !s->plain_pages || !order) {
		free(order);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++)
		order[i] = i;
	for (i = 0; i < nfault; i++) {
		j = i + (__u32)nl_rng_below(&rng, n - i);
		tmp = order[i];
		order[i] = order[j];
		order[j] = tmp;
		s->page_state[order[i]] = NL_PAGE_FAULT;
	}
	free(order);
	for (i = 0; i < n; i++) {
		if (s->page_state[i] & NL_PAGE_FAULT)
			s->fault_pages[s->nfault++] = i;
		else
			s->plain_pages[s->nplain++] = i;
	}
	return 0;
}

/*
 * Build slot @s in guest RAM at @ram_off: its stage-1 tree maps every
 * working-set page but the fault pages (their level-1 tables exist, so
 * the handler's map never allocates), then its nested HWPT, attached.
 */
static int nl_slot_setup(struct nl_world *w, struct nl_slot *s, size_t ram_off)
{
	const struct nl_opts *o = w->o;
	__u64 pool_len = nl_opts_slot_pool_pages(o) * NL_PAGE;
	struct nestiommu_hwpt_s1_x86 desc;
	struct nestiommu_hwpt_alloc cmd;
	char what[64];
	__u32 i;
	int rc;

	pthread_mutex_init(&s->lock, NULL);
	s->data_gpa = NL_RAM_GPA + ram_off + pool_len;
	s->spare_gpa = s->data_gpa + o->working_set * NL_PAGE;
	rc = nl_slot_pick_pages(w, s);
	if (rc)
		return nl_fail("slot pages", rc);
	rc = nest_s1_init(&s->s1, w->ram + ram_off, NL_RAM_GPA + ram_off,
			  pool_len, 4);
	for (i = 0; !rc && i < o->working_set; i++)
		rc = nest_s1_map(&s->s1, nl_slot_iova(i),
				 s->data_gpa + i * NL_PAGE, NL_PAGE, NL_S1_LEAF_FLAGS);
	for (i = 0; !rc && i < s->nfault; i++)
		rc = nest_s1_unmap(&s->s1, nl_slot_iova(s->fault_pages[i]),
				   NL_PAGE);
	if (rc)
		return nl_fail("stage-1 table", rc);

	nest_s1_desc(&s->s1, NESTIOMMU_S1_AD, &desc);
	cmd = (struct nestiommu_hwpt_alloc){
		.flags = NESTIOMMU_HWPT_ALLOC_FAULT_ID_VALID,
		.pt_id = w->parent_id,
		.data_type = NESTIOMMU_HWPT_DATA_S1_X86,
		.data_len = sizeof(desc),
		.fault_id = w->fault_id,
		.data_uptr = NEST_PTR(&desc),
	};
	rc = nest_hwpt_alloc(w->fd, &cmd);
	if (rc)
		return nl_fail("HWPT_ALLOC (nested)", rc);
	s->hwpt_id = cmd.out_hwpt_id;
	rc = nest_device_attach(w->fd, s->dev_id, NESTIOMMU_ATTACH_PASID,
				s->pasid, s->hwpt_id);
	if (rc) {
		snprintf(what, sizeof(what), "DEVICE_ATTACH of PASID %u",
			 s->pasid);
		return nl_fail(what, rc);
	}
	return 0;
}

static int nl_devices_setup(struct nl_world *w)
{
	const struct nl_opts *o = w->o;
	__u32 flags = NESTIOMMU_DEVICE_PRI | (o->ats ? NESTIOMMU_DEVICE_ATS : 0);
	/* PASIDs 1..M need the bits of M. */
	__u32 pasid_bits = 32 - __builtin_clz(o->pasids);
	__u32 i, id;
	int rc;

	w->dev_ids = calloc(o->devices, sizeof(*w->dev_ids));
	w->dev_failures_seen = calloc(o->devices,
				      sizeof(*w->dev_failures_seen));
	if (!w->dev_ids || !w->dev_failures_seen)
		return nl_fail("devices", -ENOMEM);
	pthread_mutex_init(&w->recover_lock, NULL);
	for (i = 0; i < o->devices; i++) {
		rc = nest_device_create(w->fd, flags, NL_RID_BASE + i,
					pasid_bits, &id);
		if (rc)
			return nl_fail("DEVICE_CREATE", rc);
		w->dev_ids[i] = id;
		if (o->pri_timeout_ms &&
		    (rc = nest_option_set(w->fd, NESTIOMMU_OPTION_PRI_TIMEOUT_MS,
					  id, o->pri_timeout_ms)))
			return nl_fail("OPTION_PRI_TIMEOUT_MS", rc);
		if (o->devtlb_entries &&
		    (rc = nest_option_set(w->fd, NESTIOMMU_OPTION_DEVTLB_ENTRIES,
					  id, o->devtlb_entries)))
			return nl_fail("OPTION_DEVTLB_ENTRIES", rc);
	}
	return 0;
}

/* Deal the slots out to the threads in turn; give each its buffers. */
static int nl_threads_setup(struct nl_world *w)
{
	const struct nl_opts *o = w->o;
	__u32 i, t;

	w->threads = calloc(o->threads, sizeof(*w->threads));
	if (!w->threads)
		return nl_fail("threads", -ENOMEM);
	for (t = 0; t < o->threads; t++) {
		struct nl_thread *th = &w->threads[t];

		th->w = w;
		th->index = t;
		th->rng = nl_rng_seed(o->seed, t);
		th->quota = o->ops / o->threads + (t < o->ops % o->threads);
		th->slots = calloc(w->nslots / o->threads + 1,
				   sizeof(*th->slots));
		th->buf = malloc(o->dma_size);
		if (!th->slots || !th->buf)
			return nl_fail("threads", -ENOMEM);
		memset(th->buf, 0x5a, o->dma_size);
		/* Above the guest RAM, 2 MiB apart. */
		th->churn_gpa = NL_RAM_GPA +
				((w->ram_len + (1ULL << 30) - 1) & ~((1ULL << 30) - 1)) +
				t * NL_CHURN_STRIDE;
		if (o->churn_every) {
			th->churn_buf = mmap(NULL, NL_CHURN_LEN,
					     PROT_READ | PROT_WRITE,
					     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (th->churn_buf == MAP_FAILED) {
				th->churn_buf = NULL;
				return nl_fail("mmap of a churn area", -errno);
			}
		}
	}
	for (i = 0; i < w->nslots; i++) {
		struct nl_thread *th = &w->threads[i % o->threads];

		th->slots[th->nslots++] = &w->slots[i];
	}
	return 0;
}

/**
 * nl_world_setup() - build everything a run needs
 * @w: the world, filled in
 * @o: the options, checked
 *
 * Return: 0, or 1 with the error reported. nl_world_teardown() undoes
 * what was built either way.
 */
int nl_world_setup(struct nl_world *w, const struct nl_opts *o)
{
	__u64 slot_len = (nl_opts_slot_pool_pages(o) + o->working_set + 1) *
			 NL_PAGE;
	/* Room for every page request the devices may have outstanding. */
	__u32 depth = o->devices * NL_PRI_OUTSTANDING * 2;
	__u64 iova = NL_RAM_GPA;
	__u32 i;
	int rc;

	*w = (struct nl_world){ .o = o, .fd = -1, .qfd = -1 };
	w->nslots = o->devices * o->pasids;
	w->fd = nest_open();
	if (w->fd < 0)
		return 1;	/* nest_open() said why */
	if (o->iotlb_entries &&
	    (rc = nest_option_set(w->fd, NESTIOMMU_OPTION_IOTLB_ENTRIES, 0,
				  o->iotlb_entries)))
		return nl_fail("OPTION_IOTLB_ENTRIES", rc);
	if (o->audit &&
	    (rc = nest_option_set(w->fd, NESTIOMMU_OPTION_STALE_AUDIT, 0, 1)))
		return nl_fail("OPTION_STALE_AUDIT", rc);

	w->ram_len = w->nslots * slot_len;
	w->ram = mmap(NULL, w->ram_len, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (w->ram == MAP_FAILED) {
		w->ram = NULL;
		return nl_fail("mmap of the guest RAM", -errno);
	}
	if ((rc = nest_ioas_alloc(w->fd, &w->ioas_id)))
		return nl_fail("IOAS_ALLOC", rc);
	rc = nest_ioas_map(w->fd, w->ioas_id, NESTIOMMU_IOAS_MAP_FIXED_IOVA |
			   NESTIOMMU_IOAS_MAP_READABLE |
			   NESTIOMMU_IOAS_MAP_WRITEABLE,
			   NEST_PTR(w->ram), w->ram_len, &iova);
	if (rc)
		return nl_fail("IOAS_MAP of the guest RAM", rc);
	w->setup.maps++;
	if ((rc = nest_hwpt_alloc_paging(w->fd, w->ioas_id,
					 NESTIOMMU_HWPT_ALLOC_NEST_PARENT,
					 &w->parent_id)))
		return nl_fail("HWPT_ALLOC (paging)", rc);
	if (depth < NESTIOMMU_FAULT_QUEUE_DEFAULT_DEPTH)
		depth = NESTIOMMU_FAULT_QUEUE_DEFAULT_DEPTH;
	if (depth > NESTIOMMU_FAULT_QUEUE_MAX_DEPTH)
		depth = NESTIOMMU_FAULT_QUEUE_MAX_DEPTH;
	if ((rc = nest_fault_queue_alloc(w->fd, depth, &w->fault_id, &w->qfd)))
		return nl_fail("FAULT_QUEUE_ALLOC", rc);
	if ((rc = nl_devices_setup(w)))
		return rc;

	w->slots = calloc(w->nslots, sizeof(*w->slots));
	w->by_hwpt = calloc(w->nslots, sizeof(*w->by_hwpt));
	if (!w->slots || !w->by_hwpt)
		return nl_fail("slots", -ENOMEM);
	for (i = 0; i < w->nslots; i++) {
		struct nl_slot *s = &w->slots[i];

		s->index = i;
		s->dev_id = w->dev_ids[i / o->pasids];
		s->pasid = 1 + i % o->pasids;
		if ((rc = nl_slot_setup(w, s, i * slot_len)))
			return rc;
		w->by_hwpt[i] = s;
	}
	qsort(w->by_hwpt, w->nslots, sizeof(*w->by_hwpt), nl_slot_cmp_hwpt);
	return nl_threads_setup(w);
}

/**
 * nl_world_pri_start() - start the PRI handler on the fault queue
 * @w: the world
 *
 * Return: 0, or 1 with the error reported.
 */
int nl_world_pri_start(struct nl_world *w)
{
	struct nest_pri_config cfg = {
		.qfd = w->qfd,
		.ops = {
			.page = nl_pri_page,
			.fault = nl_pri_fault,
		},
		.ctx = w,
	};
	int rc = nest_pri_start(&cfg, &w->pri);

	return rc ? nl_fail("starting the PRI handler", rc) : 0;
}

/**
 * nl_world_pri_stop() - stop the PRI handler, keep its final counters
 * @w: the world
 *
 * Call once no DMA can wait for a page response any more.
 */
void nl_world_pri_stop(struct nl_world *w)
{
	if (!w->pri)
		return;
	nest_pri_stop(w->pri, &w->pri_final);
	w->pri = NULL;
}

/* Add the statistics of @id (a HWPT or a device) to @sum. */
static int nl_stats_add_xlate(int fd, __u32 id,
			      struct nestiommu_xlate_stats *sum)
{
	struct nestiommu_xlate_stats st = { 0 };
	__u32 type, len = sizeof(st);
	__u64 *dst = (__u64 *)sum, *src = (__u64 *)&st;
	size_t i;
	int rc;

	/* Every field is a __u64 (faults[][] too): add them as an array. */
	_Static_assert(sizeof(st) % sizeof(__u64) == 0, "u64 fields only");
	rc = nest_get_stats(fd, id, &type, &st, &len);
	if (rc)
		return rc;
	for (i = 0; i < sizeof(st) / sizeof(__u64); i++)
		dst[i] += src[i];
	return 0;
}

/**
 * nl_world_stats() - the driver's statistics of nestload's objects
 * @w: the world
 * @st: filled in: summed over the devices, summed over the nested HWPTs,
 *	the IOAS, the fault queue
 *
 * Return: 0, or 1 with the error reported.
 */
int nl_world_stats(struct nl_world *w, struct nl_driver_stats *st)
{
	__u32 type, len, i;
	int rc;

	memset(st, 0, sizeof(*st));
	for (i = 0; i < w->o->devices; i++)
		if ((rc = nl_stats_add_xlate(w->fd, w->dev_ids[i], &st->dev)))
			return nl_fail("GET_STATS of a device", rc);
	for (i = 0; i < w->nslots; i++)
		if ((rc = nl_stats_add_xlate(w->fd, w->slots[i].hwpt_id,
					     &st->hwpt)))
			return nl_fail("GET_STATS of a nested HWPT", rc);
	len = sizeof(st->ioas);
	if ((rc = nest_get_stats(w->fd, w->ioas_id, &type, &st->ioas, &len)))
		return nl_fail("GET_STATS of the IOAS", rc);
	len = sizeof(st->queue);
	if ((rc = nest_get_stats(w->fd, w->fault_id, &type, &st->queue, &len)))
		return nl_fail("GET_STATS of the fault queue", rc);
	if ((rc = nest_option_get(w->fd, NESTIOMMU_OPTION_IOTLB_ENTRIES, 0,
				  &st->iotlb_entries)))
		return nl_fail("OPTION_IOTLB_ENTRIES", rc);
	return 0;
}

/**
 * nl_world_teardown() - free everything
 * @w: the world, set up in full or in part
 *
 * Closing the context destroys every object in it (and unpins the guest
 * RAM); the fault queue's fd is closed after the handler stopped.
 */
void nl_world_teardown(struct nl_world *w)
{
	__u32 i;

	nl_world_pri_stop(w);
	if (w->qfd >= 0)
		close(w->qfd);
	if (w->fd >= 0)
		close(w->fd);
	for (i = 0; w->threads && i < w->o->threads; i++) {
		free(w->threads[i].slots);
		free(w->threads[i].buf);
		if (w->threads[i].churn_buf)
			munmap(w->threads[i].churn_buf, NL_CHURN_LEN);
	}
	for (i = 0; w->slots && i < w->nslots; i++) {
		free(w->slots[i].page_state);
		free(w->slots[i].fault_pages);
		free(w->slots[i].plain_pages);
	}
	free(w->threads);
	free(w->slots);
	free(w->by_hwpt);
	free(w->dev_ids);
	free(w->dev_failures_seen);
	if (w->ram)
		munmap(w->ram, w->ram_len);
}

// SPDX-License-Identifier: GPL-2.0
/*
 * dmaloop - DMA through a nested HWPT in a loop: the workload of the
 * translation tracepoint tests.
 *
 *	dmaloop [-n COUNT] [-p PAGES] [-i EVERY] [-s]
 *
 * Sets up one IOAS, a NEST_PARENT paging HWPT, a nested HWPT whose stage-1
 * table maps PAGES pages at DMALOOP_IOVA, and one ATS device with PASID 1
 * attached to it. Then COUNT DMA writes of 64 bytes, to page (i % PAGES);
 * after every EVERY-th DMA one HWPT_INVALIDATE entry (IOTLB, device TLB and
 * PASID cache of PASID 1). Then one DMA to an IOVA with no stage-1
 * mapping (a stage-1 PTE_FETCH fault), and a detach.
 *
 * With -s the stale-translation auditor is on and, before the faulting
 * DMA, page 0 is written, its stage-1 PTE pointed at another page without
 * an invalidation and page 0 written again: one
 * nestiommu:nest_stale_translation.
 *
 * Prints what it did as key=value on one line. Exit status: 0 on success,
 * 1 if an ioctl or a check fails, 2 on bad options.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "nestiommu.h"
#include "tool_opts.h"
#include "s1.h"

#define DMALOOP_IOVA	0x10000000ULL	/* stage-1 input of page 0 */
#define DMALOOP_PASID	1
#define DMALOOP_RID	0x0100
#define PAGE_4K		4096ULL
/* Stage-1 table pool, mapped after the data pages (and one spare page). */
#define POOL_PAGES	16

struct dmaloop_opts {
	unsigned long long count;
	unsigned long long pages;
	unsigned long long every;
	bool stale;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: dmaloop [-n COUNT] [-p PAGES] [-i EVERY] [-s]\n"
		"  -n COUNT  DMA writes (default 1000)\n"
		"  -p PAGES  pages the DMAs cycle through, 1..512 (default 16)\n"
		"  -i EVERY  invalidate after every EVERY-th DMA, 0 never (default 100)\n"
		"  -s        turn the stale-translation auditor on and cause one stale hit\n");
}

static int bad_option(const char *fmt, const char *arg)
{
	return tool_bad_option("dmaloop", usage, fmt, arg);
}

static int parse_args(int argc, char **argv, struct dmaloop_opts *o)
{
	int c;

	*o = (struct dmaloop_opts){ .count = 1000, .pages = 16, .every = 100 };
	opterr = 0;
	while ((c = getopt(argc, argv, ":n:p:i:sh")) != -1) {
		switch (c) {
		case 'n':
			if (!tool_parse_u64(optarg, &o->count))
				return bad_option("-n: '%s' is not a number", optarg);
			break;
		case 'p':
			if (!tool_parse_u64(optarg, &o->pages) || !o->pages ||
			    o->pages > 512)
				return bad_option("-p: '%s' is not a number from 1 to 512", optarg);
			break;
		case 'i':
			if (!tool_parse_u64(optarg, &o->every))
				return bad_option("-i: '%s' is not a number", optarg);
			break;
		case 's':
			o->stale = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case ':':
			return bad_option("option -%s needs an argument",
					  (char[]){ (char)optopt, 0 });
		default:
			return bad_option("unknown option -%s",
					  (char[]){ (char)optopt, 0 });
		}
	}
	if (optind < argc)
		return bad_option("unexpected argument '%s'", argv[optind]);
	return 0;
}

static int fail(const char *what, int rc)
{
	fprintf(stderr, "dmaloop: %s: %s\n", what, strerror(-rc));
	return 1;
}

static int dma_write(int fd, __u32 dev_id, __u64 iova, void *buf,
		     struct nestiommu_dma *d)
{
	*d = (struct nestiommu_dma){
		.flags = NESTIOMMU_DMA_PASID,
		.dev_id = dev_id,
		.pasid = DMALOOP_PASID,
		.access = NESTIOMMU_ACCESS_WRITE,
		.iova = iova,
		.length = 64,
		.user_va = NEST_PTR(buf),
	};
	return nest_dma(fd, d);
}

int main(int argc, char **argv)
{
	struct nestiommu_inv_entry inv = {
		.cache = NESTIOMMU_INV_CACHE_IOTLB |
			 NESTIOMMU_INV_CACHE_DEV_IOTLB |
			 NESTIOMMU_INV_CACHE_PASID,
		.granularity = NESTIOMMU_INV_GRANU_PASID,
		.pasid = DMALOOP_PASID,
	};
	__u32 ioas, parent, nested, dev, n;
	unsigned long long i, invalidations = 0, stale = 0;
	struct nestiommu_hwpt_s1_x86 desc;
	struct nestiommu_xlate_stats st;
	__u32 type, len = sizeof(st);
	struct nestiommu_dma d;
	struct dmaloop_opts o;
	__u64 data_gpa = 0, size;
	unsigned char buf[64];
	struct nest_s1 s1;
	char *mem;
	int fd, rc;

	rc = parse_args(argc, argv, &o);
	if (rc)
		return rc;
	fd = nest_open();
	if (fd < 0)
		return fail("open " NEST_DEV_PATH, fd);

	/* Data pages, one spare page (the stale target), then the pool. */
	size = (o.pages + 1 + POOL_PAGES) * PAGE_4K;
	mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return fail("mmap", -errno);
	memset(mem, 0, size);
	memset(buf, 0xa5, sizeof(buf));

	if ((rc = nest_ioas_alloc(fd, &ioas)) ||
	    (rc = nest_ioas_map(fd, ioas, NESTIOMMU_IOAS_MAP_READABLE |
				NESTIOMMU_IOAS_MAP_WRITEABLE,
				NEST_PTR(mem), size, &data_gpa)))
		return fail("IOAS", rc);
	rc = nest_s1_init(&s1, mem + (o.pages + 1) * PAGE_4K,
			  data_gpa + (o.pages + 1) * PAGE_4K,
			  POOL_PAGES * PAGE_4K, 4);
	for (i = 0; !rc && i < o.pages; i++)
		rc = nest_s1_map(&s1, DMALOOP_IOVA + i * PAGE_4K,
				 data_gpa + i * PAGE_4K, PAGE_4K,
				 NESTIOMMU_S1_PTE_RW | NESTIOMMU_S1_PTE_US);
	if (rc)
		return fail("stage-1 table", rc);
	nest_s1_desc(&s1, NESTIOMMU_S1_AD, &desc);

	if ((rc = nest_hwpt_alloc_paging(fd, ioas,
					 NESTIOMMU_HWPT_ALLOC_NEST_PARENT,
					 &parent)) ||
	    (rc = nest_hwpt_alloc_nested(fd, parent, &desc, &nested)) ||
	    (rc = nest_device_create(fd, NESTIOMMU_DEVICE_ATS, DMALOOP_RID, 8,
				     &dev)) ||
	    (rc = nest_device_attach(fd, dev, NESTIOMMU_ATTACH_PASID,
				     DMALOOP_PASID, nested)))
		return fail("HWPT / device setup", rc);
	if (o.stale &&
	    (rc = nest_option_set(fd, NESTIOMMU_OPTION_STALE_AUDIT, 0, 1)))
		return fail("OPTION_STALE_AUDIT", rc);

	for (i = 0; i < o.count; i++) {
		rc = dma_write(fd, dev, DMALOOP_IOVA + (i % o.pages) * PAGE_4K,
			       buf, &d);
		if (rc || (d.out_flags & NESTIOMMU_OUT_FAULT))
			return fail("DMA", rc ?: -EIO);
		if (o.every && (i + 1) % o.every == 0) {
			n = 1;
			rc = nest_hwpt_invalidate(fd, nested, &inv, sizeof(inv),
						  &n);
			if (rc)
				return fail("HWPT_INVALIDATE", rc);
			invalidations++;
		}
	}

	if (o.stale) {
		/* Page 0 now maps the spare page; the caches still say page 0. */
		__u64 *pte = nest_s1_pte(&s1, DMALOOP_IOVA, 1);

		/* Cache page 0's translation, then change it under the cache. */
		rc = dma_write(fd, dev, DMALOOP_IOVA, buf, &d);
		if (rc || (d.out_flags & NESTIOMMU_OUT_FAULT) || !pte)
			return fail("DMA before the stale one", rc ?: -EIO);
		nest_s1_pte_write(pte, ((data_gpa + o.pages * PAGE_4K) &
					NESTIOMMU_S1_PTE_ADDR) |
				  NESTIOMMU_S1_PTE_P | NESTIOMMU_S1_PTE_RW |
				  NESTIOMMU_S1_PTE_US);
		rc = dma_write(fd, dev, DMALOOP_IOVA, buf, &d);
		if (rc || (d.out_flags & NESTIOMMU_OUT_FAULT))
			return fail("stale DMA", rc ?: -EIO);
		rc = nest_get_stats(fd, dev, &type, &st, &len);
		if (rc)
			return fail("GET_STATS", rc);
		stale = st.stale_translations;
	}

	/* No stage-1 mapping past the last page: a stage-1 fault. */
	rc = dma_write(fd, dev, DMALOOP_IOVA + 512 * PAGE_4K, buf, &d);
	if (rc || !(d.out_flags & NESTIOMMU_OUT_FAULT) ||
	    d.out_fault.reason != NESTIOMMU_FAULT_REASON_PTE_FETCH)
		return fail("the faulting DMA did not fault", rc ?: -EIO);

	rc = nest_device_detach(fd, dev, NESTIOMMU_ATTACH_PASID, DMALOOP_PASID);
	if (rc)
		return fail("DEVICE_DETACH", rc);
	printf("dmas=%llu invalidations=%llu faults=1 stale=%llu\n",
	       o.count + 2 * o.stale + 1, invalidations, stale);
	close(fd);
	return 0;
}

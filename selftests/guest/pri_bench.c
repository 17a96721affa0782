// SPDX-License-Identifier: GPL-2.0
/*
 * pri_bench - the page-request round trip, measured in the guest.
 *
 *	pri_bench [-n COUNT]
 *
 * One PRI device with a nested HWPT and a fault queue; a handler thread
 * reads each page request, maps the page in the stage-1 table and writes
 * the SUCCESS response. COUNT times, a one-page DMA write hits an unmapped
 * stage-1 page, so it sends a page request and waits for the response;
 * after it the page is unmapped again (with an invalidation). Printed:
 *   - the DMA's time (ioctl in to ioctl out): page request, handler,
 *     response, translation and copy;
 *   - the same DMA with the page mapped (no page request);
 *   - the handler's read() + write() on the fault fd per request (a read
 *     of a record already queued: the bare cost of the two syscalls);
 * each as median and 99th percentile in microseconds, and the ratios of
 * the round trip to the bare read() + write(). Under TCG the absolute
 * figures are inflated; the ratios are what to compare.
 *
 * Exit status: 0, 1 if something fails, 2 on bad options.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "nestiommu.h"
#include "tool_opts.h"
#include "s1.h"

#define PAGE		4096ULL
#define BENCH_IOVA	0x10000000ULL
#define BENCH_PASID	1
#define POOL_PAGES	16

struct bench {
	int fd, qfd;
	__u32 dev, nested;
	__u64 data_gpa;
	struct nest_s1 s1;
	unsigned long n;
	double *syscall_us;	/* handler: read() + write() per request */
	unsigned long handled;
	const char *error;
};

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Sorts @v; the value at fraction @q (0.5: median). */
static double quantile(double *v, unsigned long n, double q)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[(unsigned long)(q * (n - 1))];
}

static void *handler(void *arg)
{
	struct bench *b = arg;
	struct nestiommu_fault_record r;
	struct nestiommu_page_response resp = { 0 };

	while (b->handled < b->n) {
		struct pollfd p = { .fd = b->qfd, .events = POLLIN };
		double t0, t1, t2;

		/* Time the syscalls, not the wait for the next request. */
		if (poll(&p, 1, -1) != 1) {
			b->error = "poll() of the fault fd";
			return NULL;
		}
		t0 = now_us();
		if (read(b->qfd, &r, sizeof(r)) != sizeof(r)) {
			b->error = "read() of the fault fd";
			return NULL;
		}
		t1 = now_us();
		if (r.type != NESTIOMMU_RECORD_PAGE_REQUEST ||
		    !(r.flags & NESTIOMMU_RECORD_F_LAST_PAGE)) {
			b->error = "not a one-page page request";
			return NULL;
		}
		if (nest_s1_map(&b->s1, r.addr, b->data_gpa, PAGE,
				NESTIOMMU_S1_PTE_RW | NESTIOMMU_S1_PTE_US)) {
			b->error = "stage-1 map";
			return NULL;
		}
		resp.cookie = r.cookie;
		t2 = now_us();
		if (write(b->qfd, &resp, sizeof(resp)) != sizeof(resp)) {
			b->error = "write() of the response";
			return NULL;
		}
		b->syscall_us[b->handled++] = (t1 - t0) + (now_us() - t2);
	}
	return NULL;
}

static int dma_write(struct bench *b, void *buf, struct nestiommu_dma *d)
{
	*d = (struct nestiommu_dma){
		.flags = NESTIOMMU_DMA_PASID,
		.dev_id = b->dev,
		.pasid = BENCH_PASID,
		.access = NESTIOMMU_ACCESS_WRITE,
		.iova = BENCH_IOVA,
		.length = 64,
		.user_va = NEST_PTR(buf),
	};
	return nest_dma(b->fd, d);
}

static int setup(struct bench *b)
{
	struct nestiommu_hwpt_s1_x86 desc;
	struct nestiommu_hwpt_alloc cmd;
	size_t size = (1 + POOL_PAGES) * PAGE;
	__u32 ioas, parent, fq;
	char *mem;
	int rc;

	b->fd = nest_open();
	if (b->fd < 0)
		return b->fd;
	mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return -errno;
	memset(mem, 0, size);
	if ((rc = nest_ioas_alloc(b->fd, &ioas)) ||
	    (rc = nest_ioas_map(b->fd, ioas, NESTIOMMU_IOAS_MAP_READABLE |
				NESTIOMMU_IOAS_MAP_WRITEABLE, NEST_PTR(mem),
				size, &b->data_gpa)) ||
	    (rc = nest_s1_init(&b->s1, mem + PAGE, b->data_gpa + PAGE,
			       POOL_PAGES * PAGE, 4)) ||
	    (rc = nest_hwpt_alloc_paging(b->fd, ioas,
					 NESTIOMMU_HWPT_ALLOC_NEST_PARENT,
					 &parent)) ||
	    (rc = nest_fault_queue_alloc(b->fd, 0, &fq, &b->qfd)))
		return rc;
	nest_s1_desc(&b->s1, 0, &desc);
	cmd = (struct nestiommu_hwpt_alloc){
		.flags = NESTIOMMU_HWPT_ALLOC_FAULT_ID_VALID,
		.pt_id = parent,
		.data_type = NESTIOMMU_HWPT_DATA_S1_X86,
		.data_len = sizeof(desc),
		.fault_id = fq,
		.data_uptr = NEST_PTR(&desc),
	};
	if ((rc = nest_hwpt_alloc(b->fd, &cmd)))
		return rc;
	b->nested = cmd.out_hwpt_id;
	if ((rc = nest_device_create(b->fd, NESTIOMMU_DEVICE_PRI, 0x100, 8,
				     &b->dev)) ||
	    (rc = nest_device_attach(b->fd, b->dev, NESTIOMMU_ATTACH_PASID,
				     BENCH_PASID, b->nested)))
		return rc;
	return 0;
}

/* Unmap the page again and invalidate, so the next DMA faults. */
static int unmap_page(struct bench *b)
{
	struct nestiommu_inv_entry inv = {
		.cache = NESTIOMMU_INV_CACHE_IOTLB,
		.granularity = NESTIOMMU_INV_GRANU_PASID,
		.pasid = BENCH_PASID,
	};
	__u32 n = 1;
	int rc;

	rc = nest_s1_unmap(&b->s1, BENCH_IOVA, PAGE);
	return rc ?: nest_hwpt_invalidate(b->fd, b->nested, &inv, sizeof(inv),
					  &n);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: pri_bench [-n COUNT]\n"
		   "  -n COUNT  page-request round trips to time, 10..1000000 (default 2000)\n");
}

static int bad_option(const char *fmt, const char *arg)
{
	return tool_bad_option("pri_bench", usage, fmt, arg);
}

int main(int argc, char **argv)
{
	struct bench b = { .n = 2000 };
	double *rt, *mapped, r50, r99, s50, s99, m50, m99;
	struct nestiommu_dma d;
	unsigned long i;
	char buf[64] = { 0 };
	unsigned long long n;
	pthread_t th;
	int c, rc;

	opterr = 0;
	while ((c = getopt(argc, argv, ":n:h")) != -1) {
		switch (c) {
		case 'n':
			if (!tool_parse_u64(optarg, &n) || n < 10 || n > 1000000)
				return bad_option("-n: '%s' is not a number from 10 to 1000000",
						  optarg);
			b.n = n;
			break;
		case 'h':
			usage(stdout);
			return 0;
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

	rt = calloc(b.n, sizeof(*rt));
	mapped = calloc(b.n, sizeof(*mapped));
	b.syscall_us = calloc(b.n, sizeof(*b.syscall_us));
	if (!rt || !mapped || !b.syscall_us)
		return 1;
	rc = setup(&b);
	if (rc) {
		fprintf(stderr, "pri_bench: setup: %s\n", strerror(-rc));
		return 1;
	}
	if (pthread_create(&th, NULL, handler, &b))
		return 1;
	for (i = 0; i < b.n; i++) {
		double t0 = now_us(), t1;

		rc = dma_write(&b, buf, &d);
		t1 = now_us();
		if (rc || d.out_flags) {
			fprintf(stderr, "pri_bench: DMA %lu: rc %d out_flags %u (%s)\n",
				i, rc, d.out_flags, b.error ? b.error : "");
			return 1;
		}
		rt[i] = t1 - t0;
		/* The same DMA with the page mapped: no page request. */
		t0 = now_us();
		rc = dma_write(&b, buf, &d);
		mapped[i] = now_us() - t0;
		if (rc || d.out_flags || unmap_page(&b))
			return 1;
	}
	pthread_join(th, NULL);
	if (b.error) {
		fprintf(stderr, "pri_bench: handler: %s\n", b.error);
		return 1;
	}
	r50 = quantile(rt, b.n, 0.5);
	r99 = quantile(rt, b.n, 0.99);
	m50 = quantile(mapped, b.n, 0.5);
	m99 = quantile(mapped, b.n, 0.99);
	s50 = quantile(b.syscall_us, b.n, 0.5);
	s99 = quantile(b.syscall_us, b.n, 0.99);
	printf("page-request round trip (TCG guest, %lu DMAs): median %.1f us, p99 %.1f us\n",
	       b.n, r50, r99);
	printf("same DMA, page mapped (no page request):  median %.1f us, p99 %.1f us\n",
	       m50, m99);
	printf("handler read()+write() on the fault fd:    median %.1f us, p99 %.1f us\n",
	       s50, s99);
	printf("round trip / bare read()+write(): median %.1fx, p99 %.1fx\n",
	       r50 / s50, r99 / s99);
	return 0;
}

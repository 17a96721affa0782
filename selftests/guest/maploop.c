// SPDX-License-Identifier: GPL-2.0
/*
 * maploop - map and unmap one buffer in a loop: the workload of the
 * tracepoint tests (one nestiommu:nest_map and one nestiommu:nest_unmap per cycle).
 *
 *	maploop [-v] [-n COUNT] [-l LENGTH] [-i FIXED_IOVA]
 *
 * Numbers may be decimal or 0x-prefixed hex. Exit status: 0 on success,
 * 1 if an ioctl fails, 2 on bad options.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "nestiommu.h"
#include "tool_opts.h"

struct maploop_opts {
	unsigned long long count;
	unsigned long long length;
	unsigned long long iova;
	bool fixed;
	bool verbose;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: maploop [-v] [-n COUNT] [-l LENGTH] [-i FIXED_IOVA]\n"
		"  -n COUNT       map/unmap cycles (default 1)\n"
		"  -l LENGTH      bytes per mapping, a multiple of the page size (default: one page)\n"
		"  -i FIXED_IOVA  map at this page-aligned IOVA (default: the kernel chooses)\n"
		"  -v             print one line per map\n");
}

static int bad_option(const char *fmt, const char *arg)
{
	return tool_bad_option("maploop", usage, fmt, arg);
}

/* Return 0, or the exit status for bad options (after saying why). */
static int parse_args(int argc, char **argv, struct maploop_opts *o)
{
	unsigned long long page = (unsigned long long)sysconf(_SC_PAGESIZE);
	int c;

	*o = (struct maploop_opts){ .count = 1, .length = page };
	opterr = 0;
	while ((c = getopt(argc, argv, ":n:l:i:vh")) != -1) {
		switch (c) {
		case 'n':
			if (!tool_parse_u64(optarg, &o->count))
				return bad_option("-n: '%s' is not a number", optarg);
			break;
		case 'l':
			if (!tool_parse_u64(optarg, &o->length))
				return bad_option("-l: '%s' is not a number", optarg);
			if (!o->length || o->length % page)
				return bad_option("-l: '%s' is not a non-zero multiple of the page size",
						  optarg);
			break;
		case 'i':
			if (!tool_parse_u64(optarg, &o->iova))
				return bad_option("-i: '%s' is not a number", optarg);
			if (o->iova % page)
				return bad_option("-i: '%s' is not page aligned", optarg);
			o->fixed = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case ':':
			return bad_option("option -%s needs an argument",
					  (char[]){ (char)optopt, 0 });
		default:
			return bad_option("unknown option -%s", (char[]){ (char)optopt, 0 });
		}
	}
	if (optind < argc)
		return bad_option("unexpected argument '%s'", argv[optind]);
	return 0;
}

static int maploop(const struct maploop_opts *o)
{
	__u32 flags = NESTIOMMU_IOAS_MAP_READABLE | NESTIOMMU_IOAS_MAP_WRITEABLE;
	unsigned long long maps = 0, unmaps = 0, i;
	__u64 iova, unmapped;
	__u32 ioas;
	void *buf;
	int fd, rc;

	if (o->fixed)
		flags |= NESTIOMMU_IOAS_MAP_FIXED_IOVA;
	buf = mmap(NULL, o->length, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (buf == MAP_FAILED) {
		fprintf(stderr, "maploop: cannot allocate %llu bytes: %s\n",
			o->length, strerror(errno));
		return 1;
	}
	fd = nest_open();
	if (fd < 0)
		return 1;
	rc = nest_ioas_alloc(fd, &ioas);
	if (rc) {
		fprintf(stderr, "maploop: IOAS_ALLOC: %s\n", strerror(-rc));
		return 1;
	}
	for (i = 0; i < o->count; i++) {
		iova = o->iova;
		rc = nest_ioas_map(fd, ioas, flags, NEST_PTR(buf), o->length, &iova);
		if (rc) {
			fprintf(stderr, "maploop: IOAS_MAP #%llu (length 0x%llx): %s\n",
				i, o->length, strerror(-rc));
			break;
		}
		maps++;
		if (o->verbose)
			printf("map iova=0x%llx length=0x%llx\n",
			       (unsigned long long)iova, o->length);
		rc = nest_ioas_unmap(fd, ioas, iova, o->length, &unmapped);
		if (rc) {
			fprintf(stderr, "maploop: IOAS_UNMAP #%llu (iova 0x%llx): %s\n",
				i, (unsigned long long)iova, strerror(-rc));
			break;
		}
		unmaps++;
	}
	printf("maps=%llu unmaps=%llu\n", maps, unmaps);
	close(fd);
	munmap(buf, o->length);
	return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct maploop_opts o;
	int rc;

	rc = parse_args(argc, argv, &o);
	if (rc)
		return rc;
	return maploop(&o);
}

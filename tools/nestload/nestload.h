/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nestload: a DMA workload generator that behaves like a VMM on nestiommu.
 *
 * Terms used in every file:
 *
 *   guest RAM	one user buffer mapped into the IOAS at NL_RAM_GPA. A paging
 *		HWPT (NEST_PARENT) is its stage 2. It holds, for each slot,
 *		the slot's stage-1 table pool, its working-set data pages
 *		and one spare page.
 *   slot	one (device, PASID) pair: its own stage-1 table tree and
 *		nested HWPT, as a guest binds one address space to one PASID
 *		of one device. Slot i is device i / pasids, PASID
 *		1 + i % pasids. Each slot belongs to one DMA thread.
 *   working set	the pages [NL_IOVA, NL_IOVA + W * 4 KiB) of a slot's
 *		stage-1 IOVA space that its DMAs reach; page i maps data
 *		page i of the slot (or the spare page after a stage-1 change).
 *   fault page	a working-set page whose stage-1 PTE starts not present:
 *		the first DMA to it sends a page request, which the PRI
 *		handler answers by mapping the page. A refault makes the
 *		slot's fault pages not present again (with HWPT_INVALIDATE).
 *   every N	periodic actions (stage-1 change, refault, churn) count the
 *		DMA ops of their thread, so one thread with --ops gives
 *		exactly ops / N of each.
 *
 * Locking: a slot's stage-1 tables and page states are changed by its
 * thread (stage-1 change, refault) and by the PRI handler thread (the
 * page callback), each under the slot's lock. Nobody holds a slot lock
 * across a DMA: the handler must be able to answer the DMA's page request.
 * Thread counters are written by their thread only and read by the
 * progress line with relaxed atomic loads (exact values once joined).
 */
#ifndef NESTLOAD_H
#define NESTLOAD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <linux/types.h>

#include "nestiommu.h"

#define NL_PROG		"nestload"
#define NL_PAGE		4096ULL

/* Stage-1 IOVA of working-set page 0, in every slot (1 GiB aligned). */
#define NL_IOVA		0x0000040000000000ULL
/* GPA of the guest RAM: above 4 GiB, clear of the MSI window. */
#define NL_RAM_GPA	0x100000000ULL
/* Per DMA thread, a spare IOAS area that --churn-every maps and unmaps. */
#define NL_CHURN_LEN	(16 * NL_PAGE)
#define NL_CHURN_STRIDE	(2ULL << 20)
/* First requester ID; device i gets NL_RID_BASE + i (bus 1). */
#define NL_RID_BASE	0x0100
/* Stage-1 leaf permissions of every working-set page (besides P). */
#define NL_S1_LEAF_FLAGS	(NESTIOMMU_S1_PTE_RW | NESTIOMMU_S1_PTE_US)
/* Page requests a PRI device may have outstanding (the driver's default). */
#define NL_PRI_OUTSTANDING	32

/* Option limits (also quoted by the usage text and the errors). */
#define NL_DEVICES_MAX		256
#define NL_PASIDS_MAX		1024
#define NL_SLOTS_MAX		4096
#define NL_THREADS_MAX		64
#define NL_OPS_MAX		1000000000000ULL
#define NL_DURATION_MAX		86400.0
#define NL_WORKING_SET_MAX	262144		/* 1 GiB per slot */
#define NL_DMA_SIZE_MAX		(1U << 20)
#define NL_EVERY_MAX		NL_OPS_MAX
/* Guest RAM nestload agrees to allocate. */
#define NL_RAM_MAX		(4ULL << 30)

enum nl_pattern {
	NL_PATTERN_SEQ,
	NL_PATTERN_RANDOM,
};

/* What the command line asked for (opts.c). */
struct nl_opts {
	__u32 devices;
	__u32 pasids;
	__u32 threads;
	__u64 ops;		/* 0 with --duration */
	double duration_s;	/* 0 with --ops */
	enum nl_pattern pattern;
	__u32 read_pct;
	__u32 working_set;	/* pages per slot */
	__u64 dma_size;
	__u32 iotlb_entries;	/* 0: leave the driver's */
	bool ats;
	__u32 devtlb_entries;	/* 0: leave the driver's */
	__u32 fault_pct;
	__u64 refault_every;
	__u64 s1_change_every;
	__u64 churn_every;
	__u32 pri_timeout_ms;
	__u64 seed;
	bool audit;
	bool recover;		/* DEVICE_RESET after a FAILURE */
	bool quiet;
	bool json;
};

int nl_opts_parse(int argc, char **argv, struct nl_opts *o);
__u32 nl_opts_fault_pages(const struct nl_opts *o);
__u64 nl_opts_slot_pool_pages(const struct nl_opts *o);

/* What nestload did: per thread, summed at the end. */
struct nl_counters {
	__u64 dma_ops;
	__u64 dma_reads;
	__u64 dma_writes;
	__u64 dma_bytes;
	__u64 dma_faults;	/* DMAs a fault stopped (none expected) */
	__u64 invalidations;	/* HWPT_INVALIDATE calls */
	__u64 inv_entries;	/* entries they handled */
	__u64 s1_changes;
	__u64 refaults;		/* refaults that unmapped pages */
	__u64 refault_pages;
	__u64 maps;		/* IOAS_MAP calls (setup included) */
	__u64 unmaps;		/* IOAS_UNMAP calls */
	__u64 recoveries;	/* --recover: DEVICE_RESETs */
};

/* Counters are added up as arrays of __u64. */
_Static_assert(sizeof(struct nl_counters) % sizeof(__u64) == 0,
	       "struct nl_counters holds __u64 only");

/* What the PRI handler's page callback did (handler thread only). */
struct nl_pri_pages {
	__u64 mapped;		/* fault pages it made present */
	__u64 present;		/* pages of a group that were present already */
	__u64 refused;		/* pages outside every working set */
	__u64 fault_records;	/* unrecoverable fault records */
};

/* Page states of a slot (slot lock). */
#define NL_PAGE_FAULT	(1 << 0)	/* a fault page */
#define NL_PAGE_MAPPED	(1 << 1)	/* a fault page that is present now */
#define NL_PAGE_SPARE	(1 << 2)	/* it points at the spare page now */

struct nl_slot {
	__u32 index;
	__u32 dev_id;
	__u32 pasid;
	__u32 hwpt_id;		/* its nested HWPT */
	__u64 data_gpa;		/* GPA of data page 0 */
	__u64 spare_gpa;
	struct nest_s1 s1;
	pthread_mutex_t lock;
	__u8 *page_state;	/* NL_PAGE_* per working-set page */
	__u32 *fault_pages;	/* indices of the fault pages, ascending */
	__u32 nfault;
	__u32 *plain_pages;	/* the other pages (stage-1 change targets) */
	__u32 nplain;
	__u64 seq_next;		/* owner thread: next byte offset (seq) */
};

struct nl_world;

struct nl_thread {
	struct nl_world *w;
	__u32 index;
	pthread_t th;
	struct nl_slot **slots;
	__u32 nslots;
	__u64 quota;		/* DMA ops, with --ops */
	__u64 rng;
	void *buf;		/* the DMA buffer, dma_size bytes */
	void *churn_buf;
	__u64 churn_gpa;
	bool churn_mapped;
	struct nl_counters c;
	double end_s;		/* when it ended (nl_now()) */
	int done;		/* atomic: the thread has ended */
};

/* The driver's statistics, summed over nestload's objects. */
struct nl_driver_stats {
	struct nestiommu_xlate_stats dev;	/* over the devices */
	struct nestiommu_xlate_stats hwpt;	/* over the nested HWPTs */
	struct nestiommu_ioas_stats ioas;
	struct nestiommu_fault_queue_stats queue;
	__u64 iotlb_entries;			/* OPTION_IOTLB_ENTRIES now */
};

/* Everything nestload built, and the run's state. */
struct nl_world {
	const struct nl_opts *o;
	int fd;
	int qfd;
	__u32 ioas_id;
	__u32 parent_id;
	__u32 fault_id;
	__u32 *dev_ids;
	/* --recover: each device's pri_failure when it was last reset */
	__u64 *dev_failures_seen;
	pthread_mutex_t recover_lock;
	char *ram;
	size_t ram_len;
	struct nl_slot *slots;
	__u32 nslots;
	struct nl_slot **by_hwpt;	/* sorted by hwpt_id: the handler's lookup */
	struct nl_thread *threads;
	struct nest_pri_handler *pri;
	struct nl_pri_pages pri_pages;
	struct nest_pri_counters pri_final;
	struct nl_counters setup;	/* IOAS_MAPs of the setup */
	double deadline;		/* with --duration: CLOCK_MONOTONIC s */
	int stop;			/* atomic: threads end at their next op */
	int error;			/* atomic: the first thread error (-errno) */
	char error_what[96];
};

/* world.c */
int nl_world_setup(struct nl_world *w, const struct nl_opts *o);
int nl_world_pri_start(struct nl_world *w);
void nl_world_pri_stop(struct nl_world *w);
int nl_world_stats(struct nl_world *w, struct nl_driver_stats *st);
void nl_world_teardown(struct nl_world *w);
int nl_fail(const char *what, int rc);

/* run.c */
int nl_run(struct nl_world *w, struct nl_counters *total, double *elapsed_s,
	   bool *interrupted);
double nl_now(void);

/* report.c */
void nl_report_print(FILE *f, const struct nl_world *w,
		     const struct nl_counters *c, double elapsed_s,
		     bool interrupted, const struct nl_driver_stats *st);

/* Random numbers: xorshift64*, one stream per thread and per slot. */
static inline __u64 nl_rng_seed(__u64 seed, __u64 stream)
{
	/* splitmix64 of (seed, stream): streams differ even for seed 0. */
	__u64 z = seed + (stream + 1) * 0x9e3779b97f4a7c15ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return z ? z : 1;
}

static inline __u64 nl_rng_next(__u64 *s)
{
	__u64 x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dULL;
}

/* A number in [0, n), n > 0. */
static inline __u64 nl_rng_below(__u64 *s, __u64 n)
{
	return (__u64)(((unsigned __int128)nl_rng_next(s) * n) >> 64);
}

#endif /* NESTLOAD_H */

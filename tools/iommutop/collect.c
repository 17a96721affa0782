// SPDX-License-Identifier: GPL-2.0
/*
 * collect.c - load iommutop.bpf.c (tp_btf or raw_tp, chosen at load time)
 * and read its maps into a struct snapshot.
 *
 * The rows are per-CPU: each lookup returns one value per possible CPU,
 * each rounded up to 8 bytes, and every field is a __u64 to add up. The
 * run time of the programs comes from the kernel's BPF statistics
 * (bpf_enable_stats(), kept on while the collector is open).
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "collect.h"
#include "iommutop.skel.h"

struct collector {
	struct iommutop_bpf *skel;
	enum attach_mode mode;
	int ncpus;
	int stats_fd;		/* bpf_enable_stats(), or -1 */
	int nr_attached;	/* programs attached */
	__u64 *percpu;		/* one lookup's values */
};

/* ---- libbpf's messages: kept for the error report ---- */

#define LOG_LEN 8192
static char libbpf_log[LOG_LEN];
static size_t libbpf_log_len;
static bool libbpf_verbose;

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	va_list copy;
	int n;

	if (level == LIBBPF_DEBUG && !libbpf_verbose)
		return 0;
	if (libbpf_verbose) {
		va_copy(copy, ap);
		vfprintf(stderr, fmt, copy);
		va_end(copy);
	}
	/* Keep the latest messages: the reason is at the end. */
	if (libbpf_log_len > LOG_LEN / 2) {
		memmove(libbpf_log, libbpf_log + libbpf_log_len - LOG_LEN / 4,
			LOG_LEN / 4);
		libbpf_log_len = LOG_LEN / 4;
	}
	n = vsnprintf(libbpf_log + libbpf_log_len, LOG_LEN - libbpf_log_len,
		      fmt, ap);
	if (n > 0)
		libbpf_log_len += (size_t)n < LOG_LEN - libbpf_log_len ?
				  (size_t)n : LOG_LEN - libbpf_log_len - 1;
	return 0;
}

/* ---- loading ---- */

static const char *mode_name(enum attach_mode mode)
{
	return mode == ATTACH_TP_BTF ? "tp_btf" : "raw_tp";
}

/*
 * The events that end what another event starts: a nest_page_response
 * deletes the group its nest_page_request inserted into "pending", a
 * nest_detach the entry a nest_attach (or a nest_translate) put into
 * "attached".
 */
static const char *const closing_events[] = {
	"nest_page_response", "nest_detach"
};

static bool prog_closes(const struct bpf_program *prog)
{
	const char *event = strchr(bpf_program__section_name(prog), '/');
	size_t i;

	for (i = 0; i < sizeof(closing_events) / sizeof(closing_events[0]); i++)
		if (event && !strcmp(event + 1, closing_events[i]))
			return true;
	return false;
}

/*
 * Attach every loaded program, the closing events' first. Attached the
 * other way round, a group sent once nest_page_request was attached and
 * answered before nest_page_response was would stay outstanding for ever (and
 * a detach in that gap would leave its HWPT attached). This way the end
 * of every start seen is seen too, and an end whose start was not seen
 * deletes nothing. The links go into the skeleton, which destroys them.
 */
static int attach_programs(struct collector *c)
{
	struct bpf_object_skeleton *s = c->skel->skeleton;
	int pass, i;

	c->nr_attached = 0;
	for (pass = 0; pass < 2; pass++) {
		bool closing = pass == 0;

		for (i = 0; i < s->prog_cnt; i++) {
			struct bpf_program *prog = *s->progs[i].prog;
			struct bpf_link *link;

			if (!bpf_program__autoload(prog) ||
			    prog_closes(prog) != closing)
				continue;
			link = bpf_program__attach(prog);
			if (!link)
				return -errno;
			*s->progs[i].link = link;
			c->nr_attached++;
		}
	}
	return 0;
}

/*
 * Open, configure, load and attach with the handlers of @mode (the other
 * set is not loaded).
 */
static int try_mode(struct collector *c, enum attach_mode mode,
		    const struct collect_opts *o)
{
	struct bpf_program *prog;
	int err;

	c->skel = iommutop_bpf__open();
	if (!c->skel)
		return -errno;
	c->skel->rodata->filter_dev = o->filter_dev;
	c->skel->rodata->targ_dev = o->dev;
	c->skel->rodata->filter_pasid = o->filter_pasid;
	c->skel->rodata->targ_pasid = o->pasid;
	bpf_object__for_each_program(prog, c->skel->obj) {
		const char *sec = bpf_program__section_name(prog);

		if (!strncmp(sec, "tp_btf/", 7))
			bpf_program__set_autoload(prog, mode == ATTACH_TP_BTF);
		else if (!strncmp(sec, "raw_tp/", 7))
			bpf_program__set_autoload(prog, mode == ATTACH_RAW_TP);
	}
	err = iommutop_bpf__load(c->skel);
	if (!err)
		err = attach_programs(c);
	if (err) {
		iommutop_bpf__destroy(c->skel);
		c->skel = NULL;
		return err;
	}
	c->mode = mode;
	return 0;
}

/* The last @lines lines of libbpf's messages, for the error report. */
static const char *log_tail(int lines)
{
	const char *p = libbpf_log + libbpf_log_len;

	while (p > libbpf_log && lines >= 0) {
		p--;
		if (*p == '\n')
			lines--;
	}
	return *p == '\n' ? p + 1 : p;
}

struct collector *collector_open(const struct collect_opts *o, char *err,
				 size_t err_len)
{
	struct collector *c = calloc(1, sizeof(*c));
	int rc_btf = 0, rc;

	if (!c) {
		snprintf(err, err_len, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	c->stats_fd = -1;
	libbpf_verbose = o->verbose;
	libbpf_set_print(libbpf_print);
	c->ncpus = libbpf_num_possible_cpus();
	if (c->ncpus <= 0) {
		rc = c->ncpus ?: -EINVAL;
		snprintf(err, err_len, "cannot count the possible CPUs: %s",
			 strerror(-rc));
		goto fail;
	}
	c->percpu = calloc(c->ncpus, sizeof(struct iommutop_dev_counters));
	if (!c->percpu) {
		rc = -ENOMEM;
		snprintf(err, err_len, "out of memory");
		goto fail;
	}

	if (o->mode != ATTACH_RAW_TP) {
		rc = rc_btf = try_mode(c, ATTACH_TP_BTF, o);
		if (!rc || o->mode == ATTACH_TP_BTF)
			goto loaded;
		libbpf_log_len = 0;	/* keep raw_tp's reasons */
	}
	rc = try_mode(c, ATTACH_RAW_TP, o);
loaded:
	if (rc) {
		if (rc_btf && o->mode == ATTACH_AUTO)
			snprintf(err, err_len,
				 "cannot load and attach the BPF programs (tp_btf: %s; raw_tp: %s); libbpf said:\n%s",
				 strerror(-rc_btf), strerror(-rc), log_tail(12));
		else
			snprintf(err, err_len,
				 "cannot load and attach the BPF programs (%s): %s; libbpf said:\n%s",
				 mode_name(o->mode), strerror(-rc), log_tail(12));
		goto fail;
	}
	/* Needs CAP_SYS_ADMIN; without it the cost is shown as n/a. */
	c->stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	return c;
fail:
	collector_close(c);
	errno = -rc;
	return NULL;
}

void collector_close(struct collector *c)
{
	if (!c)
		return;
	iommutop_bpf__destroy(c->skel);
	if (c->stats_fd >= 0)
		close(c->stats_fd);
	free(c->percpu);
	free(c);
}

const char *collector_mode(const struct collector *c)
{
	return mode_name(c->mode);
}

int collector_programs(const struct collector *c)
{
	return c->nr_attached;
}

/* ---- reading ---- */

/* Append one zeroed element of @size to *@arr; NULL on ENOMEM. */
static void *grow(void **arr, size_t *nr, size_t *cap, size_t size)
{
	void *p;

	if (*nr == *cap) {
		size_t n = *cap ? *cap * 2 : 16;

		p = realloc(*arr, n * size);
		if (!p)
			return NULL;
		*arr = p;
		*cap = n;
	}
	p = (char *)*arr + (*nr)++ * size;
	memset(p, 0, size);
	return p;
}

/*
 * Every row of the per-CPU hash @fd as an element of *@arr (each @size
 * bytes, the key at @key_off, the summed value at @val_off). Rows are
 * never deleted, so walking the keys sees each one once.
 */
static int read_percpu_rows(struct collector *c, int fd, size_t key_size,
			    size_t val_size, void **arr, size_t *nr,
			    size_t size, size_t key_off, size_t val_off)
{
	size_t cap = 0, words = val_size / sizeof(__u64), w;
	char key[64], next[64];
	void *prev = NULL;
	int cpu, err;

	*arr = NULL;
	*nr = 0;
	while (!(err = bpf_map_get_next_key(fd, prev, next))) {
		char *row;
		__u64 *sum;

		memcpy(key, next, key_size);
		prev = key;
		if (bpf_map_lookup_elem(fd, key, c->percpu))
			return -errno;
		row = grow(arr, nr, &cap, size);
		if (!row)
			return -ENOMEM;
		memcpy(row + key_off, key, key_size);
		sum = (__u64 *)(row + val_off);
		for (cpu = 0; cpu < c->ncpus; cpu++)
			for (w = 0; w < words; w++)
				sum[w] += c->percpu[cpu * words + w];
	}
	return err == -ENOENT ? 0 : err;
}

static int cmp_pr_key(const void *a, const void *b)
{
	const struct iommutop_pr_key *x = a, *y = b;

	if (x->dev_id != y->dev_id)
		return x->dev_id < y->dev_id ? -1 : 1;
	if (x->pasid != y->pasid)
		return x->pasid < y->pasid ? -1 : 1;
	return (x->cookie > y->cookie) - (x->cookie < y->cookie);
}

static struct snap_dev *snap_find_dev(struct snapshot *s, __u32 dev_id,
				      __u32 pasid)
{
	size_t lo = 0, hi = s->nr_devs;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		struct snap_dev *d = &s->devs[mid];

		if (d->key.dev_id == dev_id && d->key.pasid == pasid)
			return d;
		if (d->key.dev_id < dev_id ||
		    (d->key.dev_id == dev_id && d->key.pasid < pasid))
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

struct pr_entry {
	struct iommutop_pr_key key;
	struct iommutop_pr_pending val;
};

/*
 * Outstanding groups into the device rows (sorted). Groups come and go
 * while the keys are walked, and a walk that loses its place starts over:
 * duplicates are dropped, and the walk is bounded.
 */
static int read_pending(struct collector *c, struct snapshot *s)
{
	int fd = bpf_map__fd(c->skel->maps.pending);
	size_t nr = 0, cap = 0, i, steps = 0;
	size_t max = 2 * bpf_map__max_entries(c->skel->maps.pending);
	struct iommutop_pr_key key, next, *prev = NULL;
	struct pr_entry *arr = NULL, *e;

	while (steps++ < max && !bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		e = grow((void **)&arr, &nr, &cap, sizeof(*arr));
		if (!e) {
			free(arr);
			return -ENOMEM;
		}
		e->key = key;
		if (bpf_map_lookup_elem(fd, &key, &e->val))
			nr--;	/* answered meanwhile */
	}
	qsort(arr, nr, sizeof(*arr), cmp_pr_key);
	for (i = 0; i < nr; i++) {
		struct snap_dev *d;

		if (i && !cmp_pr_key(&arr[i].key, &arr[i - 1].key))
			continue;
		d = snap_find_dev(s, arr[i].key.dev_id, arr[i].key.pasid);
		if (!d)
			continue;
		d->pr_out_groups++;
		d->pr_out_pages += arr[i].val.pages;
		if (!d->pr_oldest_ns || arr[i].val.sent_ns < d->pr_oldest_ns)
			d->pr_oldest_ns = arr[i].val.sent_ns;
	}
	free(arr);
	return 0;
}

/* The HWPT attached at each device row. */
static void read_attached(struct collector *c, struct snapshot *s)
{
	int fd = bpf_map__fd(c->skel->maps.attached);
	size_t steps = 0, max = 2 * bpf_map__max_entries(c->skel->maps.attached);
	struct iommutop_dev_key key, next, *prev = NULL;
	__u32 hwpt_id;

	while (steps++ < max && !bpf_map_get_next_key(fd, prev, &next)) {
		struct snap_dev *d;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &hwpt_id))
			continue;
		d = snap_find_dev(s, key.dev_id, key.pasid);
		if (d)
			d->hwpt_id = hwpt_id;
	}
}

static int read_totals(struct collector *c, struct snapshot *s)
{
	size_t words = sizeof(s->totals) / sizeof(__u64), w;
	__u64 *sum = (__u64 *)&s->totals;
	__u32 zero = 0;
	int cpu, err;

	err = bpf_map_lookup_elem(bpf_map__fd(c->skel->maps.totals), &zero,
				  c->percpu);
	if (err)
		return err;
	for (cpu = 0; cpu < c->ncpus; cpu++)
		for (w = 0; w < words; w++)
			sum[w] += c->percpu[cpu * words + w];
	return 0;
}

/* The programs' run time and runs, summed (BPF statistics on). */
static void read_cost(struct collector *c, struct snapshot *s)
{
	struct bpf_program *prog;

	s->have_cost = c->stats_fd >= 0;
	if (!s->have_cost)
		return;
	bpf_object__for_each_program(prog, c->skel->obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(prog);

		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
			continue;
		s->run_ns += info.run_time_ns;
		s->run_cnt += info.run_cnt;
	}
}

static __u64 clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

int collector_snapshot(struct collector *c, struct snapshot *s)
{
	struct iommutop_bpf *k = c->skel;
	int err;

	snapshot_free(s);
	s->mono_ns = clock_ns(CLOCK_MONOTONIC);
	s->real_ns = clock_ns(CLOCK_REALTIME);
	err = read_percpu_rows(c, bpf_map__fd(k->maps.devs),
			       sizeof(struct iommutop_dev_key),
			       sizeof(struct iommutop_dev_counters),
			       (void **)&s->devs, &s->nr_devs, sizeof(*s->devs),
			       offsetof(struct snap_dev, key),
			       offsetof(struct snap_dev, c)) ?:
	      read_percpu_rows(c, bpf_map__fd(k->maps.hwpts), sizeof(__u32),
			       sizeof(struct iommutop_hwpt_counters),
			       (void **)&s->hwpts, &s->nr_hwpts,
			       sizeof(*s->hwpts),
			       offsetof(struct snap_hwpt, hwpt_id),
			       offsetof(struct snap_hwpt, c)) ?:
	      read_percpu_rows(c, bpf_map__fd(k->maps.ioases), sizeof(__u32),
			       sizeof(struct iommutop_ioas_counters),
			       (void **)&s->ioas, &s->nr_ioas, sizeof(*s->ioas),
			       offsetof(struct snap_ioas, ioas_id),
			       offsetof(struct snap_ioas, c)) ?:
	      read_percpu_rows(c, bpf_map__fd(k->maps.faults),
			       sizeof(struct iommutop_fault_key), sizeof(__u64),
			       (void **)&s->faults, &s->nr_faults,
			       sizeof(*s->faults),
			       offsetof(struct snap_fault, key),
			       offsetof(struct snap_fault, count)) ?:
	      read_totals(c, s);
	if (err) {
		snapshot_free(s);
		return err;
	}
	snapshot_sort(s);
	read_attached(c, s);
	err = read_pending(c, s);
	if (err) {
		snapshot_free(s);
		return err;
	}
	read_cost(c, s);
	return 0;
}

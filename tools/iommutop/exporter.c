// SPDX-License-Identifier: GPL-2.0
/*
 * exporter.c - iommutop's metrics over HTTP, for Prometheus and any
 * OpenMetrics scraper: GET /metrics answers with a fresh snapshot of the
 * BPF counters, in OpenMetrics 1.0.0 when the Accept header asks for
 * application/openmetrics-text, else in the Prometheus text format 0.0.4.
 *
 * Metrics (every name starts with nestiommu_, every family has HELP):
 *   nestiommu_device_<counter>_total{dev,pasid}    struct iommutop_dev_counters
 *   nestiommu_device_page_response_latency_seconds{dev,pasid}  histogram
 *   nestiommu_device_page_requests_outstanding{dev,pasid} ... gauges
 *   nestiommu_hwpt_<counter>_total{hwpt}          struct iommutop_hwpt_counters
 *   nestiommu_ioas_<counter>_total{ioas}          struct iommutop_ioas_counters
 *   nestiommu_faults_total{dev,pasid,hwpt,stage,reason,origin}
 *   nestiommu_events_total{event}, nestiommu_iommutop_* (the tool itself)
 * Counters count since iommutop started; "pasid" is "rid" for requests
 * without PASID.
 *
 * One connection at a time, from the main loop: a request must arrive
 * within EXPORTER_TIMEOUT_S seconds or the connection is dropped.
 */
#include <errno.h>
#include <stddef.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "exporter.h"

#define EXPORTER_TIMEOUT_S 2
#define REQUEST_MAX 8192

/* Histogram buckets: le = 2^k ns for k in [BUCKET_FIRST, BUCKET_LAST]. */
#define BUCKET_FIRST 10		/* 1.024 us */
#define BUCKET_LAST 36		/* 68.7 s */

struct exporter {
	int fd;
	exporter_snap_fn snap;
	void *arg;
	const char *attach;
};

/* ---- exposition ---- */

static void help_text(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

/*
 * HELP and TYPE of a family. @name has no "_total": Prometheus names a
 * counter family by its sample name, OpenMetrics without the suffix.
 */
static void family(FILE *f, bool om, const char *name, const char *type,
		   const char *help)
{
	const char *suffix = !om && !strcmp(type, "counter") ? "_total" : "";

	fprintf(f, "# HELP %s%s ", name, suffix);
	help_text(f, help);
	fprintf(f, "\n# TYPE %s%s %s\n", name, suffix, type);
}

static const char *pasid_label(char *buf, size_t n, __u32 pasid)
{
	if (pasid == NESTIOMMU_PASID_NONE)
		snprintf(buf, n, "rid");
	else
		snprintf(buf, n, "%u", pasid);
	return buf;
}

static void dev_labels(char *buf, size_t n, const struct snap_dev *d)
{
	char p[16];

	snprintf(buf, n, "dev=\"%u\",pasid=\"%s\"", d->key.dev_id,
		 pasid_label(p, sizeof(p), d->key.pasid));
}

static void render_counter_block(FILE *f, bool om, const char *scope,
				 const struct counter_field *fields, int nr,
				 const void *rows, size_t nr_rows,
				 size_t row_size, size_t block_off,
				 void (*labels)(char *, size_t, const void *))
{
	char name[96], lbl[128];
	size_t r;
	int i;

	for (i = 0; i < nr; i++) {
		snprintf(name, sizeof(name), "nestiommu_%s_%s", scope,
			 fields[i].name);
		family(f, om, name, "counter", fields[i].help);
		for (r = 0; r < nr_rows; r++) {
			const char *row = (const char *)rows + r * row_size;

			labels(lbl, sizeof(lbl), row);
			fprintf(f, "%s_total{%s} %llu\n", name, lbl,
				(unsigned long long)counter_get(row + block_off,
								&fields[i]));
		}
	}
}

static void dev_row_labels(char *buf, size_t n, const void *row)
{
	dev_labels(buf, n, row);
}

static void hwpt_row_labels(char *buf, size_t n, const void *row)
{
	snprintf(buf, n, "hwpt=\"%u\"", ((const struct snap_hwpt *)row)->hwpt_id);
}

static void ioas_row_labels(char *buf, size_t n, const void *row)
{
	snprintf(buf, n, "ioas=\"%u\"", ((const struct snap_ioas *)row)->ioas_id);
}

static void render_latency(FILE *f, bool om, const struct snapshot *s)
{
	const char *name = "nestiommu_device_page_response_latency_seconds";
	char lbl[128];
	size_t r;
	int k;

	family(f, om, name, "histogram",
	       "Page-response latency: from a page request group's sending to its answer, by user space or the driver");
	for (r = 0; r < s->nr_devs; r++) {
		const struct snap_dev *d = &s->devs[r];
		__u64 cum = 0, total = 0;

		dev_labels(lbl, sizeof(lbl), d);
		for (k = 0; k < IOMMUTOP_LAT_SLOTS; k++)
			total += d->c.lat_hist[k];
		/* Slot k holds (2^(k-1), 2^k] ns: le 2^k counts slots 0..k. */
		for (k = 0; k <= BUCKET_LAST; k++) {
			cum += d->c.lat_hist[k];
			if (k >= BUCKET_FIRST)
				fprintf(f, "%s_bucket{%s,le=\"%.9g\"} %llu\n",
					name, lbl, lat_slot_le_ns(k) / 1e9,
					(unsigned long long)cum);
		}
		fprintf(f, "%s_bucket{%s,le=\"+Inf\"} %llu\n", name, lbl,
			(unsigned long long)total);
		fprintf(f, "%s_sum{%s} %.9g\n", name, lbl, d->c.lat_sum_ns / 1e9);
		fprintf(f, "%s_count{%s} %llu\n", name, lbl,
			(unsigned long long)total);
	}
}

static void render_pr_gauges(FILE *f, bool om, const struct snapshot *s)
{
	char lbl[128];
	size_t r;

	family(f, om, "nestiommu_device_page_requests_outstanding", "gauge",
	       "Page requests sent and not answered now");
	for (r = 0; r < s->nr_devs; r++) {
		dev_labels(lbl, sizeof(lbl), &s->devs[r]);
		fprintf(f, "nestiommu_device_page_requests_outstanding{%s} %llu\n",
			lbl, (unsigned long long)s->devs[r].pr_out_pages);
	}
	family(f, om, "nestiommu_device_page_request_groups_outstanding",
	       "gauge", "Page request groups sent and not answered now");
	for (r = 0; r < s->nr_devs; r++) {
		dev_labels(lbl, sizeof(lbl), &s->devs[r]);
		fprintf(f, "nestiommu_device_page_request_groups_outstanding{%s} %llu\n",
			lbl, (unsigned long long)s->devs[r].pr_out_groups);
	}
	family(f, om, "nestiommu_device_oldest_page_request_age_seconds",
	       "gauge",
	       "Age of the oldest outstanding page request group (0: none)");
	for (r = 0; r < s->nr_devs; r++) {
		const struct snap_dev *d = &s->devs[r];
		double age = d->pr_oldest_ns && s->mono_ns > d->pr_oldest_ns ?
			     (s->mono_ns - d->pr_oldest_ns) / 1e9 : 0;

		dev_labels(lbl, sizeof(lbl), d);
		fprintf(f, "nestiommu_device_oldest_page_request_age_seconds{%s} %.9g\n",
			lbl, age);
	}
}

static void render_faults(FILE *f, bool om, const struct snapshot *s)
{
	char p[16];
	size_t r;

	family(f, om, "nestiommu_faults", "counter",
	       "Translation faults by device, PASID, HWPT (0: nothing attached), stage, reason and origin (organic or injected by BPF)");
	for (r = 0; r < s->nr_faults; r++) {
		const struct iommutop_fault_key *k = &s->faults[r].key;

		fprintf(f, "nestiommu_faults_total{dev=\"%u\",pasid=\"%s\",hwpt=\"%u\",stage=\"%u\",reason=\"%s\",origin=\"%s\"} %llu\n",
			k->dev_id, pasid_label(p, sizeof(p), k->pasid),
			k->hwpt_id, k->stage, fault_reason_name(k->reason),
			k->injected ? "injected" : "organic",
			(unsigned long long)s->faults[r].count);
	}
}

static void render_tool(FILE *f, bool om, const struct snapshot *s,
			const char *attach)
{
	int i;

	family(f, om, "nestiommu_events", "counter",
	       "nestiommu tracepoint events seen by iommutop, by event");
	for (i = 0; i < IOMMUTOP_EV_NR; i++)
		fprintf(f, "nestiommu_events_total{event=\"%s\"} %llu\n",
			event_name(i),
			(unsigned long long)s->totals.events[i]);
	family(f, om, "nestiommu_iommutop_events_lost", "counter",
	       "Events iommutop could not count because a BPF map was full");
	fprintf(f, "nestiommu_iommutop_events_lost_total %llu\n",
		(unsigned long long)s->totals.lost);
	family(f, om, "nestiommu_iommutop_bpf_run_seconds", "counter",
	       "Run time of iommutop's BPF programs (absent without CAP_SYS_ADMIN)");
	if (s->have_cost)
		fprintf(f, "nestiommu_iommutop_bpf_run_seconds_total %.9g\n",
			s->run_ns / 1e9);
	family(f, om, "nestiommu_iommutop_bpf_runs", "counter",
	       "Runs of iommutop's BPF programs (absent without CAP_SYS_ADMIN)");
	if (s->have_cost)
		fprintf(f, "nestiommu_iommutop_bpf_runs_total %llu\n",
			(unsigned long long)s->run_cnt);
	family(f, om, "nestiommu_iommutop_attach_mode", "gauge",
	       "1 for the way iommutop's BPF programs attach (tp_btf or raw_tp)");
	fprintf(f, "nestiommu_iommutop_attach_mode{mode=\"%s\"} 1\n", attach);
}

void exporter_render(FILE *f, const struct snapshot *s, const char *attach,
		     bool om)
{
	render_counter_block(f, om, "device", dev_fields, nr_dev_fields,
			     s->devs, s->nr_devs, sizeof(*s->devs),
			     offsetof(struct snap_dev, c), dev_row_labels);
	render_latency(f, om, s);
	render_pr_gauges(f, om, s);
	render_counter_block(f, om, "hwpt", hwpt_fields, nr_hwpt_fields,
			     s->hwpts, s->nr_hwpts, sizeof(*s->hwpts),
			     offsetof(struct snap_hwpt, c), hwpt_row_labels);
	render_counter_block(f, om, "ioas", ioas_fields, nr_ioas_fields,
			     s->ioas, s->nr_ioas, sizeof(*s->ioas),
			     offsetof(struct snap_ioas, c), ioas_row_labels);
	render_faults(f, om, s);
	render_tool(f, om, s, attach);
	if (om)
		fprintf(f, "# EOF\n");
}

/* ---- HTTP ---- */

/*
 * Parse "HOST:PORT", "[V6]:PORT" or ":PORT" into @ss. HOST is a numeric
 * address or "localhost": a static binary has no NSS to resolve names.
 * Empty HOST: any address (IPv6 and IPv4). False if malformed.
 */
static bool parse_addr(const char *addr, struct sockaddr_storage *ss,
		       socklen_t *len)
{
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	char host[64], *end;
	const char *colon;
	size_t n;
	long port;

	if (addr[0] == '[') {
		const char *close = strchr(addr, ']');

		if (!close || close[1] != ':')
			return false;
		n = close - addr - 1;
		colon = close + 1;
		addr++;
	} else {
		colon = strrchr(addr, ':');
		if (!colon)
			return false;
		n = colon - addr;
	}
	if (n >= sizeof(host))
		return false;
	memcpy(host, addr, n);
	host[n] = 0;
	if (colon[1] < '0' || colon[1] > '9')
		return false;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno || *end || port < 1 || port > 65535)
		return false;

	memset(ss, 0, sizeof(*ss));
	if (!strcmp(host, "localhost"))
		strcpy(host, "127.0.0.1");
	if (!*host || inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		if (!*host)
			in6->sin6_addr = in6addr_any;
		*len = sizeof(*in6);
		return true;
	}
	if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		*len = sizeof(*in);
		return true;
	}
	return false;
}

bool exporter_addr_valid(const char *addr)
{
	struct sockaddr_storage ss;
	socklen_t len;

	return parse_addr(addr, &ss, &len);
}

static int listen_on(const struct sockaddr_storage *ss, socklen_t len)
{
	int fd, one = 1, zero = 0;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* The any address serves IPv4 too. */
	if (ss->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (const struct sockaddr *)ss, len) || listen(fd, 16)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

struct exporter *exporter_open(const char *addr, exporter_snap_fn snap,
			       void *arg, const char *attach, char *err,
			       size_t err_len)
{
	struct sockaddr_storage ss;
	struct exporter *e;
	socklen_t len;
	int fd;

	if (!parse_addr(addr, &ss, &len)) {
		snprintf(err, err_len, "--listen: '%s' is not HOST:PORT", addr);
		return NULL;
	}
	fd = listen_on(&ss, len);
	/* No IPv6 in this kernel: any IPv4 address then. */
	if (fd == -EAFNOSUPPORT && ss.ss_family == AF_INET6 &&
	    IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&ss)->sin6_addr)) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;
		__u16 port = ((struct sockaddr_in6 *)&ss)->sin6_port;

		memset(&ss, 0, sizeof(ss));
		in->sin_family = AF_INET;
		in->sin_port = port;
		in->sin_addr.s_addr = htonl(INADDR_ANY);
		fd = listen_on(&ss, sizeof(*in));
	}
	if (fd < 0) {
		snprintf(err, err_len, "--listen %s: %s", addr, strerror(-fd));
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		close(fd);
		snprintf(err, err_len, "out of memory");
		return NULL;
	}
	e->fd = fd;
	e->snap = snap;
	e->arg = arg;
	e->attach = attach;
	return e;
}

int exporter_fd(const struct exporter *e)
{
	return e->fd;
}

void exporter_close(struct exporter *e)
{
	if (!e)
		return;
	close(e->fd);
	free(e);
}

static void send_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n <= 0)
			return;
		buf += n;
		len -= n;
	}
}

static void respond(int fd, const char *status, const char *type,
		    const char *body, size_t len)
{
	char head[256];
	int n;

	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
		     status, type, len);
	send_all(fd, head, n);
	send_all(fd, body, len);
}

/* Read the request head (up to the blank line); its length, or -1. */
static ssize_t read_request(int fd, char *buf, size_t size)
{
	size_t len = 0;

	while (len < size - 1) {
		ssize_t n = recv(fd, buf + len, size - 1 - len, 0);

		if (n <= 0)
			return -1;
		len += n;
		buf[len] = 0;
		if (strstr(buf, "\r\n\r\n") || strstr(buf, "\n\n"))
			return len;
	}
	return -1;
}

/* Does the request ask for OpenMetrics in its Accept header? */
static bool wants_openmetrics(const char *req)
{
	const char *line = req;

	while ((line = strchr(line, '\n'))) {
		line++;
		if (!strncasecmp(line, "Accept:", 7)) {
			const char *end = strchr(line, '\n');
			size_t n = end ? (size_t)(end - line) : strlen(line);
			char *h = strndup(line, n);
			bool om = h && strstr(h, "application/openmetrics-text");

			free(h);
			return om;
		}
	}
	return false;
}

static void serve_metrics(struct exporter *e, int fd, bool om)
{
	struct snapshot s = {};
	char *body = NULL;
	size_t len = 0;
	FILE *f;
	int rc;

	rc = e->snap(e->arg, &s);
	if (rc) {
		char msg[128];

		snprintf(msg, sizeof(msg), "reading the BPF maps: %s\n",
			 strerror(-rc));
		respond(fd, "500 Internal Server Error",
			"text/plain; charset=utf-8", msg, strlen(msg));
		return;
	}
	f = open_memstream(&body, &len);
	if (!f) {
		snapshot_free(&s);
		return;
	}
	exporter_render(f, &s, e->attach, om);
	fclose(f);
	respond(fd, "200 OK",
		om ? "application/openmetrics-text; version=1.0.0; charset=utf-8" :
		     "text/plain; version=0.0.4; charset=utf-8",
		body, len);
	free(body);
	snapshot_free(&s);
}

void exporter_serve(struct exporter *e)
{
	struct timeval tv = { .tv_sec = EXPORTER_TIMEOUT_S };
	char req[REQUEST_MAX], method[16], path[256];
	int fd;

	fd = accept4(e->fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (read_request(fd, req, sizeof(req)) < 0 ||
	    sscanf(req, "%15s %255s", method, path) != 2) {
		close(fd);
		return;
	}
	if (strcmp(method, "GET")) {
		const char *msg = "only GET\n";

		respond(fd, "405 Method Not Allowed", "text/plain", msg,
			strlen(msg));
	} else if (!strcmp(path, "/metrics")) {
		serve_metrics(e, fd, wants_openmetrics(req));
	} else if (!strcmp(path, "/")) {
		const char *msg = "iommutop exporter: metrics at /metrics\n";

		respond(fd, "200 OK", "text/plain; charset=utf-8", msg,
			strlen(msg));
	} else {
		const char *msg = "not found: metrics are at /metrics\n";

		respond(fd, "404 Not Found", "text/plain; charset=utf-8", msg,
			strlen(msg));
	}
	close(fd);
}

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * exporter.h - iommutop's OpenMetrics / Prometheus exporter: a minimal
 * HTTP server on one listening socket, served from iommutop's main loop.
 */
#ifndef IOMMUTOP_EXPORTER_H
#define IOMMUTOP_EXPORTER_H

#include <stdbool.h>
#include <stdio.h>

#include "model.h"

/*
 * Render the metrics of @s: the Prometheus text format 0.0.4, or with
 * @openmetrics OpenMetrics 1.0.0 (counter families without "_total",
 * "# EOF" at the end). @attach names the attach mode.
 */
void exporter_render(FILE *f, const struct snapshot *s, const char *attach,
		     bool openmetrics);

struct exporter;

/* A fresh snapshot for a scrape: 0 or -errno. */
typedef int (*exporter_snap_fn)(void *arg, struct snapshot *s);

/*
 * Listen on @addr ("HOST:PORT", "[V6]:PORT" or ":PORT" for any address).
 * NULL on failure, with the reason in @err.
 */
struct exporter *exporter_open(const char *addr, exporter_snap_fn snap,
			       void *arg, const char *attach, char *err,
			       size_t err_len);
/* The listening socket, to poll for POLLIN. */
int exporter_fd(const struct exporter *e);
/* Accept one connection and answer it (call when exporter_fd polls in). */
void exporter_serve(struct exporter *e);
void exporter_close(struct exporter *e);

/* Is @addr a well-formed HOST:PORT (port 1..65535)? For option checks. */
bool exporter_addr_valid(const char *addr);

#endif /* IOMMUTOP_EXPORTER_H */

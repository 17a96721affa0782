// SPDX-License-Identifier: GPL-2.0
/*
 * nestload - a DMA workload generator that behaves like a VMM on nestiommu.
 *
 *	nestload [--devices N] [--pasids M] [--ops COUNT | --duration S] ...
 *
 * Builds what a VMM with a vIOMMU builds (an IOAS of guest RAM, its
 * stage 2, per device and PASID a guest stage-1 table and a nested HWPT,
 * a fault queue), starts a PRI handler thread, drives DMA from threads
 * with the mix the options ask for, and prints its own counts, its
 * throughput and the driver's statistics of its objects (see --help and
 * report.c). The terms are defined in nestload.h.
 *
 * Exit status: 0; 1 if the run fails; 2 for bad options.
 */
#include <stdio.h>

#include "nestload.h"

int main(int argc, char **argv)
{
	struct nl_driver_stats st;
	struct nl_counters total;
	bool interrupted = false;
	double elapsed_s = 0;
	struct nl_world w;
	struct nl_opts o;
	int rc;

	rc = nl_opts_parse(argc, argv, &o);
	if (rc)
		return rc < 0 ? 0 : rc;	/* --help, or a bad option */
	rc = nl_world_setup(&w, &o);
	if (!rc)
		rc = nl_run(&w, &total, &elapsed_s, &interrupted);
	if (!rc)
		rc = nl_world_stats(&w, &st);
	if (!rc) {
		nl_report_print(stdout, &w, &total, elapsed_s, interrupted, &st);
		fflush(stdout);
	}
	nl_world_teardown(&w);
	return rc;
}

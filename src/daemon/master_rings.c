/* SPDX-License-Identifier: MIT */
/*
 * The master's side of FUSE over io_uring (docs/io_uring.md): the ring
 * buffers made before the first fork (or taken from a dead master), the
 * pool that becomes one worker per CPU, and the abort when a CPU's queue
 * can no longer be served. The workers' side is uring_worker.c.
 */
#include <errno.h>
#include <stdatomic.h>

#include "master_internal.h"
#include "shmfs/kernel.h"
#include "shmfs/log.h"
#include "shmfs/region.h"
#include "shmfs/restart.h"
#include "shmfs/uring.h"

/*
 * A connection that speaks rings blocks every request until each queue
 * has an entry: the pool becomes one worker per queue, and the buffers
 * they register are made here, before the first fork. io_uring = on with
 * no rings stops the start. Returns 0 or -1 (logged).
 */
int shmfs_master_start_rings(struct master *m)
{
	const struct shmfs_config *cfg = &m->cycle->cfg;
	struct shmfs_uring_geometry g;
	int err;

	if (!shmfs_kernel_uring()) {
		shmfs_uring_log_transport(cfg, shmfs_master_workers_asked(m),
					  0);
		if (cfg->io_uring != SHMFS_IO_URING_ON || m->adopted)
			return 0;
		shmfs_log_error("%s: io_uring = on: the connection does not "
				"speak it",
				cfg->file);
		return -1;
	}
	if (m->adopted && m->adopt->rings.base != NULL) {
		/* The dead generation's, where it registered them. */
		m->rings = m->adopt->rings;
		m->adopt->rings.base = NULL;
		m->adopt->rings.fd = -1;
		g = m->rings.g;
		err = g.nqueues == shmfs_uring_possible_cpus() &&
				      g.payload >= shmfs_kernel_uring_payload()
			      ? 0
			      : -EPROTO;
		if (err == 0 && cfg->io_uring == SHMFS_IO_URING_OFF)
			shmfs_log_notice("%s: io_uring = off: the adopted "
					 "connection speaks io_uring, and is "
					 "served so until it is unmounted",
					 cfg->file);
	} else {
		err = shmfs_uring_geometry(shmfs_uring_possible_cpus(),
					   SHMFS_URING_SLOTS,
					   shmfs_kernel_uring_payload(), &g);
		if (err == 0)
			err = shmfs_uring_region_create(&g, &m->rings);
	}
	if (err < 0) {
		shmfs_log_sys(LOG_ERR, -err,
			      "the ring buffers (%u queues) could not be %s",
			      g.nqueues, m->adopted ? "adopted" : "made");
		return -1;
	}
	m->uring = true;
	atomic_store(&shmfs_cycle_region(m->cycle)->uring, true);
	shmfs_master_configure_pool(m);
	shmfs_uring_log_transport(cfg, shmfs_master_workers_asked(m),
				  g.nqueues);
	return 0;
}

/*
 * A ring queue without a worker holds its CPU's callers for as long as it
 * has none: a slot whose workers keep failing at their start (three
 * quick deaths, not SIGKILLs), or that no fork could fill for two
 * seconds, aborts the connection, and every caller gets ENOTCONN. Returns
 * true once the abort is made.
 */
bool shmfs_master_rings_unserved(struct master *m)
{
	long long now = shmfs_pool_now();

	for (unsigned i = 0; i < m->pool.nchildren; i++) {
		if (m->pool.pids[i] != 0) {
			m->vacant_since[i] = 0;
			continue;
		}
		if (!((m->pool.quick_deaths[i] >= 3 && m->crashed[i]) ||
		      (m->vacant_since[i] != 0 &&
		       now - m->vacant_since[i] > 2000000000LL)))
			continue;
		int res = shmfs_kernel_abort(m->opts->mountpoint);
		if (res < 0)
			shmfs_log_sys(LOG_ERR, -res,
				      "worker of CPU %u cannot be replaced, "
				      "and aborting the connection failed",
				      i);
		else
			shmfs_log_error("the mount is aborted: worker of CPU "
					"%u cannot be replaced",
					i);
		return true; /* supervise stops: the workers end with it */
	}
	return false;
}

/* SPDX-License-Identifier: MIT */
/*
 * The master process: allocates the zones, mounts, answers FUSE INIT itself,
 * forks the pool and supervises it until a stop signal or an unmount, then
 * unmounts, stops the workers and frees every zone.
 */
#ifndef SHMFS_MASTER_H
#define SHMFS_MASTER_H

#include <stdbool.h>
#include <fuse_lowlevel.h>

#include "shmfs/config.h"

/* Exit statuses of the daemon (the spec's). */
enum {
	SHMFS_EXIT_OK = 0,
	SHMFS_EXIT_USAGE = 1, /* bad usage or configuration: nothing mounted */
	SHMFS_EXIT_MOUNT = 2, /* could not allocate zones or mount */
};

struct shmfs_master_opts {
	const char *mountpoint;
	unsigned workers; /* resolved: 1..SHMFS_WORKERS_MAX */
	bool foreground;
	struct fuse_args *fuse_args; /* mount options, for fuse_session_new */
	int pidfd; /* the locked pid file (cfg->pid) to write, or -1 */
};

/* Runs the daemon to its end; returns the exit status. */
int shmfs_master_run(const struct shmfs_config *cfg,
		     const struct shmfs_master_opts *opts);

#endif /* SHMFS_MASTER_H */

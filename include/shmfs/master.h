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

struct shmfs_adopt;
struct shmfs_config;

struct shmfs_master_opts {
	const char *mountpoint; /* absolute: the daemon leaves its cwd */
	const char *config;	/* -c, read again on reload; NULL: default */
	bool workers_set;	/* -w given: it overrides "workers" */
	unsigned workers;	/* -w: 1..256, or 0 for auto */
	bool foreground;
	bool debug;
	struct fuse_args *fuse_args; /* mount options, for fuse_session_new */
	const char *pidfile;	     /* for messages */
	int pidfd; /* the locked pid file to write the master's pid in, or -1 */
	/* The service manager's store, and what a dead master left in it. */
	struct shmfs_adopt *adopt;
};

/*
 * Runs the daemon to its end and returns the exit status. Takes over cfg
 * (left zeroed): a reload replaces it.
 */
int shmfs_master_run(struct shmfs_config *cfg,
		     const struct shmfs_master_opts *opts);

#endif /* SHMFS_MASTER_H */

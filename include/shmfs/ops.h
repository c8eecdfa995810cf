/* SPDX-License-Identifier: MIT */
/*
 * The FUSE low-level handlers: the zone table as a flat directory of regular
 * files. Handlers never block and never allocate on the request path; all
 * state they change is in the shared region, so any worker may serve any
 * request.
 */
#ifndef SHMFS_OPS_H
#define SHMFS_OPS_H

#include <fuse_lowlevel.h>
#include <sys/types.h>

#include "shmfs/statsfile.h"
#include "shmfs/zonetab.h"

/* The session's userdata: immutable once the pool is forked. */
struct shmfs_fs {
	struct shmfs_zonetab *tab;
	struct shmfs_region *region; /* tab's: counters, worker slots */
	struct shmfs_statsfile *stats;
	uint64_t generation; /* of tab: the reload count when it was made */
	struct shmfs_worker_slot *self; /* this worker's slot, set after fork */
	uid_t uid; /* owner of the root directory: the daemon's */
	gid_t gid;
	double timeout; /* seconds the kernel may cache names and attributes */
};

/*
 * Seconds the kernel may cache names and attributes. Every change goes
 * through this mount, and the kernel drops what a write or setattr changes,
 * so nothing it caches goes stale.
 */
#define SHMFS_CACHE_TIMEOUT 3600.0

extern const struct fuse_lowlevel_ops shmfs_ops;

#endif /* SHMFS_OPS_H */

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

struct shmfs_cycle;
struct shmfs_worker_slot;

extern const struct fuse_lowlevel_ops shmfs_ops;

/*
 * What this process serves, for the rest of its life: a worker calls it
 * once, before its first request, with the cycle it was forked to serve
 * (complete, never changed while workers run) and its own slot, where its
 * requests are counted. The session's userdata is not used: a worker
 * serves one cycle, and the session outlives cycles.
 */
void shmfs_ops_serve(struct shmfs_cycle *cycle, struct shmfs_worker_slot *self);

#endif /* SHMFS_OPS_H */

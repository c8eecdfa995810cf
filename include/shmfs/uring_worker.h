/* SPDX-License-Identifier: MIT */
/*
 * A worker serving its CPU's queue of FUSE over io_uring
 * (docs/io_uring.md): its own ring, the exit fence, the adoption of what
 * a dead predecessor held, the kick, and the loop that hands each entry's
 * request to libfuse and commits the reply from the entry's buffers.
 */
#ifndef SHMFS_URING_WORKER_H
#define SHMFS_URING_WORKER_H

#include <signal.h>
#include <fuse_lowlevel.h>

#include "shmfs/region.h"
#include "shmfs/ring.h"
#include "shmfs/uring_region.h"

/* What the setup made, for the loop (one per worker process). */
struct shmfs_uring_worker {
	struct fuse_session *se;
	const struct shmfs_uring_region *rings;
	unsigned qid;
	int devfd; /* a descriptor of the connection, for the commands */
	struct shmfs_ring ring, fence;
	struct shmfs_worker_slot *ws;
	int serving; /* the slot whose request libfuse handles, or -1 */
	/* Entries that recovery left to serve once the filter is on. */
	unsigned pending[SHMFS_URING_SLOTS], npending;
	unsigned entries;    /* slots registered or adopted: kept at DEPTH */
	int kick_fd;	     /* a byte here: the kick makes one request */
	bool warned_input;   /* a failed read of /dev/fuse was logged */
	_Atomic bool *uring; /* cleared when the kernel turns rings off */
};

/* shmfs_uring_worker_serve: the rings are off, serve /dev/fuse. */
#define SHMFS_URING_CLASSIC (-1)

/*
 * In a new worker, before it drops its privileges: makes its ring (with
 * its restrictions) and its fence, takes a non-blocking clone of the
 * device for FORGET and INTERRUPT, walks the slots of queue qid a dead
 * worker may have held (commits what can be committed at once, keeps the
 * rest for the loop), registers fresh entries up to the depth and, if a
 * worker served qid before, kicks the queue. devfd: the slot's clone or
 * the shared descriptor (kept). Returns 0 or -errno (logged: no ring
 * could be made).
 */
int shmfs_uring_worker_setup(struct shmfs_uring_worker *w,
			     struct fuse_session *se,
			     const struct shmfs_uring_region *rings,
			     unsigned qid, int devfd, const char *mountpoint,
			     struct shmfs_worker_slot *ws, _Atomic bool *uring);

/*
 * Serves until *stop or the connection ends; returns the worker's exit
 * status (exit.h), or SHMFS_URING_CLASSIC: the kernel refused an entry
 * (the connection's rings are off, *uring cleared, logged), and the
 * session's descriptor is the slot's again, for the /dev/fuse loop.
 */
int shmfs_uring_worker_serve(struct shmfs_uring_worker *w,
			     volatile sig_atomic_t *stop);

#endif /* SHMFS_URING_WORKER_H */

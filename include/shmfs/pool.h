/* SPDX-License-Identifier: MIT */
/*
 * A pool of forked children, one per slot: forked, reaped, replaced (at
 * once, or at most once a second for a slot whose children keep dying
 * right after their start), continued when a signal stopped one, and
 * stopped. What a child runs and what its exit means are the owner's
 * (callbacks), so the pool knows nothing of FUSE.
 */
#ifndef SHMFS_POOL_H
#define SHMFS_POOL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "shmfs/limits.h"

struct shmfs_pool {
	/*
	 * In the child, right after the fork: its whole life. It must not
	 * return; if it does, the child leaves with status 127.
	 */
	void (*body)(void *arg, unsigned slot);
	/*
	 * In the parent, for each child reaped (exited or killed, status as
	 * waitpid gives it); stopping: the pool is being stopped. Returns
	 * true if that exit ends the service (shmfs_pool_reap passes it on).
	 */
	bool (*reaped)(void *arg, unsigned slot, pid_t pid, int status,
		       bool stopping);
	void *arg;
	unsigned nchildren; /* slots 0 .. nchildren - 1 are kept filled */
	/* Counted where readers find them (NULL: not counted). */
	_Atomic uint64_t *respawns; /* children forked to replace one */
	_Atomic uint64_t *stops;    /* children found stopped, continued */
	long long stop_timeout_ns;  /* before SIGKILL; 0: 5 s */
	/*
	 * A slot whose children keep dying is refilled after 10 ms, twice
	 * as long at each quick death, up to 250 ms, instead of at most
	 * once a second: for a pool where a missing child stops a part of
	 * the service (a ring queue holds its CPU's callers). A slot that
	 * truly cannot run a child is the owner's to give up on.
	 */
	bool backoff;

	pid_t pids[SHMFS_WORKERS_MAX];	      /* 0: slot empty */
	long long started[SHMFS_WORKERS_MAX]; /* monotonic ns of last fork */
	/* Deaths in a row within a second of their start; 2+ throttles. */
	unsigned quick_deaths[SHMFS_WORKERS_MAX];
	/* The slot's last child left because the pool stopped it. */
	bool was_stopped[SHMFS_WORKERS_MAX];
};

/* Monotonic nanoseconds. */
long long shmfs_pool_now(void);

/* Forks a child into every slot. Returns 0 or -errno (logged). */
int shmfs_pool_start(struct shmfs_pool *pool);

/*
 * Reaps every child that left (calling reaped for each) and continues
 * (SIGCONT, one line each) those a signal stopped. Returns true if reaped
 * returned true for one.
 */
bool shmfs_pool_reap(struct shmfs_pool *pool, bool stopping);

/*
 * Forks children into empty slots, at once unless the slot's children keep
 * dying right after their start (then once its last start is a second
 * old); returns the nanoseconds until the next one may start, or -1.
 */
long long shmfs_pool_respawn(struct shmfs_pool *pool);

/*
 * Stops every child: SIGTERM, again after 0.6, 1.2, 2.5 and 5 ms and then
 * every 10 ms until all are gone, and
 * SIGKILL once stop_timeout_ns passed (one line says so).
 */
void shmfs_pool_stop(struct shmfs_pool *pool);

#endif /* SHMFS_POOL_H */

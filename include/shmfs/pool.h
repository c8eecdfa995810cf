/* SPDX-License-Identifier: MIT */
/*
 * The fork-pool as the master sees it: one slot per worker, forked,
 * reaped, replaced (at once, or at most once a second for a slot whose
 * workers keep dying right after their start), continued when a signal
 * stopped one, and stopped.
 */
#ifndef SHMFS_POOL_H
#define SHMFS_POOL_H

#include <stdbool.h>
#include <sys/types.h>
#include <fuse_lowlevel.h>

#include "shmfs/config.h"
#include "shmfs/ops.h"

struct shmfs_pool {
	struct fuse_session *se;
	struct shmfs_fs *fs; /* the session's userdata: what workers serve */
	unsigned nworkers;
	unsigned ncpus; /* cpu_affinity: worker i on cpus[i % ncpus] */
	unsigned short cpus[SHMFS_CPUS_MAX];
	int pidfd;     /* the master's locked pid file: closed in workers */
	int sigfd;     /* the master's signalfd (-1: none): likewise */
	bool user_set; /* user =: workers switch to uid and gid */
	uid_t uid;
	gid_t gid;
	pid_t pids[SHMFS_WORKERS_MAX];	      /* 0: slot empty */
	long long started[SHMFS_WORKERS_MAX]; /* monotonic ns of last fork */
	/* Deaths in a row within a second of their start; 2+ throttles. */
	unsigned quick_deaths[SHMFS_WORKERS_MAX];
};

/* Monotonic nanoseconds. */
long long shmfs_pool_now(void);

/* Forks a worker into every slot. Returns 0 or -errno (logged). */
int shmfs_pool_start(struct shmfs_pool *pool);

/*
 * Reaps exited workers, logging deaths with their decoded status unless
 * stopping, and continues (SIGCONT, one line each) workers that a signal
 * stopped. Returns true if one left because the connection ended.
 */
bool shmfs_pool_reap(struct shmfs_pool *pool, bool stopping);

/*
 * Forks workers into empty slots, at once unless the slot's workers keep
 * dying right after their start (then once its last start is a second
 * old); returns the nanoseconds until the next one may start, or -1.
 */
long long shmfs_pool_respawn(struct shmfs_pool *pool);

/* Sends sig to every live worker. */
void shmfs_pool_signal(struct shmfs_pool *pool, int sig);

/* Stops every worker (SIGTERM, again until gone, SIGKILL after 5 s). */
void shmfs_pool_stop(struct shmfs_pool *pool);

#endif /* SHMFS_POOL_H */

/* SPDX-License-Identifier: MIT */
/*
 * The master's state, shared by master.c (its life: the mount, the
 * signals, the pool) and master_change.c (what changes it: a reload, a
 * worker's death, an upgrade, a dead master's connection taken over).
 * Private to the daemon.
 */
#ifndef SHMFS_MASTER_INTERNAL_H
#define SHMFS_MASTER_INTERNAL_H

#include <stdbool.h>
#include <sys/types.h>
#include <fuse_lowlevel.h>

#include "shmfs/cycle.h"
#include "shmfs/limits.h"
#include "shmfs/master.h"
#include "shmfs/pool.h"
#include "shmfs/uring_region.h"

struct shmfs_adopt;

struct master {
	const struct shmfs_master_opts *opts;
	struct fuse_session *se;
	struct shmfs_cycle *cycle;    /* what is served now */
	struct shmfs_cycle_conn conn; /* backing files on se's connection */
	struct shmfs_pool pool;
	int sigfd; /* the signalfd (-1: none yet): closed in workers */
	pid_t pid; /* the master's, once detached: workers die with it */
	/*
	 * Each slot's clone of the device, made and kept here (and in the
	 * store) so that what a dead worker read can be resent; -1: none,
	 * the slot's worker reads the shared descriptor.
	 */
	int clones[SHMFS_WORKERS_MAX];
	bool no_clone; /* cloning failed once: every worker shares */
	bool resend;   /* the kernel resends what a dead worker read */
	bool died;     /* a worker died holding requests: resend them */
	bool died_slot[SHMFS_WORKERS_MAX]; /* ... and where */
	bool crashed[SHMFS_WORKERS_MAX];   /* ... not of a SIGKILL */
	bool reclone; /* no resend: a dead worker's clone was closed */
	/* libfuse's options: the command line's, or the adopted mount's */
	struct fuse_args *args;
	struct fuse_args adopted_args;
	struct shmfs_adopt *adopt; /* the store, and what it gave back */
	bool adopted;	    /* the connection is a dead master's: libfuse does
			     * not know it mounted it, so we unmount it */
	long long followed; /* backend = process: last rebuild (ns) */
	/*
	 * FUSE over io_uring: the connection speaks rings, served by one
	 * worker per queue (slot N serves CPU N) from these buffers.
	 */
	bool uring;
	struct shmfs_uring_region rings;
	long long vacant_since[SHMFS_WORKERS_MAX]; /* a ring slot's worker
						    * died then (0: has one) */
};

/*
 * backend = process: the pidfds of the programs the zones are attached
 * to, at most max, into fds; returns how many. *detached says whether a
 * zone waits for its program (then the master looks once a second).
 */
size_t shmfs_master_process_fds(const struct master *m, int *fds, size_t max,
				bool *detached);

/*
 * A program exited, or one a detached zone waits for runs: the running
 * configuration is built again (as a reload, from its text), so that the
 * zones let go of the dead program's memory, or attach. At most once a
 * second. Returns true if it rebuilt.
 */
bool shmfs_master_follow(struct master *m);

/* -w, else workers = (0: auto). */
static inline unsigned shmfs_master_workers_asked(const struct master *m)
{
	return m->opts->workers_set ? m->opts->workers : m->cycle->cfg.workers;
}

/*
 * After INIT (master_rings.c): a connection that speaks rings gets its
 * ring buffers (made, or the dead master's) and a pool of one worker per
 * CPU; io_uring = on without rings stops the start. Returns 0 or -1
 * (logged).
 */
int shmfs_master_start_rings(struct master *m);

/*
 * A ring queue that cannot be served any more aborts the connection
 * (logged); returns true once it has.
 */
bool shmfs_master_rings_unserved(struct master *m);

/* The pool's settings from the running configuration (and -w). */
void shmfs_master_configure_pool(struct master *m);

/* A clone of the device for every slot of the pool that has none. */
void shmfs_master_make_clones(struct master *m);

/* The store holds what the running cycle and connection need. */
void shmfs_master_keep(struct master *m);

/* The kernel forgets what the previous cycle said (after a swap). */
void shmfs_master_invalidate(struct master *m);

/* SIGHUP (see master_change.c). */
void shmfs_master_reload(struct master *m);

/* A worker died holding requests: they are resent (or fail fast). */
void shmfs_master_recover(struct master *m);

/* SIGUSR2; returns only if it could not: true if the master must exit. */
bool shmfs_master_upgrade(struct master *m);

/*
 * An adopted connection is taken over; the current file (cfg, taken)
 * applies as a reload would. True if a new cycle serves.
 */
bool shmfs_master_take_over(struct master *m, struct shmfs_config *cfg);

#endif /* SHMFS_MASTER_INTERNAL_H */

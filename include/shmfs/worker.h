/* SPDX-License-Identifier: MIT */
/*
 * A worker process: serves FUSE requests from its own clone of the session's
 * /dev/fuse descriptor until told to stop or the connection ends.
 */
#ifndef SHMFS_WORKER_H
#define SHMFS_WORKER_H

#include <fuse_lowlevel.h>
#include <sys/types.h>

#include "shmfs/ops.h"

/* Exit statuses a worker leaves with; anything else is a crash. */
enum {
	SHMFS_WORKER_STOPPED = 0,   /* asked to stop (SIGTERM/SIGINT) */
	SHMFS_WORKER_UNMOUNTED = 3, /* the connection ended: unmounted */
	SHMFS_WORKER_FAILED = 4,    /* could not start or read the device */
};

/*
 * Runs in a freshly forked child of master: names the process
 * "shmfs-worker", takes its own /dev/fuse clone and serves until the end.
 * The signal mask on entry is the master's (all blocked); the worker sets its
 * own. cpu >= 0 pins the worker to that CPU. Never returns.
 */
_Noreturn void shmfs_worker_run(struct fuse_session *se, struct shmfs_fs *fs,
				unsigned slot, pid_t master, int cpu);

#endif /* SHMFS_WORKER_H */

/* SPDX-License-Identifier: MIT */
/*
 * A worker process: serves FUSE requests from its own clone of the session's
 * /dev/fuse descriptor until told to stop or the connection ends.
 */
#ifndef SHMFS_WORKER_H
#define SHMFS_WORKER_H

#include <fuse_lowlevel.h>
#include <stdbool.h>
#include <sys/types.h>

#include "shmfs/ops.h"

/* How one worker starts. */
struct shmfs_worker_opts {
	unsigned slot;
	pid_t master;
	int cpu;       /* >= 0: pinned there */
	bool user_set; /* user =: switch to uid and gid */
	uid_t uid;
	gid_t gid;
};

/*
 * Runs in a freshly forked child of opts->master: names the process
 * "shmfs-worker", takes its own /dev/fuse clone, drops its privileges (see
 * privsep.h) and serves until the end. The signal mask on entry is the
 * master's (all blocked); the worker sets its own. Never returns.
 */
_Noreturn void shmfs_worker_run(struct fuse_session *se, struct shmfs_fs *fs,
				const struct shmfs_worker_opts *opts);

#endif /* SHMFS_WORKER_H */

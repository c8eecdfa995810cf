/* SPDX-License-Identifier: MIT */
/*
 * A worker process: serves FUSE requests from its own clone of the session's
 * /dev/fuse descriptor until told to stop or the connection ends; and what
 * the master makes of its exit.
 */
#ifndef SHMFS_WORKER_H
#define SHMFS_WORKER_H

#include <fuse_lowlevel.h>
#include <stdbool.h>
#include <sys/types.h>

struct shmfs_cycle;

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
 * privsep.h) and serves cycle until the end. The signal mask on entry is
 * the master's (all blocked); the worker sets its own. Never returns.
 */
_Noreturn void shmfs_worker_run(struct fuse_session *se,
				struct shmfs_cycle *cycle,
				const struct shmfs_worker_opts *opts);

/*
 * In the master, once the worker of slot (pid) was reaped with status:
 * answers the request it held on the shared descriptor, if any, with EIO
 * (or its caller would wait for as long as the mount lives), empties its
 * slot, and logs its death with the decoded status unless stopping or it
 * left cleanly. Returns true if it left because the connection ended.
 */
bool shmfs_worker_reaped(struct fuse_session *se, struct shmfs_cycle *cycle,
			 unsigned slot, pid_t pid, int status, bool stopping);

#endif /* SHMFS_WORKER_H */

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
struct shmfs_uring_region;

/* How one worker starts. */
struct shmfs_worker_opts {
	unsigned slot;
	pid_t master;
	int cpu;       /* >= 0: pinned there */
	bool user_set; /* user =: switch to uid and gid */
	uid_t uid;
	gid_t gid;
	/*
	 * The slot's clone of the session's device, which the master made
	 * and keeps (so that the requests a dead worker read stay on the
	 * connection, to be resent); -1: the shared descriptor.
	 */
	int device;
	/* On a death: the master resends what the worker read (see below). */
	bool resend;
	/*
	 * FUSE over io_uring: the ring buffers, and the queue (the CPU) this
	 * worker serves, pinned there; NULL: the worker reads /dev/fuse.
	 */
	const struct shmfs_uring_region *rings;
	unsigned qid;
	const char *mountpoint; /* for the kick (uring_worker.h) */
};

/*
 * Runs in a freshly forked child of opts->master: names the process
 * "shmfs-worker", reads the slot's clone (opts->device), drops its privileges
 * (see privsep.h) and serves cycle until the end. The signal mask on entry is
 * the master's (all blocked); the worker sets its own. Never returns.
 */
_Noreturn void shmfs_worker_run(struct fuse_session *se,
				struct shmfs_cycle *cycle,
				const struct shmfs_worker_opts *opts);

/*
 * In the master, once the worker of slot (pid) was reaped with status:
 * empties its slot and logs its death with the decoded status unless
 * stopping or it left cleanly. Unless resend (the master will have the
 * kernel resend what it read), the request it held on the shared
 * descriptor, if any, is answered with EIO (or its caller would wait for
 * as long as the mount lives). Returns true if it left because the
 * connection ended; *died: it did not leave cleanly, and what it had read
 * waits for a resend.
 */
bool shmfs_worker_reaped(struct fuse_session *se, struct shmfs_cycle *cycle,
			 unsigned slot, pid_t pid, int status, bool stopping,
			 bool resend, bool *died);

#endif /* SHMFS_WORKER_H */

/* SPDX-License-Identifier: MIT */
/*
 * The exit statuses of every shmfs program, in one place so that no
 * program includes another's header to learn them: the daemon and the
 * tools (-t, -s, status) as scripts and systemd see them, and a worker's
 * as its master reads them from waitpid.
 */
#ifndef SHMFS_EXIT_H
#define SHMFS_EXIT_H

/* Every command: the daemon, -t, -s and status. */
enum {
	SHMFS_EXIT_OK = 0,
	SHMFS_EXIT_USAGE = 1, /* bad usage or configuration: nothing done */
};

/* The daemon: it could not allocate the zones or mount. */
enum {
	SHMFS_EXIT_MOUNT = 2,
};

/* shmfs status MOUNTPOINT. */
enum {
	SHMFS_STATUS_NOT_SHMFS = 2,  /* not a live shmfs mount */
	SHMFS_STATUS_UNREADABLE = 3, /* its /.stats cannot be read or parsed */
};

/* A worker, as its master reads it; any other status is a crash. */
enum {
	SHMFS_WORKER_STOPPED = 0,   /* asked to stop (SIGTERM/SIGINT) */
	SHMFS_WORKER_UNMOUNTED = 3, /* the connection ended: unmounted */
	SHMFS_WORKER_FAILED = 4,    /* could not start or read the device */
	SHMFS_WORKER_SECCOMP = 5,   /* made a system call outside the filter */
};

#endif /* SHMFS_EXIT_H */

/* SPDX-License-Identifier: MIT */
/*
 * Least privilege for workers. A worker only reads requests from a device it
 * already holds and copies bytes between it and memory it already maps, so
 * once it has cloned the device it gives up everything else: the ids of
 * "user =" (a worker that a request subverts then holds no more than that
 * user's rights), every capability, the right to gain any
 * (PR_SET_NO_NEW_PRIVS), and every system call but the few it makes.
 */
#ifndef SHMFS_PRIVSEP_H
#define SHMFS_PRIVSEP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>

/*
 * Switches to uid and gid (supplementary groups: gid alone) if user_set,
 * then empties the capability bounding, ambient, inheritable, permitted and
 * effective sets and sets PR_SET_NO_NEW_PRIVS. Each failing call is logged.
 * Returns 0 or -errno.
 */
int shmfs_privsep_drop(bool user_set, uid_t uid, gid_t gid);

/*
 * Loads the workers' seccomp allow-list. A system call outside it is not
 * made: its number is stored in *violation and the process leaves with
 * _exit(exit_status), for the master to log. Returns 0 or -errno (logged).
 */
int shmfs_privsep_seccomp(_Atomic int *violation, int exit_status);

/* The name of system call nr, for messages ("socket"; "?" if unknown). */
const char *shmfs_privsep_syscall_name(int nr, char *buf, size_t len);

#endif /* SHMFS_PRIVSEP_H */

/* SPDX-License-Identifier: MIT */
/*
 * The pid file: held locked by the running master so that a second daemon
 * with the same file refuses to start, and read by "shmfs -s SIGNAL" to find
 * the master.
 */
#ifndef SHMFS_PIDFILE_H
#define SHMFS_PIDFILE_H

#include <sys/types.h>

/*
 * Opens or creates path as shmfs_file_open does (never through a symbolic
 * link, only a regular file) and locks it (flock, kept across fork); the
 * descriptor is in *fd. Returns 0; -EWOULDBLOCK if another process holds it
 * (its pid in *holder, or 0 if unreadable); -EPERM if another user owns
 * the file; as shmfs_file_open (see shmfs_file_strerror); or -errno.
 */
int shmfs_pidfile_lock(const char *path, int *fd, pid_t *holder);

/*
 * Replaces the file's content with this process's pid. Returns 0 or
 * -errno (-EIO for a short write), errno set to the same.
 */
int shmfs_pidfile_write(int fd);

/* Removes the file and closes fd (a failure logged); fd < 0 is ignored. */
void shmfs_pidfile_remove(const char *path, int fd);

/*
 * Reads the pid in path and checks that it is a live shmfs master (its comm
 * is "shmfs"). Returns 0, -ENOENT (no file), -ENODATA (an empty file: a
 * master between its lock and its write, which both come before it
 * mounts), -EBADMSG (no pid in the file), -ESRCH (no such process, or not
 * shmfs), as shmfs_file_open (see shmfs_file_strerror) or -errno.
 */
int shmfs_pidfile_read(const char *path, pid_t *pid);

#endif /* SHMFS_PIDFILE_H */

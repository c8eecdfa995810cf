/* SPDX-License-Identifier: MIT */
/*
 * Files the daemon writes as root at a path an administrator names (the pid
 * file, the log): opened without following a symbolic link and only if they
 * are plain regular files, so that nobody who can write the directory can
 * point root's writes at another file.
 */
#ifndef SHMFS_FILE_H
#define SHMFS_FILE_H

#include <sys/types.h>

/*
 * open(path, flags | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC, mode)
 * (O_NONBLOCK so that a FIFO cannot hang the daemon; it is cleared again),
 * then checks what was opened. Returns the descriptor, or:
 *   -ELOOP   path is a symbolic link;
 *   -EINVAL  it is not a regular file (a directory, a FIFO, a device);
 *   -EMLINK  it has another hard link (a link to a file elsewhere);
 *   -errno   open(2) or fstat(2) failed.
 */
int shmfs_file_open(const char *path, int flags, mode_t mode);

/*
 * Whether shmfs_file_open(path, O_WRONLY | O_APPEND | O_CREAT) would
 * succeed, without creating anything (for "shmfs -t"): the same returns,
 * and -errno of access(2) on the file, or on its directory if it does not
 * exist yet.
 */
int shmfs_file_check_writable(const char *path);

/* Says what a return of shmfs_file_open means, for messages. */
const char *shmfs_file_strerror(int err);

#endif /* SHMFS_FILE_H */

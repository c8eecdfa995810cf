/* SPDX-License-Identifier: MIT */
/*
 * Files the daemon writes as root at a path an administrator names (the pid
 * file, the log): opened without following a symbolic link and only if they
 * are plain regular files, so that nobody who can write the directory can
 * point root's writes at another file.
 */
#ifndef SHMFS_SAFEFILE_H
#define SHMFS_SAFEFILE_H

#include <limits.h>
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

/* Like shmfs_file_open, for name in the directory dirfd (or AT_FDCWD). */
int shmfs_file_openat(int dirfd, const char *name, int flags, mode_t mode);

/* Which rule a directory or link on the way to a file broke. */
enum shmfs_file_rule {
	SHMFS_FILE_OK,
	SHMFS_FILE_DIR_OWNER,	 /* a directory not root's or the daemon's */
	SHMFS_FILE_DIR_WRITABLE, /* group or other may write, not sticky */
	SHMFS_FILE_LINK_OWNER,	 /* a symbolic link not root's or ours */
};

struct shmfs_file_why {
	enum shmfs_file_rule rule;
	/*
	 * The directory or link at fault, or where the walk failed, as
	 * resolved (links followed); on success the directory reached.
	 */
	char at[PATH_MAX];
	uid_t uid;   /* its owner */
	mode_t mode; /* its permission bits */
};

/*
 * Opens (O_PATH) the directory that holds path's last component, walking
 * from / one component at a time: every directory on the way, with
 * symbolic links resolved, must be owned by root or the daemon's effective
 * uid and not be writable by group or others unless it is sticky (/tmp),
 * and every symbolic link on the way must be root's or the daemon's.
 * Nobody else can then change what the walk reached, so a file opened
 * with shmfs_file_openat in the returned directory is the one checked.
 * Sets *name to the last component (a pointer into path). Returns the
 * descriptor, or:
 *   -EPERM   a rule is broken: why says which, where, owner and mode;
 *   -EINVAL  path is not absolute or does not end in a file name;
 *   -ELOOP   more than 40 links;
 *   -errno   of openat(2), fstat(2) or readlinkat(2) (why->at names the
 *            component: -ENOENT, -ENOTDIR, -EACCES...).
 */
int shmfs_file_open_dir(const char *path, const char **name,
			struct shmfs_file_why *why);

/*
 * A refusal in words, for messages: "directory /tmp/pub is owned by uid
 * 65534, not root or the daemon's user", "directory /srv/x (mode 0777) is
 * writable by group or others and not sticky", "symbolic link /tmp/l is
 * owned by uid 65534, not root or the daemon's user".
 */
void shmfs_file_why_text(const struct shmfs_file_why *why, char *buf,
			 size_t len);

/*
 * Whether shmfs_file_open(path, O_WRONLY | O_APPEND | O_CREAT) would
 * succeed, without creating anything (for "shmfs -t"): the same returns,
 * and -errno of access(2) on the file, or on its directory if it does not
 * exist yet.
 */
int shmfs_file_check_writable(const char *path);

/* Says what a return of shmfs_file_open means, for messages. */
const char *shmfs_file_strerror(int err);

#endif /* SHMFS_SAFEFILE_H */

/* SPDX-License-Identifier: MIT */
/*
 * Checks of the mount point (see mountpoint.h). /proc/self/mounts is read
 * with getmntent, which undoes the octal escapes of spaces in paths.
 */
#include <errno.h>
#include <mntent.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/mount.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shmfs/log.h"
#include "shmfs/mountpoint.h"

/* True if a shmfs is mounted at path (the last mount there counts). */
static bool shmfs_at(const char *path)
{
	FILE *f = setmntent("/proc/self/mounts", "re");
	struct mntent *m;
	bool found = false;

	if (f == NULL)
		return false;
	while ((m = getmntent(f)) != NULL)
		if (strcmp(m->mnt_dir, path) == 0)
			found = strcmp(m->mnt_type, "fuse.shmfs") == 0;
	endmntent(f);
	return found;
}

int shmfs_mountpoint_check(const char *path, char **abs)
{
	struct statfs sfs;
	struct stat st;

	*abs = realpath(path, NULL);
	if (*abs == NULL && errno == ENOTCONN) {
		shmfs_log_error("cannot mount on %s: a dead FUSE mount is "
				"there; run fusermount3 -u %s first",
				path, path);
		return -ENOTCONN;
	}
	if (*abs == NULL) {
		int err = errno;
		shmfs_log_sys(LOG_ERR, err, "cannot mount on %s", path);
		return -err;
	}
	if (stat(*abs, &st) == 0 && !S_ISDIR(st.st_mode)) {
		shmfs_log_error("cannot mount on %s: not a directory", path);
		goto fail;
	}
	if (shmfs_at(*abs)) {
		/* statfs asks the daemon: a dead one cannot answer. */
		bool dead = statfs(*abs, &sfs) < 0 && errno == ENOTCONN;

		if (dead)
			shmfs_log_error(
				"cannot mount on %s: a dead shmfs mount "
				"is there; run fusermount3 -u %s first",
				path, path);
		else
			shmfs_log_error(
				"cannot mount on %s: a shmfs is already "
				"mounted there (stop it, or "
				"fusermount3 -u %s)",
				path, path);
		free(*abs);
		*abs = NULL;
		return dead ? -ENOTCONN : -EBUSY;
	}
	return 0;
fail:
	free(*abs);
	*abs = NULL;
	return -ENOTDIR;
}

int shmfs_mountpoint_release(const char *path)
{
	pid_t pid;
	int status;

	if (!shmfs_at(path))
		return 0;
	/* Lazily: a FUSE mount's umount sends nothing that could block. */
	if (geteuid() == 0) {
		if (umount2(path, MNT_DETACH) == 0)
			return 0;
		shmfs_log_sys(LOG_ERR, errno, "umount2(%s, MNT_DETACH) failed",
			      path);
		return -errno;
	}
	pid = fork();
	if (pid == 0) {
		execlp("fusermount3", "fusermount3", "-u", "-z", "--", path,
		       (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		shmfs_log_error("fusermount3 -u -z %s failed", path);
		return -EIO;
	}
	return 0;
}

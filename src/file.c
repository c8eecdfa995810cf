/* SPDX-License-Identifier: MIT */
/*
 * Opening the files root writes at configured paths. O_NOFOLLOW refuses a
 * symbolic link planted in a world-writable directory; fstat on what was
 * opened (not a second lookup of the path) refuses anything but a regular
 * file with one link.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shmfs/file.h"

int shmfs_file_open(const char *path, int flags, mode_t mode)
{
	struct stat st;
	int fd = open(path,
		      flags | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC,
		      mode);
	int err = 0;

	if (fd < 0) /* ENXIO: a FIFO or socket with no reader */
		return errno == ENXIO ? -EINVAL : -errno;
	if (fstat(fd, &st) < 0)
		err = -errno;
	else if (!S_ISREG(st.st_mode))
		err = -EINVAL;
	else if (st.st_nlink > 1)
		err = -EMLINK;
	else if (fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0)
		err = -errno;
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

int shmfs_file_check_writable(const char *path)
{
	struct stat st;
	char dir[4096];
	const char *slash = strrchr(path, '/');

	if (lstat(path, &st) == 0) {
		if (S_ISLNK(st.st_mode))
			return -ELOOP;
		if (!S_ISREG(st.st_mode))
			return -EINVAL;
		if (st.st_nlink > 1)
			return -EMLINK;
		return access(path, W_OK) < 0 ? -errno : 0;
	}
	if (errno != ENOENT || slash == NULL)
		return -errno;
	snprintf(dir, sizeof(dir), "%.*s",
		 slash == path ? 1 : (int)(slash - path), path);
	return access(dir, W_OK | X_OK) < 0 ? -errno : 0;
}

const char *shmfs_file_strerror(int err)
{
	switch (err) {
	case -ELOOP:
		return "is a symbolic link (refused)";
	case -EINVAL:
		return "is not a regular file (refused)";
	case -EMLINK:
		return "has another hard link (refused)";
	default:
		return strerror(-err);
	}
}

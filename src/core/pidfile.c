/* SPDX-License-Identifier: MIT */
/*
 * The pid file, held locked besides (flock) so that the lock, not the
 * file's presence, says whether a master runs: the file exists only
 * while a master holds it, and a stale file from a killed master is
 * taken over because nobody holds its lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shmfs/log.h"
#include "shmfs/pidfile.h"
#include "shmfs/safefile.h"

/*
 * The pid written in fd's file, or 0; *empty tells an empty file (a master
 * between its lock and its write) from one holding something else.
 */
static pid_t read_pid(int fd, bool *empty)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	char *end;

	*empty = n == 0;
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	long pid = strtol(buf, &end, 10);
	if (end == buf || (*end != '\n' && *end != '\0') || pid <= 0)
		return 0;
	return (pid_t)pid;
}

/* True if path still names the file open at fd (not unlinked or replaced). */
static bool still_named(const char *path, int fd)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && lstat(path, &b) == 0 &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int shmfs_pidfile_lock(const char *path, int *fd, pid_t *holder)
{
	*holder = 0;
	for (;;) {
		struct stat st;
		int f = shmfs_file_open(path, O_RDWR | O_CREAT, 0644);

		if (f < 0)
			return f;
		/* Someone else's file in a shared directory: not ours to write.
		 */
		if (fstat(f, &st) < 0 || st.st_uid != geteuid()) {
			close(f);
			return -EPERM;
		}
		if (flock(f, LOCK_EX | LOCK_NB) < 0) {
			int err = errno;
			bool empty;

			*holder = read_pid(f, &empty);
			close(f);
			return -err;
		}
		/*
		 * A master that was stopping unlinked the file between our
		 * open and our lock: lock the path's new file instead.
		 */
		if (still_named(path, f)) {
			*fd = f;
			return 0;
		}
		close(f);
	}
}

int shmfs_pidfile_write(int fd)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());

	/* The pid, then the cut: never an empty file for a reader to meet. */
	ssize_t written = pwrite(fd, buf, n, 0);

	if (written >= 0 && written != n)
		errno = EIO; /* a short write sets no errno of its own */
	if (written != n || ftruncate(fd, n) < 0)
		return -errno;
	return 0;
}

void shmfs_pidfile_remove(const char *path, int fd)
{
	if (fd < 0)
		return;
	/* Unlink while still holding the lock: no one takes it in between. */
	if (unlink(path) < 0 && errno != ENOENT)
		shmfs_log_sys(LOG_WARNING, errno, "unlink(\"%s\") failed",
			      path);
	if (close(fd) < 0)
		shmfs_log_sys(LOG_WARNING, errno, "close(%d) of %s failed", fd,
			      path);
}

int shmfs_pidfile_read(const char *path, pid_t *pid)
{
	char proc[64], comm[32] = "";
	int fd = shmfs_file_open(path, O_RDONLY, 0);
	bool empty;
	FILE *f;

	if (fd < 0)
		return fd;
	*pid = read_pid(fd, &empty);
	close(fd);
	if (*pid == 0)
		return empty ? -ENODATA : -EBADMSG;

	snprintf(proc, sizeof(proc), "/proc/%d/comm", (int)*pid);
	f = fopen(proc, "re");
	if (f == NULL)
		return -ESRCH;
	if (fgets(comm, sizeof(comm), f) == NULL)
		comm[0] = '\0';
	fclose(f);
	return strcmp(comm, "shmfs\n") == 0 ? 0 : -ESRCH;
}

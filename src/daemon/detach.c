/* SPDX-License-Identifier: MIT */
/*
 * Detaching (see detach.h). The parent's exit status tells the shell
 * whether the mount came up: one byte on a pipe says it did; the pipe
 * closing without it (the master died) says it did not.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "shmfs/detach.h"
#include "shmfs/exit.h"
#include "shmfs/log.h"

int shmfs_detach(int *ready)
{
	int fds[2];
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0) {
		int err = errno;
		shmfs_log_sys(LOG_ERR, err, "detaching failed: pipe2() failed");
		return -err;
	}
	if ((pid = fork()) < 0) {
		int err = errno;
		shmfs_log_sys(LOG_ERR, err, "detaching failed: fork() failed");
		close(fds[0]);
		close(fds[1]);
		return -err;
	}
	if (pid > 0) {
		char c;

		close(fds[1]);
		_exit(read(fds[0], &c, 1) == 1 ? SHMFS_EXIT_OK
					       : SHMFS_EXIT_MOUNT);
	}
	close(fds[0]);
	*ready = fds[1];

	if (setsid() < 0)
		shmfs_log_sys(LOG_WARNING, errno, "setsid() failed");
	if (chdir("/") < 0)
		shmfs_log_sys(LOG_WARNING, errno, "chdir(\"/\") failed");
	return 0;
}

void shmfs_detach_stdio(void)
{
	int fd = open("/dev/null", O_RDWR);

	if (fd < 0) {
		shmfs_log_sys(LOG_WARNING, errno, "open(\"/dev/null\") failed");
		return;
	}
	for (int std = STDIN_FILENO; std <= STDERR_FILENO; std++)
		if (dup2(fd, std) < 0)
			shmfs_log_sys(LOG_WARNING, errno, "dup2(%d, %d) failed",
				      fd, std);
	if (fd > STDERR_FILENO)
		close(fd);
}

void shmfs_detach_ready(int ready)
{
	if (ready < 0)
		return;
	ssize_t unused = write(ready, "", 1);
	(void)unused;
	close(ready);
}

/* SPDX-License-Identifier: MIT */
/*
 * shmfs -s (see control.h). Waiting for a stop polls /proc/PID/stat: the
 * master is not our child, and a master whose parent has not reaped it yet
 * is a zombie, which kill(pid, 0) would still find. An upgrade first reads
 * /proc/PID/status: SIGUSR2 must not kill a master that predates it.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "shmfs/config.h"
#include "shmfs/control.h"
#include "shmfs/exit.h"
#include "shmfs/log.h"
#include "shmfs/pidfile.h"
#include "shmfs/safefile.h"

/* True while pid exists and is not a zombie. */
static bool running(pid_t pid)
{
	char path[64], buf[512], *state;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (f == NULL)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	state = strrchr(buf, ')');
	return state && state[1] == ' ' && state[2] != 'Z' && state[2] != 'X';
}

/*
 * The SigBlk, SigIgn and SigCgt masks of /proc/PID/status, or'ed: 1 if
 * pid blocks, ignores or catches sig, 0 if its default action would be
 * taken, -1 if the file does not say.
 */
static int takes_signal(pid_t pid, int sig)
{
	char path[64], line[256];
	unsigned long long mask, all = 0;
	int found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "SigBlk: %llx", &mask) != 1 &&
		    sscanf(line, "SigIgn: %llx", &mask) != 1 &&
		    sscanf(line, "SigCgt: %llx", &mask) != 1)
			continue;
		all |= mask;
		found++;
	}
	fclose(f);
	if (found != 3)
		return -1;
	return (all >> (sig - 1) & 1) != 0;
}

/*
 * SIGUSR2's default action ends a process: a master from before upgrades,
 * which neither blocks nor catches it, would die of "-s upgrade" and take
 * its mount and its zones' bytes with it. Such a master is not signalled.
 * A master that upgrades keeps SIGUSR2 blocked for its signalfd (sigwait
 * would not do: the kernel lifts the block while it waits).
 */
static bool may_signal(const char *path, pid_t pid, int sig)
{
	int res;

	if (sig != SIGUSR2)
		return true;
	res = takes_signal(pid, sig);
	if (res > 0)
		return true;
	if (res == 0)
		shmfs_log_error("%s: pid %d does not take upgrades (a shmfs "
				"from before -s upgrade: SIGUSR2 would end it "
				"and its mount); not signalled: restart it "
				"instead",
				path, (int)pid);
	else
		shmfs_log_error("%s: pid %d: /proc/%d/status does not say "
				"whether it takes SIGUSR2; not signalled",
				path, (int)pid, (int)pid);
	return false;
}

static int wait_exit(pid_t pid)
{
	struct timespec tick = {0, 20 * 1000 * 1000};

	for (int i = 0; i < SHMFS_STOP_TIMEOUT_S * 50; i++) {
		if (!running(pid))
			return SHMFS_EXIT_OK;
		nanosleep(&tick, NULL);
	}
	shmfs_log_error("pid %d did not exit within %d s of SIGTERM", (int)pid,
			SHMFS_STOP_TIMEOUT_S);
	return SHMFS_EXIT_USAGE;
}

/*
 * The pid file to signal: -p, or pid = as the daemon's parser reads it.
 * A reload is refused here, with the parser's message, when the file
 * would not load: the master would only log that and keep running, and
 * systemctl reload and scripts would see success.
 */
static int find_pid(const char *config, int sig, char **pid)
{
	char err[1024];
	int res = shmfs_config_load_pid(config, pid, err, sizeof(err));

	if (res < 0 && sig == SIGHUP) {
		shmfs_log_error("%s; not reloading (the daemon was not "
				"signalled)",
				err);
		free(*pid);
		*pid = NULL;
		return -1;
	}
	if (res < 0 && *pid == NULL) {
		shmfs_log_error("%s", err);
		return -1;
	}
	if (res < 0)
		shmfs_log_warn("%s (using pid = %s above it)", err, *pid);
	return 0;
}

int shmfs_control_signal(const char *pidfile, const char *config, int sig)
{
	char *found = NULL;
	const char *path;
	int status = SHMFS_EXIT_USAGE, res;
	pid_t pid;

	/* A reload reads the file: it is checked even with -p. */
	if ((pidfile == NULL || sig == SIGHUP) &&
	    find_pid(config, sig, &found) < 0)
		return status;
	path = pidfile ? pidfile : found;
	if (path == NULL) {
		shmfs_log_error("%s: no pid file (set pid = in [shmfs], or "
				"give -p FILE)",
				config ? config : "the configuration");
		return status;
	}
	res = shmfs_pidfile_read(path, &pid);
	if (res == -ESRCH)
		shmfs_log_error("%s: pid %d is not a running shmfs", path,
				(int)pid);
	else if (res == -ENODATA)
		shmfs_log_error("%s: empty: no master to signal yet (one that "
				"is starting writes its pid before it mounts)",
				path);
	else if (res == -EBADMSG)
		shmfs_log_error("%s: holds no pid: not a pid file", path);
	else if (res < 0)
		shmfs_log_error("%s: no master to signal: %s", path,
				shmfs_file_strerror(res));
	else if (!may_signal(path, pid, sig))
		status = SHMFS_EXIT_USAGE; /* said why */
	else if (kill(pid, sig) < 0)
		shmfs_log_sys(LOG_ERR, errno, "kill(%d, %s) failed", (int)pid,
			      strsignal(sig));
	else
		status = sig == SIGTERM ? wait_exit(pid) : SHMFS_EXIT_OK;
	free(found);
	return status;
}

/* SPDX-License-Identifier: MIT */
/*
 * shmfs -s (see control.h). Waiting for a stop polls /proc/PID/stat: the
 * master is not our child, and a master whose parent has not reaped it yet
 * is a zombie, which kill(pid, 0) would still find.
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
#include "shmfs/file.h"
#include "shmfs/log.h"
#include "shmfs/master.h"
#include "shmfs/pidfile.h"

/* s without its leading and trailing blanks (in place). */
static char *trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && strchr(" \t\r\n", end[-1]))
		*--end = '\0';
	return s;
}

char *shmfs_control_find_pid(const char *path)
{
	FILE *f;
	char line[4096], *found = NULL;
	bool global = false;

	if (path == NULL && access(shmfs_config_default_path(), F_OK) == 0)
		path = shmfs_config_default_path();
	if (path == NULL || (f = fopen(path, "re")) == NULL)
		return NULL;
	while (found == NULL && fgets(line, sizeof(line), f)) {
		char *s = trim(line), *eq, *c;

		if (*s == '[') {
			global = strncmp(s, "[shmfs]", 7) == 0;
			continue;
		}
		eq = strchr(s, '=');
		if (!global || eq == NULL)
			continue;
		*eq = '\0';
		if (strcmp(trim(s), "pid") != 0)
			continue;
		s = eq + 1;
		for (c = s; *c; c++) /* inline comment: after a blank */
			if ((*c == ';' || *c == '#') && c > s &&
			    (c[-1] == ' ' || c[-1] == '\t'))
				*c = '\0';
		s = trim(s);
		if (*s == '/')
			found = strdup(s);
	}
	fclose(f);
	return found;
}

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

int shmfs_control_signal(const char *pidfile, const char *config, int sig)
{
	char *found = pidfile ? NULL : shmfs_control_find_pid(config);
	const char *path = pidfile ? pidfile : found;
	int status = SHMFS_EXIT_USAGE, res;
	pid_t pid;

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
	else if (kill(pid, sig) < 0)
		shmfs_log_sys(LOG_ERR, errno, "kill(%d, %s) failed", (int)pid,
			      strsignal(sig));
	else
		status = sig == SIGTERM ? wait_exit(pid) : SHMFS_EXIT_OK;
	free(found);
	return status;
}

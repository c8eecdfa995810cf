/* SPDX-License-Identifier: MIT */
/*
 * Scans /proc for processes that share the workers' uid (see uidscan.h).
 * Each /proc/PID/status is read once; its Uid: line holds the real,
 * effective, saved and filesystem uids. Only the first three let a process
 * act on another: the kernel compares them for kill(2) and friends.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shmfs/config.h"
#include "shmfs/log.h"
#include "shmfs/uidscan.h"

/* The workers' name (worker.c sets it with PR_SET_NAME). */
#define WORKER_NAME "shmfs-worker"

/*
 * Reads the Name: and Uid: lines of one status file. Returns 1 if one of
 * the three uids is uid (name filled), 0 if not, -1 if unreadable.
 */
static int status_matches(FILE *f, uid_t uid, char *name, size_t len)
{
	char line[256];
	int found = -1;

	name[0] = '\0';
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned long r, e, s;

		if (strncmp(line, "Name:", 5) == 0) {
			char *v = line + 5;

			v += strspn(v, " \t");
			v[strcspn(v, "\n")] = '\0';
			snprintf(name, len, "%s", v);
		} else if (sscanf(line, "Uid: %lu %lu %lu", &r, &e, &s) == 3) {
			found = r == uid || e == uid || s == uid;
			break; /* Name: comes first */
		}
	}
	return found;
}

static bool all_digits(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

int shmfs_uidscan(const char *proc, uid_t uid, pid_t self,
		  struct shmfs_uidscan *out)
{
	DIR *dir = opendir(proc);
	struct dirent *de;

	memset(out, 0, sizeof(*out));
	if (dir == NULL)
		return -errno;
	while ((de = readdir(dir)) != NULL) {
		char path[512], name[sizeof(out->name)];
		long pid;
		FILE *f;
		int hit;

		if (!all_digits(de->d_name))
			continue;
		pid = strtol(de->d_name, NULL, 10);
		if (pid == self)
			continue;
		snprintf(path, sizeof(path), "%s/%s/status", proc, de->d_name);
		f = fopen(path, "re");
		if (f == NULL) /* ended since readdir */
			continue;
		hit = status_matches(f, uid, name, sizeof(name));
		fclose(f);
		if (hit <= 0 || strcmp(name, WORKER_NAME) == 0)
			continue;
		if (out->count++ == 0 || pid < out->pid) {
			out->pid = (pid_t)pid;
			snprintf(out->name, sizeof(out->name), "%s", name);
		}
	}
	closedir(dir);
	return 0;
}

void shmfs_uidscan_warn(const struct shmfs_config *cfg)
{
	struct shmfs_uidscan scan;
	int res;

	/* Root's processes can act on any worker, whatever its uid. */
	if (!cfg->user_set || cfg->user == 0)
		return;
	res = shmfs_uidscan("/proc", cfg->user, getpid(), &scan);
	if (res < 0) {
		shmfs_log_sys(LOG_WARNING, -res,
			      "opendir(\"/proc\") failed: cannot tell whether "
			      "uid %u is shared",
			      (unsigned)cfg->user);
		return;
	}
	if (scan.count == 0)
		return;
	shmfs_log_warn("%s:%d: user = %s: uid %u is shared with %u running "
		       "process%s (e.g. pid %d %s): they could stop, kill, "
		       "renice or limit the workers; use a user of their "
		       "own (" SHMFS_DEFAULT_USER ")",
		       cfg->file, cfg->user_line, cfg->user_name,
		       (unsigned)cfg->user, scan.count,
		       scan.count == 1 ? "" : "es", (int)scan.pid, scan.name);
}

/* SPDX-License-Identifier: MIT */
/*
 * Logging in the manner of OpenSMTPD's log.c: one formatted line per event,
 * to stderr, syslog or a file chosen once at start-up. Each process writes
 * its line with a single write(2) so that lines from workers sharing one file
 * never interleave.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <stdbool.h>

#include "shmfs/file.h"
#include "shmfs/log.h"

enum dest { DEST_STDERR, DEST_SYSLOG, DEST_FILE };

static enum dest log_dest = DEST_STDERR;
static int log_fd = STDERR_FILENO;
static int log_max = LOG_NOTICE;
static char log_path[4096];

static const char *const level_names[] = {
	[LOG_EMERG] = "emerg", [LOG_ALERT] = "alert",  [LOG_CRIT] = "crit",
	[LOG_ERR] = "error",   [LOG_WARNING] = "warn", [LOG_NOTICE] = "notice",
	[LOG_INFO] = "info",   [LOG_DEBUG] = "debug",
};

/* Who else writes the log file: workers under "user =" (see set_owner). */
static bool owner_set;
static uid_t owner_uid;
static gid_t owner_gid;

/*
 * The log file is root's: never written through a link (see file.h). A
 * root master hands it to the workers' user, as nginx does, so that they
 * can open it again after rotation.
 */
static int open_file(const char *path)
{
	int fd = shmfs_file_open(path, O_WRONLY | O_APPEND | O_CREAT, 0640);

	if (fd >= 0 && owner_set && geteuid() == 0 &&
	    fchown(fd, owner_uid, owner_gid) < 0) {
		int err = errno;
		close(fd);
		return -err;
	}
	return fd;
}

int shmfs_log_set_owner(uid_t uid, gid_t gid)
{
	owner_set = true;
	owner_uid = uid;
	owner_gid = gid;
	if (log_dest != DEST_FILE || geteuid() != 0)
		return 0;
	return fchown(log_fd, uid, gid) < 0 ? -errno : 0;
}

int shmfs_log_open(const char *dest, int level, bool foreground)
{
	log_max = level;
	if (dest == NULL)
		dest = foreground ? "stderr" : "syslog";

	if (strcmp(dest, "stderr") == 0) {
		shmfs_log_close();
		return 0;
	}
	if (strcmp(dest, "syslog") == 0) {
		shmfs_log_close();
		openlog("shmfs", LOG_PID | LOG_NDELAY, LOG_DAEMON);
		log_dest = DEST_SYSLOG;
		return 0;
	}

	int fd = open_file(dest);
	if (fd < 0)
		return fd;
	shmfs_log_close();
	snprintf(log_path, sizeof(log_path), "%s", dest);
	log_fd = fd;
	log_dest = DEST_FILE;
	return 0;
}

void shmfs_log_close(void)
{
	if (log_dest == DEST_SYSLOG)
		closelog();
	if (log_dest == DEST_FILE)
		close(log_fd);
	log_dest = DEST_STDERR;
	log_fd = STDERR_FILENO;
}

int shmfs_log_reopen(void)
{
	if (log_dest != DEST_FILE)
		return 0;

	int fd = open_file(log_path), err = 0;
	if (fd < 0)
		return fd;
	if (dup2(fd, log_fd) < 0)
		err = -errno;
	close(fd);
	return err;
}

__attribute__((format(printf, 3, 0))) static void
vlog(int level, int err, const char *fmt, va_list ap)
{
	char line[1024];
	int n = 0;

	if (level > log_max)
		return;

	if (log_dest == DEST_FILE) {
		char stamp[32];
		struct tm tm;
		time_t now = time(NULL);

		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S",
			 localtime_r(&now, &tm));
		n = snprintf(line, sizeof(line), "%s shmfs[%d]: %s: ", stamp,
			     (int)getpid(), level_names[level]);
	} else if (log_dest == DEST_STDERR) {
		n = snprintf(line, sizeof(line), "shmfs: ");
	}
	n += vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (err != 0 && (size_t)n < sizeof(line))
		n += snprintf(line + n, sizeof(line) - n, " (%d: %s)", err,
			      strerror(err));
	/* Truncated lines still end in a newline. */
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;

	if (log_dest == DEST_SYSLOG) {
		syslog(level, "%s", line);
		return;
	}
	line[n++] = '\n';
	/* One write per line: workers share the descriptor. */
	ssize_t unused = write(log_fd, line, n);
	(void)unused;
}

void shmfs_log(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, 0, fmt, ap);
	va_end(ap);
}

void shmfs_log_sys(int level, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, err, fmt, ap);
	va_end(ap);
}

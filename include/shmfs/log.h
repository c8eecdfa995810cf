/* SPDX-License-Identifier: MIT */
/*
 * Logging: one line per event, to stderr in the foreground, to syslog when
 * detached, or appended to a file. Levels are syslog's priorities.
 */
#ifndef SHMFS_LOG_H
#define SHMFS_LOG_H

#include <stdbool.h>
#include <syslog.h>
#include <sys/types.h>

/*
 * Chooses where messages go and which are kept. dest is NULL (stderr when
 * foreground, else syslog), "stderr", "syslog" or a file path (opened for
 * append). Returns 0, or -errno if the file cannot be opened (the previous
 * destination is kept).
 */
int shmfs_log_open(const char *dest, int level, bool foreground);

/* Closes a log file or syslog; later messages go to stderr. */
void shmfs_log_close(void);

/*
 * From now on a log file (the current one, and those opened later by a
 * process running as root) belongs to uid and gid: the workers' user can
 * then open it again after rotation. Returns 0 or -errno from fchown.
 */
int shmfs_log_set_owner(uid_t uid, gid_t gid);

/* Reopens a log file (after rotation). Returns 0 or -errno. */
int shmfs_log_reopen(void);

void shmfs_log(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Appends " (ERR: strerror(ERR))" to the message; err is a positive errno. */
void shmfs_log_sys(int level, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define shmfs_log_error(...) shmfs_log(LOG_ERR, __VA_ARGS__)
#define shmfs_log_warn(...) shmfs_log(LOG_WARNING, __VA_ARGS__)
#define shmfs_log_notice(...) shmfs_log(LOG_NOTICE, __VA_ARGS__)
#define shmfs_log_info(...) shmfs_log(LOG_INFO, __VA_ARGS__)
#define shmfs_log_debug(...) shmfs_log(LOG_DEBUG, __VA_ARGS__)

#endif /* SHMFS_LOG_H */

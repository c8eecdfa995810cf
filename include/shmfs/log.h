/* SPDX-License-Identifier: MIT */
/*
 * Logging: one line per event, to stderr in the foreground, to syslog when
 * detached, or appended to a file. Levels are syslog's priorities. A log
 * file is the master's: workers send their lines to it through a pipe
 * (see log.c), so that rotation is one reopen, in the master.
 */
#ifndef SHMFS_LOG_H
#define SHMFS_LOG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <syslog.h>
#include <sys/types.h>

/*
 * Chooses where messages go and which are kept. dest is NULL (stderr when
 * foreground, else syslog), "stderr", "syslog" or a file path (opened for
 * append, with the workers' pipe). A root process takes back a file that
 * another user owns (fchown to root, mode 0640 at most) and logs that it
 * did. Returns 0, or -errno if the file cannot be opened or the pipe made
 * (the previous destination is kept).
 */
int shmfs_log_open(const char *dest, int level, bool foreground);

/* Closes a log file or syslog; later messages go to stderr. */
void shmfs_log_close(void);

/*
 * Reopens a log file (after rotation): what the workers' pipe holds goes
 * to the old file first. Returns 0 or -errno (the old file is kept).
 */
int shmfs_log_reopen(void);

/*
 * The read end of the workers' pipe while the log is a file, for the
 * master's poll(); -1 otherwise.
 */
int shmfs_log_pipe_fd(void);

/*
 * Appends the workers' lines waiting in the pipe to the log file (whole
 * lines only; a bounded amount per call). Does nothing unless this process
 * holds the log file and its pipe. Never blocks.
 */
void shmfs_log_drain(void);

/*
 * In a worker, first thing after the fork: a log file is closed and this
 * process's lines go to the master through the pipe from now on; lines
 * that find the pipe full are added to *dropped (may be NULL). Other
 * destinations (stderr, syslog) stay as they are.
 */
void shmfs_log_to_master(_Atomic uint64_t *dropped);

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

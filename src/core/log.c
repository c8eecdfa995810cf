/* SPDX-License-Identifier: MIT */
/*
 * Logging: one formatted line per event, to stderr, syslog or a file
 * chosen once at start-up. Each process writes its line with a single
 * write(2) so that lines from several processes never interleave.
 *
 * A log file is the master's alone: it opens it, owns it and reopens it
 * after rotation. Workers, which run as another user and could neither
 * reopen it nor be trusted with write access to root's file, send their
 * lines through a pipe whose write end they inherit; the master appends
 * what arrives to the file it has open now. A line is at most
 * LINE_MAX_BYTES, below PIPE_BUF, so each write to the pipe is atomic.
 * The write end is non-blocking: a worker never waits for the master, and
 * a line that finds the pipe full is dropped and counted (and the count
 * logged with the worker's next line that gets through).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <stdbool.h>

#include "shmfs/safefile.h"
#include "shmfs/log.h"

/* The longest line, its newline included. */
#define LINE_MAX_BYTES 1024
_Static_assert(LINE_MAX_BYTES <= PIPE_BUF, "a line is one atomic write");

/* The pipe holds this much (F_SETPIPE_SZ, best effort): bursts of
 * debug lines while the master is busy reloading. */
#define PIPE_BYTES (1024 * 1024)

/* DEST_PIPE: a worker's side of a log file. */
enum dest { DEST_STDERR, DEST_SYSLOG, DEST_FILE, DEST_PIPE };

static enum dest log_dest = DEST_STDERR;
static int log_fd = STDERR_FILENO;
static int log_max = LOG_NOTICE;
static char log_path[4096];

/* The workers' pipe, while the destination is a file; -1: none. */
static int pipe_rd = -1, pipe_wr = -1;

/* A worker's lines that found the pipe full. */
static _Atomic uint64_t *drop_counter;
static uint64_t drops_unreported;

static const char *const level_names[] = {
	[LOG_EMERG] = "emerg", [LOG_ALERT] = "alert",  [LOG_CRIT] = "crit",
	[LOG_ERR] = "error",   [LOG_WARNING] = "warn", [LOG_NOTICE] = "notice",
	[LOG_INFO] = "info",   [LOG_DEBUG] = "debug",
};

/* What open_file found (logged once the file is the destination). */
static uid_t taken_from = (uid_t)-1;

/*
 * The log file is the master's: never written through a link (see
 * file.h). A root master takes back a file another user owns (an older
 * shmfs handed its log to the workers' user), so that no one else can
 * write or truncate it; a later line says so.
 */
static int open_file(const char *path)
{
	int fd = shmfs_file_open(path, O_WRONLY | O_APPEND | O_CREAT, 0640);
	struct stat st;

	taken_from = (uid_t)-1;
	if (fd < 0 || geteuid() != 0)
		return fd;
	if (fstat(fd, &st) < 0 ||
	    (st.st_uid != 0 && (fchown(fd, 0, getegid()) < 0 ||
				fchmod(fd, st.st_mode & 0640) < 0))) {
		int err = errno;
		close(fd);
		return -err;
	}
	if (st.st_uid != 0)
		taken_from = st.st_uid;
	return fd;
}

/* The workers' pipe for a log file; kept across reopens and reloads. */
static int open_pipe(void)
{
	int fds[2];

	if (pipe_rd >= 0)
		return 0;
	if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	(void)fcntl(fds[1], F_SETPIPE_SZ, PIPE_BYTES); /* 64 KiB if refused */
	pipe_rd = fds[0];
	pipe_wr = fds[1];
	return 0;
}

static void close_pipe(void)
{
	if (pipe_rd < 0)
		return;
	shmfs_log_drain();
	close(pipe_rd);
	close(pipe_wr);
	pipe_rd = pipe_wr = -1;
}

/* Ends the current destination; a file's pipe stays if keep_pipe. */
static void close_dest(bool keep_pipe)
{
	if (!keep_pipe)
		close_pipe();
	if (log_dest == DEST_SYSLOG)
		closelog();
	if (log_dest == DEST_FILE || log_dest == DEST_PIPE)
		close(log_fd);
	log_dest = DEST_STDERR;
	log_fd = STDERR_FILENO;
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

	int fd = open_file(dest), err;
	if (fd < 0)
		return fd;
	uid_t from = taken_from;
	/* The previous file's lines in the pipe go to the previous file. */
	shmfs_log_drain();
	err = open_pipe();
	if (err < 0) {
		close(fd);
		return err;
	}
	close_dest(true);
	snprintf(log_path, sizeof(log_path), "%s", dest);
	log_fd = fd;
	log_dest = DEST_FILE;
	if (from != (uid_t)-1)
		shmfs_log_notice("%s was owned by uid %u: taken back (mode "
				 "0640 at most): the log is the master's",
				 log_path, (unsigned)from);
	return 0;
}

void shmfs_log_close(void)
{
	close_dest(false);
}

int shmfs_log_reopen(void)
{
	if (log_dest != DEST_FILE)
		return 0;

	int fd = open_file(log_path), err = 0;
	if (fd < 0)
		return fd;
	shmfs_log_drain(); /* what came before the rotation: the old file */
	if (dup2(fd, log_fd) < 0)
		err = -errno;
	close(fd);
	if (err == 0 && taken_from != (uid_t)-1)
		shmfs_log_notice("%s was owned by uid %u: taken back (mode "
				 "0640 at most): the log is the master's",
				 log_path, (unsigned)taken_from);
	return err;
}

int shmfs_log_pipe_fd(void)
{
	return log_dest == DEST_FILE ? pipe_rd : -1;
}

void shmfs_log_drain(void)
{
	/* Whole lines are written; a read may end inside one: carry it. */
	static char buf[64 * 1024 + LINE_MAX_BYTES];
	static size_t carry;

	if (log_dest != DEST_FILE || pipe_rd < 0)
		return;
	/* A bounded number of reads: the master has other work. */
	for (int i = 0; i < 64; i++) {
		ssize_t n = read(pipe_rd, buf + carry, sizeof(buf) - carry);
		size_t len, end;

		if (n <= 0) /* EAGAIN: empty; EINTR: next time */
			break;
		len = carry + (size_t)n;
		for (end = len; end > 0 && buf[end - 1] != '\n'; end--)
			;
		if (end == 0 && len >= LINE_MAX_BYTES)
			end = len; /* no newline in a line's length: not ours */
		if (end > 0) {
			ssize_t unused = write(log_fd, buf, end);
			(void)unused;
		}
		carry = len - end;
		memmove(buf, buf + end, carry);
	}
}

void shmfs_log_to_master(_Atomic uint64_t *dropped)
{
	drop_counter = dropped;
	if (pipe_rd < 0)
		return;
	close(pipe_rd);
	pipe_rd = -1;
	if (log_dest == DEST_FILE) {
		close(log_fd);
		log_fd = pipe_wr;
		log_dest = DEST_PIPE;
	} else {
		close(pipe_wr);
	}
	pipe_wr = -1;
}

/*
 * A worker's line to the master: dropped, never waited for, if the pipe is
 * full. The first line that gets through afterwards is followed by one
 * that says how many were lost.
 */
static void write_pipe(const char *line, size_t n)
{
	if (write(log_fd, line, n) != (ssize_t)n) {
		drops_unreported++;
		if (drop_counter != NULL)
			atomic_fetch_add_explicit(drop_counter, 1,
						  memory_order_relaxed);
		return;
	}
	if (drops_unreported > 0) {
		unsigned long long k = drops_unreported;

		drops_unreported = 0;
		shmfs_log_warn("%llu log line%s dropped: the pipe to the "
			       "master was full",
			       k, k == 1 ? "" : "s");
	}
}

__attribute__((format(printf, 3, 0))) static void
vlog(int level, int err, const char *fmt, va_list ap)
{
	char line[LINE_MAX_BYTES];
	int n = 0;

	if (level > log_max)
		return;

	if (log_dest == DEST_FILE || log_dest == DEST_PIPE) {
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
	if (log_dest == DEST_PIPE) {
		write_pipe(line, n);
		return;
	}
	/* The workers' lines so far first, so that the file keeps order. */
	shmfs_log_drain();
	/* One write per line: other processes share the descriptor. */
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

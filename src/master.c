/* SPDX-License-Identifier: MIT */
/*
 * The master, in the manner of nginx's ngx_master_process_cycle: it blocks
 * the signals it cares about and takes them synchronously (sigtimedwait), so
 * no state is touched from a handler. It never serves a file request: it
 * answers FUSE INIT before forking (a worker that has not seen INIT answers
 * everything with EIO) and then only supervises.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/fuse.h>

#include "shmfs/fault.h"
#include "shmfs/log.h"
#include "shmfs/master.h"
#include "shmfs/ops.h"
#include "shmfs/pidfile.h"
#include "shmfs/worker.h"

/* A worker that dies this soon after starting is restarted no faster. */
#define RESPAWN_DELAY_NS 1000000000LL
/* How long workers get to leave before SIGKILL. */
#define STOP_DEADLINE_NS 5000000000LL

struct pool {
	struct fuse_session *se;
	struct shmfs_zonetab *tab;
	unsigned nworkers;
	const struct shmfs_config *cfg;
	int pidfd; /* the locked pid file, not for workers */
	pid_t pids[SHMFS_WORKERS_MAX];	      /* 0: slot empty */
	long long started[SHMFS_WORKERS_MAX]; /* monotonic ns of last fork */
};

/* Lines libfuse has logged: a failing call it explained needs no more. */
static unsigned fuse_lines;

/*
 * libfuse's messages go to our log. It may build one line from several
 * calls, so pieces are gathered up to the newline.
 */
__attribute__((format(printf, 2, 0))) static void
fuse_log_to_ours(enum fuse_log_level level, const char *fmt, va_list ap)
{
	static char line[512];
	static size_t used;
	int n = vsnprintf(line + used, sizeof(line) - used, fmt, ap);

	if (n < 0)
		return;
	used += (size_t)n < sizeof(line) - used ? (size_t)n
						: sizeof(line) - used - 1;
	if (used > 0 && line[used - 1] != '\n' && used < sizeof(line) - 1)
		return;
	if (used > 0 && line[used - 1] == '\n')
		line[used - 1] = '\0';
	/* libfuse's levels are syslog's priorities. */
	shmfs_log((int)level, "%s", line);
	used = 0;
	fuse_lines++;
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/*
 * Reads the first request, which must be INIT, and answers it here: the
 * negotiated connection then lives in the session every worker inherits.
 */
static int handle_init(struct fuse_session *se)
{
	struct fuse_buf buf = {.mem = NULL};
	int res = fuse_session_receive_buf(se, &buf);
	int err = 0;

	if (res <= 0) {
		shmfs_log_sys(LOG_ERR, res < 0 ? -res : EIO,
			      "reading FUSE INIT failed");
		err = res < 0 ? res : -EIO;
		goto out;
	}
	const struct fuse_in_header *in = buf.mem;
	if (in->opcode != FUSE_INIT) {
		shmfs_log_error("first request is opcode %u, not FUSE_INIT",
				in->opcode);
		err = -EPROTO;
		goto out;
	}
	fuse_session_process_buf(se, &buf);
	if (fuse_session_exited(se)) {
		shmfs_log_error("FUSE INIT failed: the kernel refused the "
				"connection");
		err = -EPROTO;
	}
out:
	free(buf.mem);
	return err;
}

/* The CPU that cpu_affinity gives a slot, or -1 for none. */
static int worker_cpu(const struct shmfs_config *cfg, unsigned slot)
{
	return cfg->ncpus ? cfg->cpus[slot % cfg->ncpus] : -1;
}

static int spawn(struct pool *pool, unsigned slot)
{
	pid_t master = getpid();
	pid_t pid = fork();

	if (pid < 0) {
		int err = errno;
		shmfs_log_sys(LOG_ALERT, err, "fork() of worker %u failed",
			      slot);
		return -err;
	}
	if (pid == 0) {
		if (pool->pidfd >= 0)
			close(pool->pidfd);
		shmfs_worker_run(pool->se, pool->tab, slot, master,
				 worker_cpu(pool->cfg, slot));
	}

	pool->pids[slot] = pid;
	pool->started[slot] = now_ns();
	return 0;
}

static long find_slot(const struct pool *pool, pid_t pid)
{
	for (unsigned i = 0; i < pool->nworkers; i++)
		if (pool->pids[i] == pid)
			return i;
	return -1;
}

static void log_exit(unsigned slot, pid_t pid, int status)
{
	if (WIFSIGNALED(status))
		shmfs_log_error("worker %u (pid %d) killed by signal %d%s",
				slot, (int)pid, WTERMSIG(status),
				WCOREDUMP(status) ? " (core dumped)" : "");
	else
		shmfs_log_error("worker %u (pid %d) exited with status %d",
				slot, (int)pid, WEXITSTATUS(status));
}

/*
 * A worker on the shared descriptor died holding a request: the kernel
 * cannot tell, so the master answers it with EIO, or its caller would wait
 * for as long as the mount lives. (Cloned workers need none of this: the
 * kernel fails the requests of a closed clone at once.)
 */
static void answer_orphan(struct pool *pool, unsigned slot)
{
	struct shmfs_worker_slot *ws = &pool->tab->region->workers[slot];
	uint64_t unique = atomic_exchange(&ws->unique, 0);

	if (!atomic_load(&ws->shared_fd) || unique == 0)
		return;
	struct fuse_out_header out = {
		.len = sizeof(out),
		.error = -EIO,
		.unique = unique,
	};
	if (write(fuse_session_fd(pool->se), &out, sizeof(out)) < 0 &&
	    errno != ENOENT)
		shmfs_log_sys(LOG_WARNING, errno,
			      "answering request %llu of worker %u failed",
			      (unsigned long long)unique, slot);
	else
		shmfs_log_notice("request %llu of worker %u answered with EIO",
				 (unsigned long long)unique, slot);
}

/*
 * Reaps every exited worker. Returns true when one left because the
 * connection ended (the filesystem was unmounted from outside).
 */
static bool reap(struct pool *pool, bool stopping)
{
	bool unmounted = false;
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		long slot = find_slot(pool, pid);

		if (slot < 0)
			continue;
		pool->pids[slot] = 0;
		answer_orphan(pool, slot);
		atomic_store(&pool->tab->region->workers[slot].pid, 0);
		if (WIFEXITED(status) &&
		    WEXITSTATUS(status) == SHMFS_WORKER_UNMOUNTED)
			unmounted = true;
		else if (!stopping &&
			 !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
			log_exit(slot, pid, status);
	}
	return unmounted;
}

/* Forks workers into empty slots whose last start is old enough; returns the
 * nanoseconds until the next one may start, or -1 if none waits. */
static long long respawn(struct pool *pool)
{
	long long wait = -1, t = now_ns();

	for (unsigned i = 0; i < pool->nworkers; i++) {
		if (pool->pids[i] != 0)
			continue;
		long long left = pool->started[i] + RESPAWN_DELAY_NS - t;
		if (left <= 0 && spawn(pool, i) == 0)
			continue;
		if (left <= 0)
			left = RESPAWN_DELAY_NS;
		if (wait < 0 || left < wait)
			wait = left;
	}
	return wait;
}

static unsigned live_workers(const struct pool *pool)
{
	unsigned n = 0;

	for (unsigned i = 0; i < pool->nworkers; i++)
		n += pool->pids[i] != 0;
	return n;
}

/*
 * Stops every worker: SIGTERM, sent again every 50 ms because one that lands
 * between the worker's flag check and its read() is otherwise lost; SIGKILL
 * after the deadline.
 */
static void stop_workers(struct pool *pool)
{
	long long deadline = now_ns() + STOP_DEADLINE_NS;

	while (live_workers(pool) > 0) {
		bool late = now_ns() > deadline;

		for (unsigned i = 0; i < pool->nworkers; i++)
			if (pool->pids[i] != 0)
				kill(pool->pids[i], late ? SIGKILL : SIGTERM);
		if (late)
			shmfs_log_warn("workers did not stop in time: killed");
		struct timespec tick = {0, 50 * 1000 * 1000};
		nanosleep(&tick, NULL);
		reap(pool, true);
	}
}

/* Waits for the next event; returns the signal taken, or 0 on timeout. */
static int wait_signal(const sigset_t *set, long long timeout_ns)
{
	struct timespec ts = {
		.tv_sec = timeout_ns / 1000000000LL,
		.tv_nsec = timeout_ns % 1000000000LL,
	};
	int sig;

	do {
		sig = timeout_ns < 0 ? sigwaitinfo(set, NULL)
				     : sigtimedwait(set, NULL, &ts);
	} while (sig < 0 && errno == EINTR);
	return sig < 0 ? 0 : sig;
}

/* SIGUSR1: the master and every worker reopen the log file (rotation). */
static void reopen_log(struct pool *pool)
{
	int res = shmfs_log_reopen();

	if (res < 0) {
		shmfs_log_sys(LOG_ERR, -res, "reopening the log failed");
		return;
	}
	for (unsigned i = 0; i < pool->nworkers; i++)
		if (pool->pids[i] != 0)
			kill(pool->pids[i], SIGUSR1);
	shmfs_log_notice("log reopened");
}

static void supervise(struct pool *pool, const sigset_t *set)
{
	long long wait = -1;

	for (;;) {
		int sig = wait_signal(set, wait);

		if (sig == SIGTERM || sig == SIGINT) {
			shmfs_log_notice("signal %d: stopping", sig);
			return;
		}
		if (sig == SIGHUP)
			shmfs_log_notice("SIGHUP: reload is not supported yet");
		if (sig == SIGUSR1)
			reopen_log(pool);
		if (reap(pool, false)) {
			shmfs_log_notice("connection closed: unmounted");
			return;
		}
		wait = respawn(pool);
	}
}

/*
 * Detaches from the terminal once the mount is live. The parent waits for
 * the child to say it is ready (pid file written) and exits 0, or 2 if the
 * child died first; the child carries on as the master.
 */
static int daemonize(int *ready)
{
	int fds[2];
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0 || (pid = fork()) < 0) {
		int err = errno;
		shmfs_log_sys(LOG_ERR, err, "detaching failed");
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

	setsid();
	if (chdir("/") < 0)
		shmfs_log_sys(LOG_WARNING, errno, "chdir(\"/\") failed");
	int fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	return 0;
}

/* Lets the waiting parent of daemonize() return to the shell. */
static void tell_ready(int ready)
{
	if (ready < 0)
		return;
	ssize_t unused = write(ready, "", 1);
	(void)unused;
	close(ready);
}

static int serve(struct pool *pool, const struct shmfs_config *cfg,
		 const struct shmfs_master_opts *opts)
{
	sigset_t set, old;
	int ready = -1;

	if (handle_init(pool->se) < 0)
		return SHMFS_EXIT_MOUNT;
	if (!opts->foreground) {
		if (daemonize(&ready) < 0)
			return SHMFS_EXIT_MOUNT;
		shmfs_log_open(cfg->log, cfg->log_level, false);
	}
	if (opts->pidfd >= 0 && shmfs_pidfile_write(opts->pidfd) < 0) {
		shmfs_log_sys(LOG_ERR, errno, "%s: cannot write the pid",
			      cfg->pid);
		return SHMFS_EXIT_MOUNT;
	}
	tell_ready(ready);

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, &old);

	for (unsigned i = 0; i < pool->nworkers; i++) {
		if (spawn(pool, i) < 0) {
			sigprocmask(SIG_SETMASK, &old, NULL);
			return SHMFS_EXIT_MOUNT;
		}
	}
	shmfs_log_notice("mounted on %s: %zu zone%s, %llu bytes, %u workers; "
			 "shared metadata %zu bytes",
			 opts->mountpoint, pool->tab->nzones,
			 pool->tab->nzones == 1 ? "" : "s",
			 (unsigned long long)pool->tab->capacity,
			 pool->nworkers, pool->tab->region_shm.size);

	supervise(pool, &set);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return SHMFS_EXIT_OK;
}

int shmfs_master_run(const struct shmfs_config *cfg,
		     const struct shmfs_master_opts *opts)
{
	struct pool pool = {
		.nworkers = opts->workers,
		.cfg = cfg,
		.pidfd = opts->pidfd,
	};
	struct shmfs_fs fs = {
		.uid = geteuid(),
		.gid = getegid(),
		.timeout = SHMFS_CACHE_TIMEOUT,
	};
	int status = SHMFS_EXIT_MOUNT;

	fuse_set_log_func(fuse_log_to_ours);
	shmfs_fault_init();
	if (shmfs_zonetab_create(cfg, &pool.tab) < 0)
		return SHMFS_EXIT_MOUNT;
	fs.tab = pool.tab;

	unsigned before = fuse_lines;
	pool.se = fuse_session_new(opts->fuse_args, &shmfs_ops,
				   sizeof(shmfs_ops), &fs);
	if (pool.se == NULL) {
		if (fuse_lines == before)
			shmfs_log_error("bad mount options (see shmfs --help)");
		status = SHMFS_EXIT_USAGE;
		goto out_zones;
	}
	before = fuse_lines;
	if (fuse_session_mount(pool.se, opts->mountpoint) != 0) {
		if (fuse_lines == before)
			shmfs_log_error("cannot mount on %s", opts->mountpoint);
		goto out_session;
	}

	status = serve(&pool, cfg, opts);
	/* Unmount first so that nothing new arrives, then let workers go. */
	fuse_session_unmount(pool.se);
	stop_workers(&pool);
out_session:
	fuse_session_destroy(pool.se);
out_zones:
	shmfs_zonetab_destroy(pool.tab);
	if (status == SHMFS_EXIT_OK)
		shmfs_log_notice("stopped");
	return status;
}

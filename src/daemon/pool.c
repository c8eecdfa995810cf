/* SPDX-License-Identifier: MIT */
/*
 * The pool of workers, kept whole by the master in the manner of nginx's
 * ngx_process_cycle.c: a worker that dies is logged with its decoded status
 * and forked again into its slot at once; but a slot whose workers keep
 * dying within a second of their start is restarted at most once a second
 * (as s6-supervise), so a worker that dies at once does not spin the
 * machine. A worker that a signal stopped would hold its requests, and
 * every caller after them, for as long as it stays stopped: the master
 * hears of it at once (SIGCHLD, waitpid's WUNTRACED) and continues it.
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/fuse.h>

#include "shmfs/exit.h"
#include "shmfs/log.h"
#include "shmfs/pool.h"
#include "shmfs/privsep.h"
#include "shmfs/worker.h"

/* A worker that dies this soon after starting is restarted no faster. */
#define RESPAWN_DELAY_NS 1000000000LL
/* How long workers get to leave before SIGKILL. */
#define STOP_DEADLINE_NS 5000000000LL

long long shmfs_pool_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The CPU that cpu_affinity gives a slot, or -1 for none. */
static int worker_cpu(const struct shmfs_pool *pool, unsigned slot)
{
	return pool->ncpus ? pool->cpus[slot % pool->ncpus] : -1;
}

static int spawn(struct shmfs_pool *pool, unsigned slot)
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
		struct shmfs_worker_opts opts = {
			.slot = slot,
			.master = master,
			.cpu = worker_cpu(pool, slot),
			.user_set = pool->user_set,
			.uid = pool->uid,
			.gid = pool->gid,
		};

		if (pool->pidfd >= 0)
			close(pool->pidfd);
		if (pool->sigfd >= 0)
			close(pool->sigfd);
		shmfs_worker_run(pool->se, pool->fs, &opts);
	}

	pool->pids[slot] = pid;
	pool->started[slot] = shmfs_pool_now();
	return 0;
}

static long find_slot(const struct shmfs_pool *pool, pid_t pid)
{
	for (unsigned i = 0; i < SHMFS_WORKERS_MAX; i++)
		if (pool->pids[i] == pid)
			return i;
	return -1;
}

static void log_exit(const struct shmfs_pool *pool, unsigned slot, pid_t pid,
		     int status)
{
	const struct shmfs_worker_slot *ws =
		shmfs_region_worker(pool->fs->region, slot);
	char name[64];

	if (WIFEXITED(status) && WEXITSTATUS(status) == SHMFS_WORKER_SECCOMP) {
		int nr = atomic_load(&ws->violation);

		shmfs_log_error(
			"worker %u (pid %d) made system call %d (%s), "
			"which the seccomp filter denies: replaced",
			slot, (int)pid, nr,
			shmfs_privsep_syscall_name(nr, name, sizeof(name)));
	} else if (WIFSIGNALED(status))
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
static void answer_orphan(struct shmfs_pool *pool, unsigned slot)
{
	struct shmfs_worker_slot *ws =
		shmfs_region_worker(pool->fs->region, slot);
	uint64_t unique = atomic_exchange(&ws->unique, 0);

	if (!atomic_load(&ws->shared_fd) || unique == 0)
		return;
	struct fuse_out_header out = {
		.len = sizeof(out),
		.error = -EIO,
		.unique = unique,
	};
	ssize_t n = write(fuse_session_fd(pool->se), &out, sizeof(out));

	if (n == (ssize_t)sizeof(out))
		shmfs_log_notice("request %llu of worker %u answered with EIO",
				 (unsigned long long)unique, slot);
	else if (n < 0 && errno == ENOENT) /* the kernel has it no more */
		shmfs_log_info("request %llu of worker %u was answered already",
			       (unsigned long long)unique, slot);
	else
		shmfs_log_sys(LOG_WARNING, n < 0 ? errno : EIO,
			      "answering request %llu of worker %u failed",
			      (unsigned long long)unique, slot);
}

/*
 * A worker stopped by a signal (SIGSTOP: the others it ignores) is
 * continued, never replaced: SIGCONT serves the requests it holds, while
 * replacing it would fail them (the kernel aborts a closed clone's
 * requests). Only root or the workers' own user can stop one.
 */
static void continue_stopped(struct shmfs_pool *pool, unsigned slot, pid_t pid,
			     int sig)
{
	atomic_fetch_add(&pool->fs->region->stops, 1);
	if (kill(pid, SIGCONT) < 0) {
		shmfs_log_sys(LOG_ERR, errno,
			      "worker %u (pid %d) stopped by signal %d: "
			      "kill(SIGCONT) failed",
			      slot, (int)pid, sig);
		return;
	}
	shmfs_log_warn("worker %u (pid %d) stopped by signal %d: continued",
		       slot, (int)pid, sig);
}

/*
 * Reaps every exited worker and continues stopped ones. Returns true when
 * one left because the connection ended (the filesystem was unmounted
 * from outside).
 */
bool shmfs_pool_reap(struct shmfs_pool *pool, bool stopping)
{
	bool unmounted = false;
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG | WUNTRACED)) > 0) {
		long slot = find_slot(pool, pid);

		if (slot < 0)
			continue;
		if (WIFSTOPPED(status)) {
			continue_stopped(pool, slot, pid, WSTOPSIG(status));
			continue;
		}
		pool->pids[slot] = 0;
		/* Died within a second of its start: one more quick death. */
		if (shmfs_pool_now() - pool->started[slot] < RESPAWN_DELAY_NS)
			pool->quick_deaths[slot]++;
		else
			pool->quick_deaths[slot] = 0;
		answer_orphan(pool, slot);
		atomic_store(&shmfs_region_worker(pool->fs->region, slot)->pid,
			     0);
		if (WIFEXITED(status) &&
		    WEXITSTATUS(status) == SHMFS_WORKER_UNMOUNTED)
			unmounted = true;
		else if (!stopping &&
			 !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
			log_exit(pool, slot, pid, status);
	}
	return unmounted;
}

/* Forks workers into empty slots whose last start is old enough; returns the
 * nanoseconds until the next one may start, or -1 if none waits. */
long long shmfs_pool_respawn(struct shmfs_pool *pool)
{
	long long wait = -1, t = shmfs_pool_now();

	for (unsigned i = 0; i < pool->nworkers; i++) {
		if (pool->pids[i] != 0)
			continue;
		/*
		 * A worker killed once is replaced at once; one that keeps
		 * dying right after its start, at most once a second.
		 */
		long long left =
			pool->quick_deaths[i] < 2
				? 0
				: pool->started[i] + RESPAWN_DELAY_NS - t;
		if (left <= 0 && spawn(pool, i) == 0) {
			atomic_fetch_add(&pool->fs->region->respawns, 1);
			continue;
		}
		if (left <= 0)
			left = RESPAWN_DELAY_NS;
		if (wait < 0 || left < wait)
			wait = left;
	}
	return wait;
}

static unsigned live_workers(const struct shmfs_pool *pool)
{
	unsigned n = 0;

	for (unsigned i = 0; i < SHMFS_WORKERS_MAX; i++)
		n += pool->pids[i] != 0;
	return n;
}

/*
 * Stops every worker: SIGTERM, sent again every 10 ms because one that lands
 * between the worker's flag check and its read() is otherwise lost; SIGKILL
 * after the deadline.
 */
void shmfs_pool_stop(struct shmfs_pool *pool)
{
	long long deadline = shmfs_pool_now() + STOP_DEADLINE_NS;

	while (live_workers(pool) > 0) {
		bool late = shmfs_pool_now() > deadline;

		shmfs_pool_signal(pool, late ? SIGKILL : SIGTERM);
		if (late)
			shmfs_log_warn("workers did not stop in time: killed");
		struct timespec tick = {0, 10 * 1000 * 1000};
		nanosleep(&tick, NULL);
		shmfs_pool_reap(pool, true);
	}
}

int shmfs_pool_start(struct shmfs_pool *pool)
{
	for (unsigned i = 0; i < pool->nworkers; i++) {
		int err = spawn(pool, i);
		if (err)
			return err;
	}
	return 0;
}

void shmfs_pool_signal(struct shmfs_pool *pool, int sig)
{
	for (unsigned i = 0; i < SHMFS_WORKERS_MAX; i++)
		if (pool->pids[i] != 0 && kill(pool->pids[i], sig) < 0 &&
		    errno != ESRCH) /* ESRCH: dead, not reaped yet */
			shmfs_log_sys(LOG_WARNING, errno, "kill(%d, %d) failed",
				      (int)pool->pids[i], sig);
}

/* SPDX-License-Identifier: MIT */
/*
 * The pool (see pool.h). A child that dies is forked again into its slot
 * at once; but a slot whose children keep dying within a second of their
 * start is restarted at most once a second (with backoff: after 10 ms,
 * doubling up to 250 ms), so that a child that dies at once does not
 * spin the machine. A child that a signal stopped would hold
 * whatever it serves, and everyone waiting on it, for as long as it stays
 * stopped: the parent hears of it at once (SIGCHLD, waitpid's WUNTRACED)
 * and continues it.
 */
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "shmfs/exit.h"
#include "shmfs/log.h"
#include "shmfs/pool.h"

/* A child that dies this soon after starting is restarted no faster. */
#define RESPAWN_DELAY_NS 1000000000LL
/* With backoff: the first delay and the longest (10, 20 ... 160, 250 ms). */
#define BACKOFF_FIRST_NS 10000000LL
#define BACKOFF_MAX_NS 250000000LL
/* How long children get to leave before SIGKILL, by default. */
#define STOP_TIMEOUT_NS 5000000000LL
/* SIGTERM is sent again at least this often while children are left. */
#define STOP_TICK_NS 10000000L

long long shmfs_pool_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void count(_Atomic uint64_t *counter)
{
	if (counter != NULL)
		atomic_fetch_add(counter, 1);
}

static int spawn(struct shmfs_pool *pool, unsigned slot)
{
	pid_t pid = fork();

	if (pid < 0) {
		int err = errno;
		shmfs_log_sys(LOG_ALERT, err, "fork() of worker %u failed",
			      slot);
		return -err;
	}
	if (pid == 0) {
		pool->body(pool->arg, slot);
		_exit(127);
	}
	pool->pids[slot] = pid;
	/*
	 * A slot refilled after the pool stopped its child keeps the start
	 * of the last child that died there: how soon its children die is
	 * counted from the starts that followed their deaths.
	 */
	if (!pool->was_stopped[slot])
		pool->started[slot] = shmfs_pool_now();
	pool->was_stopped[slot] = false;
	return 0;
}

static long find_slot(const struct shmfs_pool *pool, pid_t pid)
{
	for (unsigned i = 0; i < SHMFS_WORKERS_MAX; i++)
		if (pool->pids[i] == pid)
			return i;
	return -1;
}

/*
 * A child stopped by a signal is continued, never replaced: SIGCONT lets
 * it finish what it holds, while replacing it would fail that.
 */
static void continue_stopped(struct shmfs_pool *pool, unsigned slot, pid_t pid,
			     int sig)
{
	count(pool->stops);
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

bool shmfs_pool_reap(struct shmfs_pool *pool, bool stopping)
{
	bool ended = false;
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
		/*
		 * Died within a second of its start: one more quick death.
		 * A child the pool stops was asked to: that says nothing.
		 */
		if (stopping)
			pool->was_stopped[slot] = true;
		else if (shmfs_pool_now() - pool->started[slot] <
			 RESPAWN_DELAY_NS)
			pool->quick_deaths[slot]++;
		else
			pool->quick_deaths[slot] = 0;
		if (pool->reaped(pool->arg, slot, pid, status, stopping))
			ended = true;
	}
	return ended;
}

/* How long after its last start a throttled slot is refilled. */
static long long respawn_delay(const struct shmfs_pool *pool, unsigned slot)
{
	unsigned doublings = pool->quick_deaths[slot] - 2;

	if (!pool->backoff)
		return RESPAWN_DELAY_NS;
	return doublings >= 5 ? BACKOFF_MAX_NS : BACKOFF_FIRST_NS << doublings;
}

long long shmfs_pool_respawn(struct shmfs_pool *pool)
{
	long long wait = -1, t = shmfs_pool_now();

	for (unsigned i = 0; i < pool->nchildren; i++) {
		if (pool->pids[i] != 0)
			continue;
		/*
		 * A child killed once is replaced at once; one that keeps
		 * dying right after its start, at most once a second.
		 */
		long long left =
			pool->quick_deaths[i] < 2
				? 0
				: pool->started[i] + respawn_delay(pool, i) - t;
		if (left <= 0 && spawn(pool, i) == 0) {
			count(pool->respawns);
			continue;
		}
		if (left <= 0)
			left = RESPAWN_DELAY_NS;
		if (wait < 0 || left < wait)
			wait = left;
	}
	return wait;
}

static unsigned live_children(const struct shmfs_pool *pool)
{
	unsigned n = 0;

	for (unsigned i = 0; i < SHMFS_WORKERS_MAX; i++)
		n += pool->pids[i] != 0;
	return n;
}

/* Sends sig to every live child. */
static void signal_all(struct shmfs_pool *pool, int sig)
{
	for (unsigned i = 0; i < SHMFS_WORKERS_MAX; i++)
		if (pool->pids[i] != 0 && kill(pool->pids[i], sig) < 0 &&
		    errno != ESRCH) /* ESRCH: dead, not reaped yet */
			shmfs_log_sys(LOG_WARNING, errno, "kill(%d, %d) failed",
				      (int)pool->pids[i], sig);
}

/*
 * SIGTERM is sent again every tick because one that lands between a
 * worker's flag check and its read() is otherwise lost.
 */
void shmfs_pool_stop(struct shmfs_pool *pool)
{
	long long timeout = pool->stop_timeout_ns > 0 ? pool->stop_timeout_ns
						      : STOP_TIMEOUT_NS;
	long long deadline = shmfs_pool_now() + timeout;
	bool killed = false;

	/* A child between two requests leaves within a millisecond: the
	 * first looks come soon, the later ones every tick. */
	long wait_ns = STOP_TICK_NS / 16;

	while (live_children(pool) > 0) {
		if (!killed && shmfs_pool_now() > deadline) {
			shmfs_log_warn(
				"%u workers did not stop within %lld ms: "
				"killed",
				live_children(pool), timeout / 1000000);
			killed = true;
		}
		signal_all(pool, killed ? SIGKILL : SIGTERM);
		struct timespec tick = {0, wait_ns};
		nanosleep(&tick, NULL);
		shmfs_pool_reap(pool, true);
		if (wait_ns < STOP_TICK_NS)
			wait_ns *= 2;
	}
}

int shmfs_pool_start(struct shmfs_pool *pool)
{
	for (unsigned i = 0; i < pool->nchildren; i++) {
		int err = spawn(pool, i);
		if (err)
			return err;
	}
	return 0;
}

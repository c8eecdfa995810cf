/* SPDX-License-Identifier: MIT */
/*
 * The pool with plain forked children, no FUSE: it starts one child per
 * slot, replaces a killed one at once, throttles a slot whose children die
 * right after their start to one start a second, continues a stopped
 * child instead of replacing it, and stops them all (SIGKILL, said once,
 * for those that ignore SIGTERM). Every wait has a deadline: SIGCHLD is
 * taken with sigtimedwait, never slept for.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "shmfs/log.h"
#include "shmfs/pool.h"

/*
 * What the children do: echo bytes from one pipe to the other (a child
 * that ignores SIGTERM inherits that from the test), die at once, or
 * return from the body.
 */
enum body { ECHO, DIE_AT_ONCE, RETURN };

struct test {
	struct shmfs_pool pool;
	enum body body;
	int to_child[2], from_child[2];
	unsigned reaped;
	int last_status;
	_Atomic uint64_t respawns, stops;
};

static void body(void *arg, unsigned slot)
{
	struct test *t = arg;
	char c;

	(void)slot;
	if (t->body == DIE_AT_ONCE)
		_exit(1);
	if (t->body == RETURN)
		return;
	while (read(t->to_child[0], &c, 1) == 1)
		if (write(t->from_child[1], &c, 1) != 1)
			_exit(2);
	_exit(0);
}

static bool reaped(void *arg, unsigned slot, pid_t pid, int status,
		   bool stopping)
{
	struct test *t = arg;

	(void)slot, (void)pid, (void)stopping;
	t->reaped++;
	t->last_status = status;
	return WIFEXITED(status) && WEXITSTATUS(status) == 3;
}

static int setup(void **state)
{
	struct test *t = calloc(1, sizeof(*t));
	sigset_t chld;

	assert_non_null(t);
	assert_int_equal(pipe(t->to_child), 0);
	assert_int_equal(pipe(t->from_child), 0);
	t->pool.body = body;
	t->pool.reaped = reaped;
	t->pool.arg = t;
	t->pool.respawns = &t->respawns;
	t->pool.stops = &t->stops;
	/* As the master: SIGCHLD blocked, taken when it is waited for. */
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	assert_int_equal(sigprocmask(SIG_BLOCK, &chld, NULL), 0);
	/* A SIGCHLD of the last test's children must not end a wait. */
	struct timespec now = {0, 0};
	while (sigtimedwait(&chld, NULL, &now) == SIGCHLD)
		;
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct test *t = *state;

	t->pool.stop_timeout_ns = 100000000LL;
	shmfs_pool_stop(&t->pool);
	for (int i = 0; i < 2; i++) {
		close(t->to_child[i]);
		close(t->from_child[i]);
	}
	free(t);
	return 0;
}

/* Waits (up to 5 s) for a SIGCHLD, then reaps. */
static void reap_after_sigchld(struct test *t)
{
	sigset_t chld;
	struct timespec deadline = {5, 0};

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	assert_int_equal(sigtimedwait(&chld, NULL, &deadline), SIGCHLD);
	shmfs_pool_reap(&t->pool, false);
}

static bool alive(pid_t pid)
{
	return pid > 0 && kill(pid, 0) == 0;
}

/* One byte through some child, back within 5 s. */
static bool a_child_echoes(struct test *t)
{
	struct pollfd p = {.fd = t->from_child[0], .events = POLLIN};
	char c = 'x';

	assert_int_equal(write(t->to_child[1], &c, 1), 1);
	if (poll(&p, 1, 5000) != 1)
		return false;
	return read(t->from_child[0], &c, 1) == 1 && c == 'x';
}

static void every_slot_gets_a_child(void **state)
{
	struct test *t = *state;

	t->pool.nchildren = 3;
	assert_int_equal(shmfs_pool_start(&t->pool), 0);
	for (unsigned i = 0; i < 3; i++) {
		assert_true(alive(t->pool.pids[i]));
		for (unsigned j = 0; j < i; j++)
			assert_int_not_equal(t->pool.pids[i], t->pool.pids[j]);
	}
	assert_int_equal(t->pool.pids[3], 0);
	assert_true(a_child_echoes(t));
	assert_int_equal(atomic_load(&t->respawns), 0);
}

static void a_killed_child_is_reaped_and_replaced_at_once(void **state)
{
	struct test *t = *state;

	t->pool.nchildren = 2;
	assert_int_equal(shmfs_pool_start(&t->pool), 0);
	pid_t victim = t->pool.pids[1], other = t->pool.pids[0];
	assert_int_equal(kill(victim, SIGKILL), 0);
	while (t->pool.pids[1] == victim)
		reap_after_sigchld(t);
	assert_int_equal(t->reaped, 1);
	assert_true(WIFSIGNALED(t->last_status));
	assert_int_equal(WTERMSIG(t->last_status), SIGKILL);
	assert_int_equal(t->pool.pids[1], 0);
	/* One quick death: no wait. */
	assert_int_equal(shmfs_pool_respawn(&t->pool), -1);
	assert_true(alive(t->pool.pids[1]));
	assert_int_not_equal(t->pool.pids[1], victim);
	assert_int_equal(t->pool.pids[0], other);
	assert_int_equal(atomic_load(&t->respawns), 1);
	assert_true(a_child_echoes(t));
}

static void children_that_die_at_once_are_started_once_a_second(void **state)
{
	struct test *t = *state;
	long long wait;

	t->body = DIE_AT_ONCE;
	t->pool.nchildren = 1;
	assert_int_equal(shmfs_pool_start(&t->pool), 0);
	while (t->reaped < 1)
		reap_after_sigchld(t);
	/* The first quick death is replaced at once... */
	assert_int_equal(shmfs_pool_respawn(&t->pool), -1);
	while (t->reaped < 2)
		reap_after_sigchld(t);
	/* ...the second waits for a second after the last start. */
	long long started = t->pool.started[0];
	wait = shmfs_pool_respawn(&t->pool);
	assert_true(wait > 0 && wait <= 1000000000LL);
	assert_int_equal(t->pool.pids[0], 0);
	assert_int_equal(t->pool.started[0], started);
	assert_int_equal(atomic_load(&t->respawns), 1);
	/* Once it is over, the slot is started again. */
	struct timespec ts = {wait / 1000000000LL, wait % 1000000000LL};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	assert_int_equal(shmfs_pool_respawn(&t->pool), -1);
	assert_true(t->pool.started[0] - started >= 1000000000LL);
	assert_int_equal(atomic_load(&t->respawns), 2);
}

static void a_stopped_child_is_continued_not_replaced(void **state)
{
	struct test *t = *state;

	t->pool.nchildren = 1;
	assert_int_equal(shmfs_pool_start(&t->pool), 0);
	pid_t pid = t->pool.pids[0];
	assert_int_equal(kill(pid, SIGSTOP), 0);
	while (atomic_load(&t->stops) == 0)
		reap_after_sigchld(t);
	assert_int_equal(t->reaped, 0);
	assert_int_equal(t->pool.pids[0], pid);
	assert_int_equal(atomic_load(&t->stops), 1);
	assert_true(a_child_echoes(t)); /* it runs again */
}

static void stop_ends_every_child(void **state)
{
	struct test *t = *state;
	pid_t pids[4];

	t->pool.nchildren = 4;
	assert_int_equal(shmfs_pool_start(&t->pool), 0);
	memcpy(pids, t->pool.pids, sizeof(pids));
	shmfs_pool_stop(&t->pool);
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(t->pool.pids[i], 0);
		assert_int_equal(kill(pids[i], 0), -1);
		assert_int_equal(errno, ESRCH);
	}
	assert_int_equal(t->reaped, 4);
	assert_true(WIFSIGNALED(t->last_status));
	assert_int_equal(WTERMSIG(t->last_status), SIGTERM);
}

/* Lines of the file at path that contain needle. */
static unsigned lines_with(const char *path, const char *needle)
{
	FILE *f = fopen(path, "r");
	char line[512];
	unsigned n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		n += strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

static void children_that_ignore_sigterm_are_killed_said_once(void **state)
{
	struct test *t = *state;
	char path[] = "/tmp/shmfs-test-pool-XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	t->pool.nchildren = 2;
	t->pool.stop_timeout_ns = 200000000LL; /* 20 ticks of 10 ms */
	signal(SIGTERM, SIG_IGN); /* the children's from their fork on */
	assert_int_equal(shmfs_pool_start(&t->pool), 0);
	signal(SIGTERM, SIG_DFL);
	assert_int_equal(shmfs_log_open(path, LOG_WARNING, true), 0);
	shmfs_pool_stop(&t->pool);
	shmfs_log_close();
	assert_int_equal(t->pool.pids[0] | t->pool.pids[1], 0);
	assert_true(WIFSIGNALED(t->last_status));
	assert_int_equal(WTERMSIG(t->last_status), SIGKILL);
	assert_int_equal(lines_with(path, "did not stop"), 1);
	unlink(path);
}

/*
 * A child that outlives SIGKILL for a while, as a worker in D state does:
 * a tracer holds its death back (the parent learns of it only once the
 * tracer has), so stop sends SIGKILL tick after tick, and says so once.
 */
static void a_child_slow_to_die_is_said_killed_once(void **state)
{
	struct test *t = *state;
	char path[] = "/tmp/shmfs-test-pool-XXXXXX";
	int fd = mkstemp(path), ready[2];
	char ok;

	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(pipe(ready), 0);
	t->pool.nchildren = 1;
	t->pool.stop_timeout_ns = 50000000LL;
	assert_int_equal(shmfs_pool_start(&t->pool), 0);
	pid_t child = t->pool.pids[0];
	pid_t tracer = fork();
	if (tracer == 0) {
		int st;

		ok = ptrace(PTRACE_SEIZE, child, NULL, NULL) == 0;
		if (write(ready[1], &ok, 1) != 1 || !ok)
			_exit(1);
		/* Holds the death back for 300 ms: the pool's 25 ticks. */
		struct timespec hold = {0, 300000000L};
		nanosleep(&hold, NULL);
		while (waitpid(child, &st, __WALL) == child && !WIFEXITED(st) &&
		       !WIFSIGNALED(st))
			;
		_exit(0);
	}
	assert_true(tracer > 0);
	assert_int_equal(read(ready[0], &ok, 1), 1);
	close(ready[0]);
	close(ready[1]);
	if (!ok) {
		waitpid(tracer, NULL, 0);
		skip(); /* no ptrace here (valgrind): teardown stops it */
	}
	assert_int_equal(shmfs_log_open(path, LOG_WARNING, true), 0);
	shmfs_pool_stop(&t->pool);
	shmfs_log_close();
	assert_int_equal(t->pool.pids[0], 0);
	assert_int_equal(WTERMSIG(t->last_status), SIGKILL);
	assert_int_equal(lines_with(path, "did not stop"), 1);
	unlink(path);
	waitpid(tracer, NULL, 0); /* reaped by the pool already, or now */
}

static void a_body_that_returns_leaves_with_127(void **state)
{
	struct test *t = *state;

	t->body = RETURN;
	t->pool.nchildren = 1;
	assert_int_equal(shmfs_pool_start(&t->pool), 0);
	while (t->reaped < 1)
		reap_after_sigchld(t);
	assert_true(WIFEXITED(t->last_status));
	assert_int_equal(WEXITSTATUS(t->last_status), 127);
}

static void reap_says_when_an_exit_ends_the_service(void **state)
{
	struct test *t = *state;
	bool ended = false;

	t->pool.nchildren = 1;
	t->body = ECHO;
	assert_int_equal(shmfs_pool_start(&t->pool), 0);
	/* A child of its own that leaves with 3: the test's "ended". */
	pid_t pid = fork();
	if (pid == 0)
		_exit(3);
	t->pool.pids[1] = pid; /* as if the pool had forked it */
	sigset_t chld;
	struct timespec deadline = {5, 0};
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	while (!ended && t->reaped == 0) {
		assert_int_equal(sigtimedwait(&chld, NULL, &deadline), SIGCHLD);
		ended = shmfs_pool_reap(&t->pool, false);
	}
	assert_true(ended);
	assert_int_equal(t->pool.pids[1], 0);
	assert_true(alive(t->pool.pids[0]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(every_slot_gets_a_child, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			a_killed_child_is_reaped_and_replaced_at_once, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			children_that_die_at_once_are_started_once_a_second,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			a_stopped_child_is_continued_not_replaced, setup,
			teardown),
		cmocka_unit_test_setup_teardown(stop_ends_every_child, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			children_that_ignore_sigterm_are_killed_said_once,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			a_child_slow_to_die_is_said_killed_once, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			a_body_that_returns_leaves_with_127, setup, teardown),
		cmocka_unit_test_setup_teardown(
			reap_says_when_an_exit_ends_the_service, setup,
			teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

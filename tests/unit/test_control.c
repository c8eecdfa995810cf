/* SPDX-License-Identifier: MIT */
/*
 * shmfs -s upgrade against stand-ins for a master (a child named shmfs
 * that wrote its pid file): one that blocks SIGUSR2, as a master that
 * upgrades does, gets it; one from before upgrades, which SIGUSR2 would
 * kill with its mount, is not signalled and the command fails.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "shmfs/control.h"
#include "shmfs/exit.h"

struct master {
	pid_t pid;
	char dir[32];
	char pidfile[64];
};

/*
 * A child named shmfs that has written its pid to a pid file. One that
 * blocks SIGUSR2 reads it from a signalfd, as the master takes its signals
 * (sigwait would not do: while it waits, the kernel lifts the block that
 * /proc/PID/status shows), and exits 0; the other waits for its end. It
 * dies with the test, and on its own after 30 s: a failed assertion
 * leaves no process behind. Returns once it is so: the pipe says when.
 */
static void start(struct master *m, bool blocks)
{
	int ready[2];
	char c;
	FILE *f;

	strcpy(m->dir, "/tmp/shmfs-control.XXXXXX");
	assert_non_null(mkdtemp(m->dir));
	snprintf(m->pidfile, sizeof(m->pidfile), "%s/shmfs.pid", m->dir);
	assert_int_equal(pipe(ready), 0);
	m->pid = fork();
	assert_true(m->pid >= 0);
	if (m->pid == 0) {
		struct signalfd_siginfo si;
		sigset_t set;
		int sfd = -1;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		alarm(30);
		sigemptyset(&set);
		sigaddset(&set, SIGUSR2);
		if (blocks && (sigprocmask(SIG_BLOCK, &set, NULL) < 0 ||
			       (sfd = signalfd(-1, &set, 0)) < 0))
			_exit(2);
		prctl(PR_SET_NAME, "shmfs");
		f = fopen(m->pidfile, "w");
		if (f == NULL || fprintf(f, "%d\n", (int)getpid()) < 0 ||
		    fclose(f) != 0 || write(ready[1], "r", 1) != 1)
			_exit(2);
		if (!blocks)
			for (;;)
				pause();
		if (read(sfd, &si, sizeof(si)) != sizeof(si))
			_exit(3);
		_exit(si.ssi_signo == SIGUSR2 ? 0 : 4);
	}
	close(ready[1]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
}

/* The child's wait status once it has ended (killed if still alive). */
static int finish(struct master *m, bool kill_it)
{
	int status;

	if (kill_it)
		kill(m->pid, SIGKILL);
	assert_int_equal(waitpid(m->pid, &status, 0), m->pid);
	unlink(m->pidfile);
	rmdir(m->dir);
	return status;
}

static void a_master_that_blocks_sigusr2_is_sent_it(void **state)
{
	struct master m;
	int status;

	(void)state;
	start(&m, true);
	assert_int_equal(shmfs_control_signal(m.pidfile, NULL, SIGUSR2),
			 SHMFS_EXIT_OK);
	status = finish(&m, false);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void a_master_from_before_upgrades_is_not_killed_by_one(void **state)
{
	struct master m;
	int status;

	(void)state;
	start(&m, false);
	assert_int_equal(shmfs_control_signal(m.pidfile, NULL, SIGUSR2),
			 SHMFS_EXIT_USAGE);
	/* Still alive: only our SIGKILL ends it, not a SIGUSR2. */
	assert_int_equal(kill(m.pid, 0), 0);
	status = finish(&m, true);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_master_that_blocks_sigusr2_is_sent_it),
		cmocka_unit_test(
			a_master_from_before_upgrades_is_not_killed_by_one),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

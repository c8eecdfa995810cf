/* SPDX-License-Identifier: MIT */
/*
 * The worker's seccomp filter, loaded in a forked child as a worker loads
 * it: what libfuse 3.14 does on its error paths (perror to stderr, whatever
 * stderr is; abort from a failed assert) runs under it, and a signal to
 * another process is still denied and reported with the call's number.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <wchar.h>
#include <cmocka.h>

#include "shmfs/privsep.h"

#define VIOLATION 99 /* the child's exit status on a denied call */
#define ORIENTED 98  /* stderr had an orientation: the test proves nothing */

struct fixture {
	_Atomic int *violation; /* shared with the child */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	f->violation = mmap(NULL, sizeof(*f->violation), PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (f->violation == MAP_FAILED) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	munmap(f->violation, sizeof(*f->violation));
	free(f);
	return 0;
}

/*
 * Runs fn in a child under the filter with stderr on err_fd; returns its
 * wait status.
 */
static int under_filter(struct fixture *f, int err_fd, void (*fn)(void))
{
	pid_t pid;
	int status;

	atomic_store(f->violation, -1);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit no_core = {0, 0};

		setrlimit(RLIMIT_CORE, &no_core);
		if (err_fd >= 0 && dup2(err_fd, STDERR_FILENO) < 0)
			_exit(1);
		/* libfuse meets stderr as a worker does: never written to
		 * (a failed test before this one wrote to the parent's). */
		if (err_fd >= 0 && fwide(stderr, 0) != 0)
			_exit(ORIENTED);
		if (shmfs_privsep_seccomp(f->violation, VIOLATION) < 0)
			_exit(1);
		fn();
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void exits_0(int status, struct fixture *f)
{
	if (WIFEXITED(status) && WEXITSTATUS(status) == ORIENTED)
		fail_msg("stderr was oriented before the filter: rerun alone");
	if (WIFEXITED(status) && WEXITSTATUS(status) == VIOLATION)
		fail_msg("denied system call %d", atomic_load(f->violation));
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(atomic_load(f->violation), -1);
}

/* fuse_send_msg and fuse_session_receive_buf on a failed writev or read. */
static void perror_as_libfuse_does(void)
{
	errno = EFAULT;
	perror("fuse: writing device");
	fprintf(stderr, "fuse: %s\n", "a line of its own");
}

static void perror_under_the_filter_reaches_a_file(void **state)
{
	struct fixture *f = *state;
	char path[] = "/tmp/shmfs-privsep.XXXXXX", buf[256] = "";
	int fd = mkstemp(path);
	ssize_t n;

	assert_true(fd >= 0);
	unlink(path);
	exits_0(under_filter(f, fd, perror_as_libfuse_does), f);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	assert_true(n > 0);
	assert_string_equal(buf, "fuse: writing device: Bad address\n"
				 "fuse: a line of its own\n");
}

/* A character device: a detached daemon's stderr, or a terminal. */
static void perror_under_the_filter_reaches_dev_null(void **state)
{
	struct fixture *f = *state;
	int fd = open("/dev/null", O_WRONLY);

	assert_true(fd >= 0);
	exits_0(under_filter(f, fd, perror_as_libfuse_does), f);
	close(fd);
}

static void perror_under_the_filter_reaches_a_pipe(void **state)
{
	struct fixture *f = *state;
	int fds[2];
	char buf[256] = "";

	assert_int_equal(pipe(fds), 0);
	exits_0(under_filter(f, fds[1], perror_as_libfuse_does), f);
	close(fds[1]);
	assert_true(read(fds[0], buf, sizeof(buf) - 1) > 0);
	close(fds[0]);
	assert_non_null(strstr(buf, "fuse: writing device: Bad address"));
}

static void abort_now(void)
{
	abort();
}

/* A failed assert() in libfuse: SIGABRT, as without the filter. */
static void abort_under_the_filter_dies_of_sigabrt(void **state)
{
	struct fixture *f = *state;
	int status = under_filter(f, -1, abort_now);

	if (WIFEXITED(status) && WEXITSTATUS(status) == VIOLATION)
		fail_msg("denied system call %d", atomic_load(f->violation));
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
}

static void signal_the_parent(void)
{
	syscall(SYS_tgkill, getppid(), getppid(), 0);
}

static void a_signal_to_another_process_is_denied(void **state)
{
	struct fixture *f = *state;
	int status = under_filter(f, -1, signal_the_parent);

	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), VIOLATION);
	assert_int_equal(atomic_load(f->violation), SYS_tgkill);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			perror_under_the_filter_reaches_a_file, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			perror_under_the_filter_reaches_dev_null, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			perror_under_the_filter_reaches_a_pipe, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			abort_under_the_filter_dies_of_sigabrt, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			a_signal_to_another_process_is_denied, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

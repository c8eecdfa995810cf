/* SPDX-License-Identifier: MIT */
/*
 * The scan for processes sharing the workers' uid: real, effective and
 * saved uids count, the filesystem uid does not; the caller and shmfs
 * workers are left out; the lowest pid is the example. Runs as any user:
 * a fixture tree stands in for /proc, and the real /proc must show a
 * child of this test under the test's own uid.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "shmfs/uidscan.h"

static char root[64];

/* root/PID/status with a Name: and a Uid: line (real effective saved fs). */
static void fake(const char *pid, const char *name, const char *uids)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, pid);
	assert_int_equal(mkdir(path, 0755), 0);
	if (name == NULL) /* a process that ended: no status */
		return;
	snprintf(path, sizeof(path), "%s/%s/status", root, pid);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f,
		"Name:\t%s\nUmask:\t0022\nState:\tS (sleeping)\n"
		"Tgid:\t%s\nPid:\t%s\nPPid:\t1\nTracerPid:\t0\n"
		"Uid:\t%s\nGid:\t0\t0\t0\t0\n",
		name, pid, pid, uids);
	fclose(f);
}

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "%s", "/tmp/shmfs-uidscan.XXXXXX");
	assert_non_null(mkdtemp(root));
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

static void real_effective_and_saved_uids_count_fs_uid_does_not(void **state)
{
	struct shmfs_uidscan scan;
	char self[128];

	(void)state;
	fake("1", "init", "0\t0\t0\t0");
	fake("200", "nginx", "1000\t1000\t1000\t1000");
	fake("150", "helper", "0\t0\t1000\t0");	   /* saved uid */
	fake("170", "setuid-ed", "0\t1000\t0\t0"); /* effective uid */
	fake("110", "nfsd", "0\t0\t0\t1000");	   /* fs uid alone */
	fake("120", "shmfs-worker", "1000\t1000\t1000\t1000");
	fake("100", "shmfs", "1000\t1000\t1000\t1000"); /* the caller */
	fake("300", NULL, NULL);
	snprintf(self, sizeof(self), "%s/self", root);
	assert_int_equal(mkdir(self, 0755), 0);

	assert_int_equal(shmfs_uidscan(root, 1000, 100, &scan), 0);
	assert_int_equal(scan.count, 3);
	assert_int_equal(scan.pid, 150);
	assert_string_equal(scan.name, "helper");

	assert_int_equal(shmfs_uidscan(root, 4242, 100, &scan), 0);
	assert_int_equal(scan.count, 0);
	assert_int_equal(scan.pid, 0);
}

static void a_child_of_this_test_shares_its_uid_in_proc(void **state)
{
	struct shmfs_uidscan scan;
	int fds[2];
	pid_t child;
	char c;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) { /* waits for the end of the pipe */
		close(fds[1]);
		_exit(read(fds[0], &c, 1) < 0);
	}
	close(fds[0]);
	assert_int_equal(shmfs_uidscan("/proc", getuid(), getpid(), &scan), 0);
	assert_true(scan.count >= 1);
	assert_true(scan.pid > 0 && scan.pid <= child);
	close(fds[1]);
	assert_int_equal(waitpid(child, NULL, 0), child);
}

static void a_missing_proc_is_an_error(void **state)
{
	struct shmfs_uidscan scan;

	(void)state;
	assert_int_equal(shmfs_uidscan("/nonexistent/proc", 0, 1, &scan),
			 -ENOENT);
	assert_int_equal(scan.count, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			real_effective_and_saved_uids_count_fs_uid_does_not,
			setup, teardown),
		cmocka_unit_test(a_child_of_this_test_shares_its_uid_in_proc),
		cmocka_unit_test(a_missing_proc_is_an_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

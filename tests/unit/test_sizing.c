/* SPDX-License-Identifier: MIT */
/*
 * The machine's limits against a configuration: every zone that cannot be
 * had without a descriptor of its own (memfd, posix, file) counts against
 * the hard RLIMIT_NOFILE, which a forked child lowers for the test.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "shmfs/config.h"
#include "shmfs/sizing.h"

/* The check's answer for ini in a child whose hard limit is 70. */
static int check_under_70_descriptors(const char *ini)
{
	struct shmfs_config cfg;
	char err[256];
	int status;
	pid_t pid;

	assert_int_equal(
		shmfs_config_parse_string(ini, "t.ini", &cfg, err, sizeof(err)),
		0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit rl = {70, 70};

		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			_exit(100);
		_exit(shmfs_sizing_check(&cfg) == -E2BIG ? 1 : 0);
	}
	shmfs_config_free(&cfg);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_not_equal(WEXITSTATUS(status), 100);
	return WEXITSTATUS(status);
}

/* Seven zones of a backend, more than the 70 - 64 descriptors left. */
static void seven_zones(char *buf, size_t len, const char *keys)
{
	size_t n = 0;

	for (int i = 0; i < 7; i++)
		n += (size_t)snprintf(buf + n, len - n,
				      "[zone:z%d]\nsize = 4K\n%s%d\n", i, keys,
				      i);
}

static void posix_and_file_zones_count_against_the_descriptor_limit(void **s)
{
	char ini[2048];

	(void)s;
	seven_zones(ini, sizeof(ini), "backend = posix\nname = /shmfs-sizing-");
	assert_int_equal(check_under_70_descriptors(ini), 1);
	seven_zones(ini, sizeof(ini), "backend = file\npath = /tmp/shmfs-s-");
	assert_int_equal(check_under_70_descriptors(ini), 1);
	seven_zones(ini, sizeof(ini), "backend = memfd\nmode = 060");
	assert_int_equal(check_under_70_descriptors(ini), 1);
}

static void anon_zones_do_without_a_descriptor(void **s)
{
	char ini[2048];

	(void)s;
	seven_zones(ini, sizeof(ini), "backend = anon\nmode = 060");
	assert_int_equal(check_under_70_descriptors(ini), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			posix_and_file_zones_count_against_the_descriptor_limit),
		cmocka_unit_test(anon_zones_do_without_a_descriptor),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

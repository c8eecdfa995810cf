/* SPDX-License-Identifier: MIT */
/*
 * The service manager's notification protocol: which $NOTIFY_SOCKET values
 * are understood, that the variable leaves the environment, and that a
 * message arrives whole, as one datagram, on a socket of the test's own.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "shmfs/notify.h"

static void paths_and_abstract_names_are_understood(void **s)
{
	struct sockaddr_un addr;
	socklen_t len = 0;

	(void)s;
	assert_int_equal(
		shmfs_notify_address("/run/systemd/notify", &addr, &len), 0);
	assert_string_equal(addr.sun_path, "/run/systemd/notify");
	assert_int_equal(len, offsetof(struct sockaddr_un, sun_path) +
				      strlen("/run/systemd/notify") + 1);

	assert_int_equal(shmfs_notify_address("@sd-notify", &addr, &len), 0);
	assert_int_equal(addr.sun_path[0], '\0');
	assert_memory_equal(addr.sun_path + 1, "sd-notify", 9);
	/* abstract names have no terminating NUL: the length says it all */
	assert_int_equal(len, offsetof(struct sockaddr_un, sun_path) + 10);
}

static void unusable_values_are_refused(void **s)
{
	struct sockaddr_un addr;
	socklen_t len;
	char longpath[sizeof(addr.sun_path) + 1];
	char longname[sizeof(addr.sun_path) + 2];

	(void)s;
	assert_int_equal(shmfs_notify_address("", &addr, &len), -EINVAL);
	assert_int_equal(shmfs_notify_address("@", &addr, &len), -EINVAL);
	assert_int_equal(shmfs_notify_address("run/notify", &addr, &len),
			 -EINVAL);
	assert_int_equal(shmfs_notify_address("vsock:2:1234", &addr, &len),
			 -EAFNOSUPPORT);

	/* a path of sizeof(sun_path) bytes leaves no room for its NUL */
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(shmfs_notify_address(longpath, &addr, &len),
			 -ENAMETOOLONG);
	longpath[sizeof(longpath) - 2] = '\0';
	assert_int_equal(shmfs_notify_address(longpath, &addr, &len), 0);
	/* an abstract name may fill sun_path, not more */
	memset(longname, 'b', sizeof(longname) - 1);
	longname[0] = '@';
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(shmfs_notify_address(longname, &addr, &len),
			 -ENAMETOOLONG);
	longname[sizeof(longname) - 2] = '\0';
	assert_int_equal(shmfs_notify_address(longname, &addr, &len), 0);
	assert_int_equal(len, sizeof(struct sockaddr_un));
}

static void without_the_variable_nothing_is_sent(void **s)
{
	(void)s;
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(shmfs_notify_init(), 0);
	assert_int_equal(shmfs_notify("READY=1"), 0);
}

static void a_message_is_one_datagram_and_the_variable_is_gone(void **s)
{
	struct sockaddr_un addr;
	socklen_t len;
	char name[64], buf[256];
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	(void)s;
	assert_true(fd >= 0);
	snprintf(name, sizeof(name), "@shmfs-test-notify-%d", (int)getpid());
	assert_int_equal(shmfs_notify_address(name, &addr, &len), 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&addr, len), 0);

	setenv("NOTIFY_SOCKET", name, 1);
	assert_int_equal(shmfs_notify_init(), 1);
	assert_null(getenv("NOTIFY_SOCKET"));
	assert_int_equal(shmfs_notify("READY=1\nSTATUS=%d zones", 3), 0);
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	assert_int_equal(n, strlen("READY=1\nSTATUS=3 zones"));
	buf[n] = '\0';
	assert_string_equal(buf, "READY=1\nSTATUS=3 zones");
	close(fd);

	/* the listener is gone: the failure is returned, not fatal */
	assert_int_equal(shmfs_notify("STOPPING=1"), -ECONNREFUSED);
}

static void a_bad_value_turns_notifications_off(void **s)
{
	(void)s;
	setenv("NOTIFY_SOCKET", "relative/path", 1);
	assert_int_equal(shmfs_notify_init(), -EINVAL);
	assert_null(getenv("NOTIFY_SOCKET"));
	assert_int_equal(shmfs_notify("READY=1"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(paths_and_abstract_names_are_understood),
		cmocka_unit_test(unusable_values_are_refused),
		cmocka_unit_test(without_the_variable_nothing_is_sent),
		cmocka_unit_test(
			a_message_is_one_datagram_and_the_variable_is_gone),
		cmocka_unit_test(a_bad_value_turns_notifications_off),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

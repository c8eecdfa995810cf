/* SPDX-License-Identifier: MIT */
/*
 * The descriptor store's protocol, against a socket of the test's own as
 * the service manager: what a sync sends (one datagram per fd, the fd
 * attached, removals for what changed or went), what LISTEN_FDS gives
 * back, and that a re-exec's export is read back by take.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "shmfs/fdstore.h"
#include "shmfs/notify.h"

static int manager = -1; /* the test's notify socket */

static int setup_manager(void **s)
{
	struct sockaddr_un addr;
	socklen_t len;
	char name[64];

	(void)s;
	manager = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(manager >= 0);
	snprintf(name, sizeof(name), "@shmfs-test-fdstore-%d", (int)getpid());
	assert_int_equal(shmfs_notify_address(name, &addr, &len), 0);
	assert_int_equal(bind(manager, (struct sockaddr *)&addr, len), 0);
	setenv("NOTIFY_SOCKET", name, 1);
	assert_int_equal(shmfs_notify_init(), 1);
	return 0;
}

static int teardown_manager(void **s)
{
	(void)s;
	if (manager >= 0)
		close(manager);
	manager = -1;
	return 0;
}

/*
 * The next datagram, which must be text (NUL-terminated into buf) and at
 * most one fd: returned, or -1. -2 if none is waiting.
 */
static int receive(char *buf, size_t size)
{
	union {
		struct cmsghdr align;
		char b[CMSG_SPACE(sizeof(int) * 4)];
	} control;
	struct iovec iov = {.iov_base = buf, .iov_len = size - 1};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = control.b,
			    .msg_controllen = sizeof(control.b)};
	ssize_t n = recvmsg(manager, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	int fd = -1;

	if (n < 0 && errno == EAGAIN)
		return -2;
	assert_true(n >= 0);
	buf[n] = '\0';
	assert_false(mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC));
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c != NULL;
	     c = CMSG_NXTHDR(&mh, c)) {
		assert_int_equal(c->cmsg_type, SCM_RIGHTS);
		assert_int_equal(c->cmsg_len, CMSG_LEN(sizeof(int)));
		assert_int_equal(fd, -1);
		memcpy(&fd, CMSG_DATA(c), sizeof(int));
	}
	return fd;
}

static bool same_file(int a, int b)
{
	struct stat sa, sb;

	assert_int_equal(fstat(a, &sa), 0);
	assert_int_equal(fstat(b, &sb), 0);
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* The next datagram is text, with sent's file attached (sent >= 0) or no fd. */
static void expect(const char *text, int sent)
{
	char buf[256];
	int fd = receive(buf, sizeof(buf));

	assert_true(fd != -2);
	assert_string_equal(buf, text);
	if (sent < 0) {
		assert_int_equal(fd, -1);
		return;
	}
	assert_true(fd >= 0);
	assert_true(same_file(fd, sent));
	close(fd);
}

static void expect_nothing(void)
{
	char buf[256];

	assert_int_equal(receive(buf, sizeof(buf)), -2);
}

static int new_memfd(const char *name)
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

static void names_are_checked_and_lists_find_and_claim(void **s)
{
	struct shmfs_fdlist l = {0};
	char longname[SHMFS_FDNAME_MAX + 2];
	int a = new_memfd("a"), b = new_memfd("b");

	(void)s;
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(shmfs_fdlist_add(&l, "", a), -EINVAL);
	assert_int_equal(shmfs_fdlist_add(&l, "zone:1", a), -EINVAL);
	assert_int_equal(shmfs_fdlist_add(&l, "a b", a), -EINVAL);
	assert_int_equal(shmfs_fdlist_add(&l, "a\n", a), -EINVAL);
	assert_int_equal(shmfs_fdlist_add(&l, longname, a), -EINVAL);
	assert_int_equal(shmfs_fdlist_add(&l, "fuse", -1), -EINVAL);
	longname[SHMFS_FDNAME_MAX] = '\0';
	assert_int_equal(shmfs_fdlist_add(&l, longname, a), 0);
	assert_int_equal(shmfs_fdlist_add(&l, "state.1", b), 0);
	assert_int_equal(shmfs_fdlist_add(&l, "state.1", a), -EEXIST);
	assert_int_equal(l.n, 2);

	assert_int_equal(shmfs_fdlist_find(&l, "state.1"), b);
	assert_int_equal(shmfs_fdlist_find(&l, "state.2"), -1);
	assert_int_equal(shmfs_fdlist_claim(&l, longname), a);
	assert_int_equal(shmfs_fdlist_claim(&l, longname), -1);
	assert_int_equal(l.n, 1);
	assert_int_equal(shmfs_fdlist_find(&l, "state.1"), b);

	/* close closes what is left (b), not what was claimed (a) */
	shmfs_fdlist_close(&l);
	assert_int_equal(l.n, 0);
	assert_true(fcntl(b, F_GETFD) < 0 && errno == EBADF);
	assert_true(fcntl(a, F_GETFD) >= 0);
	close(a);
}

static void without_a_manager_sync_sends_nothing(void **s)
{
	struct shmfs_fdstore st;
	struct shmfs_fdlist want = {0};
	int a = new_memfd("a");

	(void)s;
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(shmfs_notify_init(), 0);
	shmfs_fdstore_init(&st);
	assert_false(st.on);
	assert_int_equal(shmfs_fdlist_add(&want, "a", a), 0);
	assert_int_equal(shmfs_fdstore_sync(&st, &want), 0);
	assert_int_equal(st.n, 0);
	shmfs_fdstore_free(&st);
	shmfs_fdlist_close(&want);
}

static void sync_stores_what_is_new_or_changed_and_removes_what_went(void **s)
{
	struct shmfs_fdstore st;
	struct shmfs_fdlist want = {0};
	int a = new_memfd("a"), b = new_memfd("b"), b2 = new_memfd("b2");
	int c = new_memfd("c"), bdup;

	(void)s;
	shmfs_fdstore_init(&st);
	assert_true(st.on);
	assert_int_equal(shmfs_fdlist_add(&want, "a", a), 0);
	assert_int_equal(shmfs_fdlist_add(&want, "b", b), 0);
	assert_int_equal(shmfs_fdstore_sync(&st, &want), 0);
	expect("FDSTORE=1\nFDNAME=a", a);
	expect("FDSTORE=1\nFDNAME=b", b);
	expect_nothing();

	/* nothing changed: nothing is sent */
	assert_int_equal(shmfs_fdstore_sync(&st, &want), 0);
	expect_nothing();

	/* b's fd closed and its number reused by another file */
	bdup = dup(b2);
	close(b2);
	assert_int_equal(dup2(bdup, b), b);
	close(bdup);
	assert_int_equal(shmfs_fdlist_claim(&want, "a"), a);
	assert_int_equal(shmfs_fdlist_add(&want, "c", c), 0);
	assert_int_equal(shmfs_fdstore_sync(&st, &want), 0);
	expect("FDSTOREREMOVE=1\nFDNAME=b", -1);
	expect("FDSTORE=1\nFDNAME=b", b);
	expect("FDSTORE=1\nFDNAME=c", c);
	expect("FDSTOREREMOVE=1\nFDNAME=a", -1);
	expect_nothing();
	assert_int_equal(st.n, 2);

	/* another descriptor of the same open file is the same file */
	bdup = dup(b);
	want.v[0].fd = bdup;
	assert_int_equal(shmfs_fdstore_sync(&st, &want), 0);
	expect_nothing();
	close(bdup);
	want.v[0].fd = b;

	/* the store's copies do not keep a file it no longer holds */
	shmfs_fdlist_close(&want);
	assert_int_equal(shmfs_fdstore_sync(&st, &want), 0);
	expect("FDSTOREREMOVE=1\nFDNAME=c", -1);
	expect("FDSTOREREMOVE=1\nFDNAME=b", -1);
	expect_nothing();
	assert_int_equal(st.n, 0);
	shmfs_fdstore_free(&st);
	close(a);
}

static void two_opens_of_one_device_are_two_files(void **s)
{
	struct shmfs_fdstore st;
	struct shmfs_fdlist want = {0};
	int one = open("/dev/null", O_RDWR | O_CLOEXEC);
	int two = open("/dev/null", O_RDWR | O_CLOEXEC);

	(void)s;
	assert_true(one >= 0 && two >= 0);
	shmfs_fdstore_init(&st);
	assert_int_equal(shmfs_fdlist_add(&want, "clone.0", one), 0);
	assert_int_equal(shmfs_fdstore_sync(&st, &want), 0);
	expect("FDSTORE=1\nFDNAME=clone.0", one);

	/* a respawned worker's new clone: same device inode, another file */
	want.v[0].fd = two;
	assert_int_equal(shmfs_fdstore_sync(&st, &want), 0);
	expect("FDSTOREREMOVE=1\nFDNAME=clone.0", -1);
	expect("FDSTORE=1\nFDNAME=clone.0", two);
	expect_nothing();
	shmfs_fdstore_free(&st);
	shmfs_fdlist_close(&want);
	close(one);
}

static void what_listen_fds_gave_back_is_not_stored_again(void **s)
{
	struct shmfs_fdstore st;
	struct shmfs_fdlist got = {0}, want = {0};
	int a = new_memfd("a"), b = new_memfd("b"), c = new_memfd("c");

	(void)s;
	assert_int_equal(shmfs_fdlist_add(&got, "fuse", a), 0);
	assert_int_equal(shmfs_fdlist_add(&got, "clone.3", b), 0);
	shmfs_fdstore_init(&st);
	assert_int_equal(shmfs_fdstore_seed(&st, &got), 0);

	assert_int_equal(shmfs_fdlist_add(&want, "fuse", a), 0);
	assert_int_equal(shmfs_fdlist_add(&want, "state.2", c), 0);
	assert_int_equal(shmfs_fdstore_sync(&st, &want), 0);
	expect("FDSTORE=1\nFDNAME=state.2", c);
	expect("FDSTOREREMOVE=1\nFDNAME=clone.3", -1);
	expect_nothing();
	shmfs_fdstore_free(&st);

	/* a name given back twice: which is ours is unknown, so re-store */
	shmfs_fdlist_free(&got);
	assert_int_equal(shmfs_fdlist_add(&got, "fuse", a), 0);
	got.v[0].fd = a;
	assert_int_equal(shmfs_fdlist_add(&got, "other", b), 0);
	snprintf(got.v[1].name, sizeof(got.v[1].name), "fuse");
	shmfs_fdstore_init(&st);
	assert_int_equal(shmfs_fdstore_seed(&st, &got), 0);
	assert_int_equal(shmfs_fdstore_sync(&st, &want), 0);
	expect("FDSTOREREMOVE=1\nFDNAME=fuse", -1);
	expect("FDSTORE=1\nFDNAME=fuse", a);
	expect("FDSTORE=1\nFDNAME=state.2", c);
	expect_nothing();
	shmfs_fdstore_free(&st);
	shmfs_fdlist_free(&got);
	shmfs_fdlist_close(&want);
	close(b);
}

static void a_manager_gone_is_an_error_and_nothing_is_recorded(void **s)
{
	struct shmfs_fdstore st;
	struct shmfs_fdlist want = {0};
	int a = new_memfd("a");

	(void)s;
	shmfs_fdstore_init(&st);
	close(manager);
	manager = -1;
	assert_int_equal(shmfs_fdlist_add(&want, "a", a), 0);
	assert_int_equal(shmfs_fdstore_sync(&st, &want), -ECONNREFUSED);
	assert_int_equal(st.n, 0);
	assert_true(st.failed);
	shmfs_fdstore_free(&st);
	shmfs_fdlist_close(&want);
}

/* Puts a new memfd at fd number at, returns its inode. */
static ino_t memfd_at(int at)
{
	int fd = new_memfd("passed");
	struct stat st;

	if (fd != at) {
		assert_int_equal(dup2(fd, at), at); /* no FD_CLOEXEC */
		close(fd);
	}
	assert_int_equal(fcntl(at, F_SETFD, 0), 0); /* as passed */
	assert_int_equal(fstat(at, &st), 0);
	return st.st_ino;
}

static void listen_env(const char *pid, const char *fds, const char *names)
{
	char self[32];

	snprintf(self, sizeof(self), "%d", (int)getpid());
	setenv("LISTEN_PID", pid ? pid : self, 1);
	setenv("LISTEN_FDS", fds, 1);
	if (names)
		setenv("LISTEN_FDNAMES", names, 1);
	else
		unsetenv("LISTEN_FDNAMES");
}

static void listen_env_is_gone(void)
{
	assert_null(getenv("LISTEN_PID"));
	assert_null(getenv("LISTEN_FDS"));
	assert_null(getenv("LISTEN_FDNAMES"));
}

static void take_ignores_what_was_passed_to_another_pid(void **s)
{
	struct shmfs_fdlist got = {0};
	char other[32];

	(void)s;
	memfd_at(3);
	snprintf(other, sizeof(other), "%d", (int)getpid() + 1);
	listen_env(other, "1", "fuse");
	assert_int_equal(shmfs_fdstore_take(&got), 0);
	assert_int_equal(got.n, 0);
	listen_env_is_gone();
	assert_int_equal(fcntl(3, F_GETFD), 0); /* left as it was */
	close(3);
}

static void take_gives_names_and_sets_close_on_exec(void **s)
{
	struct shmfs_fdlist got = {0};
	ino_t three = memfd_at(3), four = memfd_at(4), five = memfd_at(5);
	char longname[SHMFS_FDNAME_MAX + 40];
	struct stat st;

	(void)s;
	listen_env(NULL, "3", "fuse:state.1:zone.7");
	assert_int_equal(shmfs_fdstore_take(&got), 3);
	listen_env_is_gone();
	assert_int_equal(got.n, 3);
	assert_string_equal(got.v[0].name, "fuse");
	assert_string_equal(got.v[2].name, "zone.7");
	assert_int_equal(shmfs_fdlist_find(&got, "state.1"), 4);
	for (int fd = 3; fd <= 5; fd++)
		assert_int_equal(fcntl(fd, F_GETFD), FD_CLOEXEC);
	assert_int_equal(fstat(shmfs_fdlist_find(&got, "fuse"), &st), 0);
	assert_int_equal(st.st_ino, three);
	assert_int_equal(fstat(5, &st), 0);
	assert_int_equal(st.st_ino, five);
	(void)four;
	shmfs_fdlist_free(&got);

	/* no names, and names we could not have stored: "unknown" */
	memset(longname, 'y', sizeof(longname) - 1);
	longname[0] = ':';
	longname[sizeof(longname) - 1] = '\0';
	listen_env(NULL, "2", longname);
	assert_int_equal(shmfs_fdstore_take(&got), 2);
	assert_string_equal(got.v[0].name, "unknown");
	assert_string_equal(got.v[1].name, "unknown");
	shmfs_fdlist_free(&got);
	listen_env(NULL, "1", NULL);
	assert_int_equal(shmfs_fdstore_take(&got), 1);
	assert_string_equal(got.v[0].name, "unknown");
	shmfs_fdlist_close(&got);
	close(4);
	close(5);
}

static void take_refuses_malformed_variables_and_takes_nothing(void **s)
{
	struct shmfs_fdlist got = {0};
	static const struct {
		const char *pid, *fds, *names;
		int res;
	} bad[] = {
		{"1x", "1", "a", -EINVAL},     {"-1", "1", "a", -EINVAL},
		{NULL, "", "a", -EINVAL},      {NULL, "one", "a", -EINVAL},
		{NULL, "-2", "a", -EINVAL},    {NULL, "1", "a:b", -EINVAL},
		{NULL, "2", "a:b:c", -EINVAL}, {NULL, "3", "a:b:c", -EBADF},
	};

	(void)s;
	memfd_at(3);
	memfd_at(4);
	close(5);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		listen_env(bad[i].pid, bad[i].fds, bad[i].names);
		assert_int_equal(shmfs_fdstore_take(&got), bad[i].res);
		assert_int_equal(got.n, 0);
		listen_env_is_gone();
		assert_int_equal(fcntl(3, F_GETFD), 0);
	}
	/* LISTEN_FDS=0, or no LISTEN_FDS: nothing passed */
	listen_env(NULL, "0", NULL);
	assert_int_equal(shmfs_fdstore_take(&got), 0);
	listen_env(NULL, "1", NULL);
	unsetenv("LISTEN_FDS");
	assert_int_equal(shmfs_fdstore_take(&got), 0);
	listen_env_is_gone();
	close(3);
	close(4);
}

/* A new memfd at the lowest free number >= min. */
static int memfd_from(int min)
{
	int fd = new_memfd("exported"), moved;

	if (fd >= min)
		return fd;
	moved = fcntl(fd, F_DUPFD_CLOEXEC, min);
	assert_true(moved >= min);
	close(fd);
	return moved;
}

static void export_then_take_gives_the_same_files_under_their_names(void **s)
{
	struct shmfs_fdlist want = {0}, got = {0};
	int a = memfd_from(20), b = memfd_from(20), c = memfd_from(3);
	int other = open("/dev/null", O_RDONLY), keep;
	struct stat sa, sb, sc, st;

	(void)s;
	/* c at 3 must reach 5 before a's copy takes 3 */
	assert_int_equal(c, 3);
	assert_true(other >= 0);
	keep = fcntl(other, F_DUPFD_CLOEXEC, 30);
	assert_int_equal(dup2(keep, 31), 31); /* 31: no FD_CLOEXEC */
	close(other);
	other = 31;
	assert_int_equal(fstat(a, &sa), 0);
	assert_int_equal(fstat(b, &sb), 0);
	assert_int_equal(fstat(c, &sc), 0);
	assert_int_equal(shmfs_fdlist_add(&want, "fuse", a), 0);
	assert_int_equal(shmfs_fdlist_add(&want, "zone.1", b), 0);
	assert_int_equal(shmfs_fdlist_add(&want, "state.9", c), 0);
	assert_int_equal(fcntl(a, F_SETFD, 0), 0);
	assert_int_equal(shmfs_fdstore_export(&want), 0);
	assert_int_equal(strtol(getenv("LISTEN_PID"), NULL, 10), getpid());
	assert_string_equal(getenv("LISTEN_FDS"), "3");
	assert_string_equal(getenv("LISTEN_FDNAMES"), "fuse:zone.1:state.9");
	for (int fd = 3; fd <= 5; fd++)
		assert_int_equal(fcntl(fd, F_GETFD), 0); /* they cross exec */
	/* the old numbers do not: only one copy of each is passed */
	assert_int_equal(fcntl(a, F_GETFD), FD_CLOEXEC);
	assert_int_equal(fcntl(b, F_GETFD), FD_CLOEXEC);
	/* everything else as it was */
	assert_int_equal(fcntl(keep, F_GETFD), FD_CLOEXEC);
	assert_int_equal(fcntl(other, F_GETFD), 0);
	shmfs_fdlist_free(&want);

	assert_int_equal(shmfs_fdstore_take(&got), 3);
	listen_env_is_gone();
	assert_int_equal(fstat(shmfs_fdlist_find(&got, "fuse"), &st), 0);
	assert_true(st.st_dev == sa.st_dev && st.st_ino == sa.st_ino);
	assert_int_equal(fstat(shmfs_fdlist_find(&got, "zone.1"), &st), 0);
	assert_true(st.st_dev == sb.st_dev && st.st_ino == sb.st_ino);
	assert_int_equal(fstat(shmfs_fdlist_find(&got, "state.9"), &st), 0);
	assert_true(st.st_dev == sc.st_dev && st.st_ino == sc.st_ino);
	assert_int_equal(shmfs_fdlist_find(&got, "state.9"), 5);
	shmfs_fdlist_close(&got);
	close(a);
	close(b);
	close(keep);
	close(other);

	/* nothing to pass: the variables are unset */
	setenv("LISTEN_FDS", "7", 1);
	assert_int_equal(shmfs_fdstore_export(&want), 0);
	listen_env_is_gone();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(names_are_checked_and_lists_find_and_claim),
		cmocka_unit_test(without_a_manager_sync_sends_nothing),
		cmocka_unit_test_setup_teardown(
			sync_stores_what_is_new_or_changed_and_removes_what_went,
			setup_manager, teardown_manager),
		cmocka_unit_test_setup_teardown(
			two_opens_of_one_device_are_two_files, setup_manager,
			teardown_manager),
		cmocka_unit_test_setup_teardown(
			what_listen_fds_gave_back_is_not_stored_again,
			setup_manager, teardown_manager),
		cmocka_unit_test_setup_teardown(
			a_manager_gone_is_an_error_and_nothing_is_recorded,
			setup_manager, teardown_manager),
		cmocka_unit_test(take_ignores_what_was_passed_to_another_pid),
		cmocka_unit_test(take_gives_names_and_sets_close_on_exec),
		cmocka_unit_test(
			take_refuses_malformed_variables_and_takes_nothing),
		cmocka_unit_test(
			export_then_take_gives_the_same_files_under_their_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

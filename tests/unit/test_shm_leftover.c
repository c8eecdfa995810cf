/* SPDX-License-Identifier: MIT */
/*
 * Crash leftovers: a posix object or keyed sysv segment that a run which
 * died (a child that allocates and exits without freeing, as kill -9
 * leaves it) made is adopted with its bytes by the next allocation, and
 * removed at its free unless kept; an object of the same user that shmfs
 * did not make, one a live zone holds, and one of another size are
 * refused, and left as they are.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "test_log.h"

#include "shmfs/log.h"
#include "shmfs/shm.h"

#define NAME "/shmfs-unit-leftover"
#define LINKED "/dev/shm/shmfs-unit-leftover2"

/* The test process's key (a child computes it from its parent's pid). */
static key_t unit_key(void)
{
	return (key_t)(0x5f3d0000 | (getpid() & 0xffff));
}

static int setup(void **state)
{
	(void)state;
	shm_unlink(NAME);
	return test_log_open();
}

/* Whatever a test made goes, even if it failed. */
static int teardown(void **state)
{
	int id = shmget(unit_key(), 0, 0);

	(void)state;
	test_log_close();
	if (id >= 0)
		shmctl(id, IPC_RMID, NULL);
	shm_unlink(NAME);
	unlink(LINKED);
	return 0;
}

static struct shmfs_shm posix_zone(size_t size)
{
	struct shmfs_shm s = {.size = size,
			      .backend = SHMFS_BACKEND_POSIX,
			      .label = "app",
			      .object = NAME,
			      .mode = 0600,
			      .uid = geteuid(),
			      .gid = getegid()};
	return s;
}

static struct shmfs_shm sysv_zone(size_t size)
{
	struct shmfs_shm s = {.size = size,
			      .backend = SHMFS_BACKEND_SYSV,
			      .label = "legacy",
			      .key = unit_key(),
			      .mode = 0600,
			      .uid = geteuid(),
			      .gid = getegid()};
	return s;
}

/*
 * A run that dies: a child allocates the zone, stores text at its start
 * and exits without freeing it (its mappings, attaches and lock go with
 * it, as after kill -9). Returns the child's exit status.
 */
static int crash_after_alloc(struct shmfs_shm s, const char *text)
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		if (shmfs_shm_alloc(&s) < 0 || !s.created)
			_exit(1);
		memcpy(s.addr, text, strlen(text));
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static bool posix_exists(void)
{
	struct stat st;

	return stat("/dev/shm" NAME, &st) == 0;
}

static void a_posix_leftover_is_adopted_with_its_bytes_and_removed(void **state)
{
	struct shmfs_shm a = posix_zone(5000), b = a;

	(void)state;
	assert_int_equal(crash_after_alloc(a, "before the crash"), 0);
	assert_true(posix_exists());
	assert_int_equal(shmfs_shm_probe(&b), 0); /* shmfs -t */
	assert_non_null(strstr(test_log_read(),
			       "zone \"app\": posix object " NAME
			       " left by a previous run: the start "
			       "adopts it with its bytes\n"));
	assert_int_equal(shmfs_shm_alloc(&a), 0);
	assert_true(a.adopted);
	assert_true(a.created);
	assert_int_equal(a.size, 5000);
	assert_memory_equal(a.addr, "before the crash", 16);
	assert_non_null(strstr(test_log_read(),
			       "zone \"app\": posix object " NAME
			       " left by a previous run: adopted "
			       "with its bytes\n"));
	/* Adopted, it is a live zone's: no one else takes it. */
	b = posix_zone(5000);
	assert_int_equal(shmfs_shm_alloc(&b), -EBUSY);
	assert_non_null(
		strstr(test_log_read(), "is in use by a running shmfs"));
	shmfs_shm_free(&a);
	assert_false(posix_exists()); /* removed, as if made now */
}

static void a_kept_posix_object_is_adopted_again_at_the_next_start(void **state)
{
	struct shmfs_shm a = posix_zone(4096), b;

	(void)state;
	a.keep = true;
	b = a;
	assert_int_equal(shmfs_shm_alloc(&a), 0);
	assert_false(a.adopted);
	memcpy(a.addr, "kept", 4);
	shmfs_shm_free(&a);
	assert_true(posix_exists());
	assert_int_equal(shmfs_shm_alloc(&b), 0);
	assert_true(b.adopted);
	assert_memory_equal(b.addr, "kept", 4);
	shmfs_shm_free(&b);
	assert_true(posix_exists()); /* keep = yes still */
}

static void
another_programs_posix_object_of_the_same_user_is_refused(void **state)
{
	struct shmfs_shm a = posix_zone(4096);
	int fd = shm_open(NAME, O_RDWR | O_CREAT | O_EXCL, 0600);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 4096), 0);
	assert_int_equal(pwrite(fd, "theirs", 6, 0), 6);
	close(fd);
	assert_int_equal(shmfs_shm_probe(&a), -EEXIST);
	assert_int_equal(shmfs_shm_alloc(&a), -EEXIST);
	assert_non_null(strstr(test_log_read(),
			       "zone \"app\": posix object " NAME
			       " exists (/dev/shm" NAME "): set attach = yes"));
	assert_null(strstr(test_log_read(), "left by a previous run"));
	assert_true(posix_exists()); /* left alone */
}

static void
a_posix_leftover_of_another_size_or_with_a_link_is_refused(void **state)
{
	struct shmfs_shm a = posix_zone(8192);

	(void)state;
	assert_int_equal(crash_after_alloc(posix_zone(4096), "x"), 0);
	assert_int_equal(shmfs_shm_probe(&a), -EINVAL);
	assert_int_equal(shmfs_shm_alloc(&a), -EINVAL);
	assert_non_null(strstr(test_log_read(),
			       "posix object " NAME ", left by a previous "
			       "run, is 4096 bytes, the zone's size is 8192: "
			       "set size = 4096 to adopt it, or remove it"));
	assert_true(posix_exists());
	/* The hardening checks still run on a leftover: one link. */
	assert_int_equal(link("/dev/shm" NAME, LINKED), 0);
	a = posix_zone(4096);
	assert_int_equal(shmfs_shm_alloc(&a), -EMLINK);
	assert_true(posix_exists());
}

static void a_sysv_leftover_is_adopted_with_its_bytes_and_removed(void **state)
{
	struct shmfs_shm a = sysv_zone(10000), b = a;

	(void)state;
	assert_int_equal(crash_after_alloc(a, "segment bytes"), 0);
	int id = shmget(unit_key(), 0, 0);
	assert_true(id >= 0);
	assert_int_equal(shmfs_shm_probe(&b), 0);
	assert_non_null(strstr(test_log_read(),
			       "left by a previous run: the start "
			       "adopts it with its bytes"));
	assert_int_equal(shmfs_shm_alloc(&a), 0);
	assert_true(a.adopted);
	assert_true(a.created);
	assert_int_equal(a.id, id);
	assert_memory_equal(a.addr, "segment bytes", 13);
	char want[128];
	snprintf(want, sizeof(want),
		 "zone \"legacy\": the segment with key %#x left by a "
		 "previous run: adopted with its bytes\n",
		 (unsigned)unit_key());
	assert_non_null(strstr(test_log_read(), want));
	/* Attached now: another start refuses it as in use. */
	b = sysv_zone(10000);
	assert_int_equal(shmfs_shm_alloc(&b), -EBUSY);
	assert_non_null(
		strstr(test_log_read(), "is in use (1 attached, creator"));
	shmfs_shm_free(&a);
	assert_int_equal(shmget(unit_key(), 0, 0), -1); /* removed */
}

static void an_attached_sysv_leftover_is_in_use_and_refused(void **state)
{
	struct shmfs_shm a = sysv_zone(8192);

	(void)state;
	assert_int_equal(crash_after_alloc(a, "x"), 0);
	int id = shmget(unit_key(), 0, 0);
	void *p = shmat(id, NULL, 0);
	assert_true(p != (void *)-1);
	assert_int_equal(shmfs_shm_alloc(&a), -EBUSY);
	assert_int_equal(shmdt(p), 0);
	a.size = 4096; /* another size: an error that says so */
	assert_int_equal(shmfs_shm_alloc(&a), -EINVAL);
	assert_non_null(strstr(test_log_read(),
			       "left by a previous run, is 8192 "
			       "bytes, the zone's size is 4096"));
	assert_int_equal(shmget(unit_key(), 0, 0), id); /* left alone */
	a.size = 8192;
	assert_int_equal(shmfs_shm_alloc(&a), 0);
	assert_true(a.adopted);
	shmfs_shm_free(&a);
}

static void a_segment_not_as_shmfs_leaves_one_is_refused(void **state)
{
	struct shmfs_shm a = sysv_zone(8192);
	pid_t pid = fork();
	int status;

	(void)state;
	/* A program of the same user, gone, that made it with mode 0644. */
	if (pid == 0)
		_exit(shmget(a.key, 8192, IPC_CREAT | IPC_EXCL | 0644) < 0);
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(status, 0);
	assert_int_equal(shmfs_shm_alloc(&a), -EEXIST);
	assert_non_null(strstr(test_log_read(), "exists (owner uid"));
	assert_true(shmget(unit_key(), 0, 0) >= 0); /* left alone */
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(a_posix_leftover_is_adopted_with_its_bytes_and_removed),
		T(a_kept_posix_object_is_adopted_again_at_the_next_start),
		T(another_programs_posix_object_of_the_same_user_is_refused),
		T(a_posix_leftover_of_another_size_or_with_a_link_is_refused),
		T(a_sysv_leftover_is_adopted_with_its_bytes_and_removed),
		T(an_attached_sysv_leftover_is_in_use_and_refused),
		T(a_segment_not_as_shmfs_leaves_one_is_refused),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}

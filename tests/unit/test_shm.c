/* SPDX-License-Identifier: MIT */
/*
 * The backends: each maps zeroed memory that a forked child and its
 * parent share, frees it, and reports a failing call once, with its size
 * and errno. shmget is wrapped (-Wl,--wrap=shmget) to reach its failure.
 * Shared objects are used only if a trusted user's and reached safely;
 * cases that need another user's objects run as root only (chown).
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
#include <sys/stat.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <ftw.h>
#include <limits.h>
#include <unistd.h>
#include <cmocka.h>

#include "test_log.h"

#include "shmfs/log.h"
#include "shmfs/shm.h"

int __real_shmget(key_t key, size_t size, int flags);
int __wrap_shmget(key_t key, size_t size, int flags);

static int shmget_errno; /* nonzero: the next shmget fails with it */

int __wrap_shmget(key_t key, size_t size, int flags)
{
	if (shmget_errno != 0) {
		errno = shmget_errno;
		shmget_errno = 0;
		return -1;
	}
	return __real_shmget(key, size, flags);
}

static int setup(void **state)
{
	(void)state;
	return test_log_open();
}

static char walk_base[64]; /* the directory paths_init made, if any */

static int remove_entry(const char *path, const struct stat *st, int flag,
			struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static key_t unit_key(int n)
{
	return (key_t)(0x5f3c0000 | (n << 12) | (getpid() & 0xfff));
}

/* Whatever a test made outside its process goes, even if it failed. */
static int teardown(void **state)
{
	(void)state;
	test_log_close();
	for (int n = 1; n <= 3; n++) {
		int id = shmget(unit_key(n), 0, 0);

		if (id >= 0)
			shmctl(id, IPC_RMID, NULL);
	}
	shm_unlink("/shmfs-unit-planted");
	shm_unlink("/shmfs-unit-planted2");
	if (walk_base[0])
		nftw(walk_base, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	walk_base[0] = '\0';
	return 0;
}

static void memory_is_zeroed_and_shared_with_a_child(enum shmfs_backend b)
{
	struct shmfs_shm shm = {.size = 1 << 20, .backend = b};

	assert_int_equal(shmfs_shm_alloc(&shm), 0);
	assert_non_null(shm.addr);
	unsigned char *p = shm.addr;
	for (size_t i = 0; i < shm.size; i += 4096)
		assert_int_equal(p[i], 0);

	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		memset(p + 4096, 0xa5, 8192);
		_exit(0);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(p[4096], 0xa5);
	assert_int_equal(p[4096 + 8191], 0xa5);
	assert_int_equal(p[4095], 0);

	shmfs_shm_free(&shm);
	assert_null(shm.addr);
	shmfs_shm_free(&shm); /* twice is harmless */
}

static void anon_memory_is_zeroed_and_shared_with_a_child(void **state)
{
	(void)state;
	memory_is_zeroed_and_shared_with_a_child(SHMFS_BACKEND_ANON);
}

static void devzero_memory_is_zeroed_and_shared_with_a_child(void **state)
{
	(void)state;
	memory_is_zeroed_and_shared_with_a_child(SHMFS_BACKEND_DEVZERO);
}

static void sysv_memory_is_zeroed_and_shared_with_a_child(void **state)
{
	(void)state;
	memory_is_zeroed_and_shared_with_a_child(SHMFS_BACKEND_SYSV);
}

/* The segment is marked for removal at once: nothing named remains. */
static void sysv_segment_is_removed_while_still_attached(void **state)
{
	struct shmfs_shm shm = {.size = 65536, .backend = SHMFS_BACKEND_SYSV};
	struct shmid_ds ds;

	(void)state;
	assert_int_equal(shmfs_shm_alloc(&shm), 0);
	/* Find our segment among all of them by its attach address. */
	int found = 0;
	struct shm_info info;
	int max = shmctl(0, SHM_INFO, (struct shmid_ds *)&info);
	for (int i = 0; i <= max; i++) {
		int id = shmctl(i, SHM_STAT, &ds);
		if (id < 0 || ds.shm_cpid != getpid())
			continue;
		found++;
		assert_true(ds.shm_perm.mode & SHM_DEST);
	}
	assert_int_equal(found, 1);
	shmfs_shm_free(&shm);
}

static void sysv_failure_is_logged_with_call_size_and_errno(void **state)
{
	struct shmfs_shm shm = {.size = 65536, .backend = SHMFS_BACKEND_SYSV};

	(void)state;
	shmget_errno = ENOSPC;
	assert_int_equal(shmfs_shm_alloc(&shm), -ENOSPC);
	assert_null(shm.addr);
	assert_non_null(strstr(test_log_read(), "shmget(65536) failed (28: "));
}

/*
 * More than the machine has: the kernel says ENOMEM (valgrind, EINVAL);
 * whichever it is comes back and is in the one line logged.
 */
static void too_large(enum shmfs_backend backend, const char *call)
{
	struct shmfs_shm shm = {
		.size = (size_t)1 << 46, .backend = backend, .label = "big"};
	char want[128];

	int err = shmfs_shm_alloc(&shm);
	assert_true(err == -ENOMEM || err == -EINVAL);
	assert_null(shm.addr);
	snprintf(want, sizeof(want),
		 "zone \"big\": %s, 70368744177664) failed (%d: ", call, -err);
	assert_non_null(strstr(test_log_read(), want));
}

static void anon_too_large_fails_and_says_so(void **state)
{
	(void)state;
	too_large(SHMFS_BACKEND_ANON, "mmap(MAP_ANON|MAP_SHARED");
}

static void devzero_too_large_fails_and_says_so(void **state)
{
	(void)state;
	too_large(SHMFS_BACKEND_DEVZERO, "mmap(/dev/zero, MAP_SHARED");
}

static void memfd_memory_is_zeroed_and_shared_with_a_child(void **state)
{
	(void)state;
	memory_is_zeroed_and_shared_with_a_child(SHMFS_BACKEND_MEMFD);
}

static void
memfd_is_named_sealed_at_its_size_and_closed_when_freed(void **state)
{
	struct shmfs_shm shm = {
		.size = 1 << 16,
		.backend = SHMFS_BACKEND_MEMFD,
		.label = "zone-a",
	};
	char link[64], target[128] = "";
	struct stat st;

	(void)state;
	assert_int_equal(shmfs_shm_alloc(&shm), 0);
	assert_true(shm.fd >= 0);
	snprintf(link, sizeof(link), "/proc/self/fd/%d", shm.fd);
	assert_true(readlink(link, target, sizeof(target) - 1) > 0);
	assert_string_equal(target, "/memfd:shmfs:zone-a (deleted)");
	assert_int_equal(fstat(shm.fd, &st), 0);
	assert_int_equal(st.st_size, 1 << 16);
	assert_int_equal(fcntl(shm.fd, F_GET_SEALS),
			 F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL);
	/* Nothing can store a byte past the zone or cut it short. */
	assert_int_equal(pwrite(shm.fd, "x", 1, 1 << 16), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(ftruncate(shm.fd, 1 << 17), -1);
	assert_int_equal(ftruncate(shm.fd, 4096), -1);
	/* The descriptor and the mapping are the same memory. */
	assert_int_equal(pwrite(shm.fd, "abc", 3, 4096), 3);
	assert_memory_equal((char *)shm.addr + 4096, "abc", 3);

	int fd = shm.fd;
	shmfs_shm_free(&shm);
	assert_int_equal(fcntl(fd, F_GETFD), -1);
	assert_int_equal(shm.fd, -1);
}

/*
 * As root, anon and devzero zones have their shmem file too (map_files),
 * whose holes are the pages never written; a SysV segment has none.
 */
static void anon_and_devzero_have_their_file_and_sysv_none(void **state)
{
	(void)state;
	for (int b = 0; b <= SHMFS_BACKEND_MEMFD; b++) {
		struct shmfs_shm shm = {.size = 1 << 16, .backend = b};

		assert_int_equal(shmfs_shm_alloc(&shm), 0);
		if (b == SHMFS_BACKEND_SYSV || geteuid() != 0) {
			assert_true(b == SHMFS_BACKEND_MEMFD || shm.fd == -1);
			shmfs_shm_free(&shm);
			continue;
		}
		assert_true(shm.fd >= 0);
		((char *)shm.addr)[8192] = 1;
		assert_int_equal(lseek(shm.fd, 0, SEEK_DATA), 8192);
		assert_int_equal(lseek(shm.fd, 8192, SEEK_HOLE), 12288);
		int fd = shm.fd;
		shmfs_shm_free(&shm);
		assert_int_equal(fcntl(fd, F_GETFD), -1); /* closed */
	}
}

static void zero_size_or_unknown_backend_is_refused(void **state)
{
	struct shmfs_shm shm = {.size = 0, .backend = SHMFS_BACKEND_ANON};

	(void)state;
	assert_int_equal(shmfs_shm_alloc(&shm), -EINVAL);
	shm.size = 4096;
	shm.backend = SHMFS_BACKEND_COUNT;
	assert_int_equal(shmfs_shm_alloc(&shm), -EINVAL);
}

static void posix_object_is_created_exclusive_and_unlinked(void **state)
{
	struct shmfs_shm a = {.size = 5000,
			      .backend = SHMFS_BACKEND_POSIX,
			      .object = "/shmfs-unit-test",
			      .mode = 0640,
			      .uid = geteuid(),
			      .gid = getegid()};
	struct shmfs_shm b = a, c = a;
	struct stat st;

	(void)state;
	shm_unlink(a.object);
	assert_int_equal(shmfs_shm_probe(&b), 0); /* would be created */
	assert_int_equal(shmfs_shm_alloc(&a), 0);
	assert_true(a.created);
	assert_int_equal(stat("/dev/shm/shmfs-unit-test", &st), 0);
	assert_int_equal(st.st_size, 5000);
	assert_int_equal(st.st_mode & 0777, 0640);
	((char *)a.addr)[4999] = 'x';
	/* O_EXCL, and a's lock: the object of a running zone. */
	assert_int_equal(shmfs_shm_alloc(&b), -EBUSY);
	assert_int_equal(shmfs_shm_probe(&b), -EBUSY);
	c.size = 0;
	c.attach = true;
	assert_int_equal(shmfs_shm_probe(&c), 0);
	assert_int_equal(c.size, 5000);
	c.size = 0;
	assert_int_equal(shmfs_shm_alloc(&c), 0); /* attach: same bytes */
	assert_false(c.created);
	assert_int_equal(c.size, 5000);
	assert_int_equal(((char *)c.addr)[4999], 'x');
	shmfs_shm_free(&c); /* not ours: stays */
	assert_int_equal(stat("/dev/shm/shmfs-unit-test", &st), 0);
	shmfs_shm_free(&a);
	assert_int_equal(stat("/dev/shm/shmfs-unit-test", &st), -1);
	c.size = 0;
	assert_int_equal(shmfs_shm_alloc(&c), -ENOENT);
}

static void posix_attach_with_another_size_is_refused(void **state)
{
	struct shmfs_shm a = {.size = 8192,
			      .backend = SHMFS_BACKEND_POSIX,
			      .object = "/shmfs-unit-size",
			      .mode = 0600,
			      .keep = true};
	struct shmfs_shm b = a;

	(void)state;
	a.uid = b.uid = geteuid();
	a.gid = b.gid = getegid();
	shm_unlink(a.object);
	assert_int_equal(shmfs_shm_alloc(&a), 0);
	shmfs_shm_free(&a); /* keep: stays */
	b.attach = true;
	b.size = 4096;
	assert_int_equal(shmfs_shm_alloc(&b), -EINVAL);
	b.size = 8192;
	assert_int_equal(shmfs_shm_alloc(&b), 0);
	shmfs_shm_free(&b);
	assert_int_equal(shm_unlink(a.object), 0);
}

static void keyed_sysv_is_created_or_attached_and_removed_if_ours(void **state)
{
	key_t key = 0x5f3a0000 | (getpid() & 0xffff);
	struct shmfs_shm a = {.size = 10000,
			      .backend = SHMFS_BACKEND_SYSV,
			      .key = key,
			      .mode = 0600};
	struct shmfs_shm b = a;
	struct shmid_ds ds;

	(void)state;
	a.uid = b.uid = geteuid();
	a.gid = b.gid = getegid();
	assert_true(shmfs_shm_shared(&a));
	b.attach = true;
	b.size = 0;
	assert_int_equal(shmfs_shm_probe(&b), -ENOENT);
	assert_int_equal(shmfs_shm_alloc(&a), 0);
	assert_true(a.created);
	int id = shmget(key, 0, 0);
	assert_true(id >= 0);
	assert_int_equal(shmctl(id, IPC_STAT, &ds), 0);
	assert_int_equal(ds.shm_segsz, 10000);
	b.size = 0;
	assert_int_equal(shmfs_shm_alloc(&b), 0); /* attached: not ours */
	assert_false(b.created);
	assert_int_equal(b.size, 10000);
	shmfs_shm_free(&b);
	assert_int_equal(shmget(key, 0, 0), id);
	shmfs_shm_free(&a);
	assert_int_equal(shmget(key, 0, 0), -1);
}

static void file_is_created_at_its_size_and_keeps_its_bytes(void **state)
{
	char path[] = "/tmp/shmfs-unit-file-XXXXXX";
	int fd = mkstemp(path);
	struct shmfs_shm a = {.size = 6000,
			      .backend = SHMFS_BACKEND_FILE,
			      .object = path,
			      .mode = 0600};
	struct shmfs_shm b = a;
	struct stat st;

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	unlink(path);
	a.uid = b.uid = geteuid();
	a.gid = b.gid = getegid();
	assert_int_equal(shmfs_shm_alloc(&a), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 6000);
	memcpy(a.addr, "persist", 7);
	shmfs_shm_free(&a); /* flushed, kept */
	b.size = 7000;
	assert_int_equal(shmfs_shm_alloc(&b), -EINVAL); /* 6000 != 7000 */
	b.size = 0;
	assert_int_equal(shmfs_shm_alloc(&b), 0);
	assert_int_equal(b.size, 6000);
	assert_memory_equal(b.addr, "persist", 7);
	shmfs_shm_free(&b);
	unlink(path);
	b.size = 0;
	assert_int_equal(shmfs_shm_alloc(&b), -ENOENT); /* nothing to size */
}

/* The uid of a user that is neither root nor the one running the tests. */
#define OTHER 65534

static void
owner_trust_is_root_the_daemon_the_zone_uid_or_object_owner(void **state)
{
	struct shmfs_shm s = {.uid = 1000};

	(void)state;
	assert_true(shmfs_shm_owner_trusted(&s, 0));
	assert_true(shmfs_shm_owner_trusted(&s, geteuid()));
	assert_true(shmfs_shm_owner_trusted(&s, 1000));
	assert_false(shmfs_shm_owner_trusted(&s, 1001) && geteuid() != 1001);
	s.object_owner = 1001;
	assert_true(shmfs_shm_owner_trusted(&s, 1001));
	assert_false(shmfs_shm_owner_trusted(&s, 1002) && geteuid() != 1002);
}

static void
a_keyed_segment_in_the_way_is_refused_with_its_owner_creator_and_pid(
	void **state)
{
	key_t key = unit_key(1);
	int id = shmget(key, 8192, IPC_CREAT | IPC_EXCL | 0600);
	struct shmfs_shm a = {.size = 8192,
			      .backend = SHMFS_BACKEND_SYSV,
			      .label = "legacy",
			      .key = key,
			      .mode = 0600};
	char want[256];

	(void)state;
	assert_true(id >= 0);
	a.uid = geteuid();
	a.gid = getegid();
	assert_int_equal(shmfs_shm_probe(&a), -EEXIST);
	assert_int_equal(shmfs_shm_alloc(&a), -EEXIST);
	snprintf(want, sizeof(want),
		 "zone \"legacy\": the segment with key %#x exists (owner uid "
		 "%u, creator uid %u, pid %d): set attach = yes to use it, or "
		 "remove it (ipcrm -M %#x)\n",
		 (unsigned)key, (unsigned)geteuid(), (unsigned)geteuid(),
		 (int)getpid(), (unsigned)key);
	assert_non_null(strstr(test_log_read(), want));
	assert_int_equal(shmget(key, 0, 0), id); /* left alone */
	a.size = 0;
	assert_int_equal(shmfs_shm_alloc(&a), -EINVAL); /* nothing to create */
	a.attach = true;
	assert_int_equal(shmfs_shm_alloc(&a), 0); /* ours: trusted */
	assert_int_equal(a.size, 8192);
	shmfs_shm_free(&a);
	assert_int_equal(shmctl(id, IPC_RMID, NULL), 0);
}

/* A segment created by OTHER (a child that becomes OTHER first). */
static int segment_of_other(key_t key)
{
	pid_t pid = fork();
	int status;

	if (pid == 0)
		_exit(setgid(OTHER) < 0 || setuid(OTHER) < 0 ||
		      shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0600) < 0);
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || status != 0)
		return -1;
	return shmget(key, 0, 0);
}

static void
an_attached_segment_must_be_owned_and_created_by_a_trusted_user(void **state)
{
	key_t key = unit_key(2);
	struct shmfs_shm a = {.backend = SHMFS_BACKEND_SYSV,
			      .label = "legacy",
			      .key = key,
			      .attach = true};
	struct shmid_ds ds;
	int id;

	(void)state;
	if (geteuid() != 0)
		skip(); /* needs a segment of another user */
	a.uid = geteuid();
	id = shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0600);
	assert_true(id >= 0);
	assert_int_equal(shmctl(id, IPC_STAT, &ds), 0);
	ds.shm_perm.uid = OTHER;
	assert_int_equal(shmctl(id, IPC_SET, &ds), 0);
	assert_int_equal(shmfs_shm_probe(&a), -EPERM);
	assert_int_equal(shmfs_shm_alloc(&a), -EPERM);
	assert_non_null(strstr(test_log_read(),
			       "owner uid 65534 is not root, the "
			       "daemon's user, the zone's uid or "
			       "object_owner: refused"));
	a.object_owner = OTHER;
	assert_int_equal(shmfs_shm_alloc(&a), 0);
	shmfs_shm_free(&a);
	assert_int_equal(shmctl(id, IPC_RMID, NULL), 0);

	/* Handed to root, a segment stays its creator's: refused still. */
	a.object_owner = 0;
	key = a.key = unit_key(3);
	id = segment_of_other(key);
	assert_true(id >= 0);
	assert_int_equal(shmctl(id, IPC_STAT, &ds), 0);
	assert_int_equal(ds.shm_perm.cuid, OTHER);
	ds.shm_perm.uid = 0;
	ds.shm_perm.gid = 0;
	assert_int_equal(shmctl(id, IPC_SET, &ds), 0);
	assert_int_equal(shmfs_shm_alloc(&a), -EPERM);
	assert_non_null(
		strstr(test_log_read(), "(owner uid 0, creator uid 65534, "));
	assert_non_null(
		strstr(test_log_read(), "creator uid 65534 is not root"));
	a.object_owner = OTHER;
	assert_int_equal(shmfs_shm_alloc(&a), 0);
	shmfs_shm_free(&a);
	assert_int_equal(shmctl(id, IPC_RMID, NULL), 0);
}

static void
an_attached_posix_object_must_be_a_trusted_users_with_one_link(void **state)
{
	struct shmfs_shm a = {.backend = SHMFS_BACKEND_POSIX,
			      .label = "app",
			      .object = "/shmfs-unit-planted",
			      .attach = true};
	int fd;

	(void)state;
	if (geteuid() != 0)
		skip(); /* needs an object of another user */
	a.uid = geteuid();
	shm_unlink(a.object);
	fd = shm_open(a.object, O_RDWR | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 4096), 0);
	assert_int_equal(fchown(fd, OTHER, OTHER), 0);
	close(fd);
	assert_int_equal(shmfs_shm_probe(&a), -EPERM);
	assert_int_equal(shmfs_shm_alloc(&a), -EPERM);
	assert_non_null(strstr(test_log_read(),
			       "zone \"app\": posix object "
			       "/shmfs-unit-planted is owned by "
			       "uid 65534: not root"));
	a.object_owner = OTHER;
	assert_int_equal(shmfs_shm_alloc(&a), 0);
	shmfs_shm_free(&a);
	/* Another name for the same object: it could be anyone's file. */
	assert_int_equal(link("/dev/shm/shmfs-unit-planted",
			      "/dev/shm/shmfs-unit-planted2"),
			 0);
	assert_int_equal(shmfs_shm_alloc(&a), -EMLINK);
	shm_unlink("/shmfs-unit-planted2");
	shm_unlink(a.object);
}

/* A private directory to build paths in, and a file zone at base/name. */
struct paths {
	char base[64];
	char path[PATH_MAX];
};

static void paths_init(struct paths *p)
{
	snprintf(p->base, sizeof(p->base), "/tmp/shmfs-unit-walk-XXXXXX");
	assert_non_null(mkdtemp(p->base));
	snprintf(walk_base, sizeof(walk_base), "%s", p->base);
}

static const char *at(struct paths *p, const char *rel)
{
	snprintf(p->path, sizeof(p->path), "%s/%s", p->base, rel);
	return p->path;
}

static int file_zone(const char *path, uid_t owner, size_t size)
{
	struct shmfs_shm a = {.size = size,
			      .backend = SHMFS_BACKEND_FILE,
			      .label = "state",
			      .object = path,
			      .mode = 0600,
			      .uid = geteuid(),
			      .gid = getegid(),
			      .object_owner = owner};
	struct shmfs_shm b = a;
	int err = shmfs_shm_probe(&b), err2 = shmfs_shm_alloc(&a);

	assert_int_equal(err, err2); /* -t finds what the start does */
	shmfs_shm_free(&a);
	return err2;
}

static void
a_file_zone_refuses_links_and_other_users_files_and_directories(void **state)
{
	struct paths p;
	char want[PATH_MAX + 128], real[PATH_MAX];

	(void)state;
	paths_init(&p);
	snprintf(real, sizeof(real), "%s/real", p.base);
	assert_int_equal(file_zone(at(&p, "real"), 0, 4096), 0); /* created */
	/* The last component: never a link, never a second name. */
	assert_int_equal(symlink(real, at(&p, "link")), 0);
	assert_int_equal(file_zone(at(&p, "link"), 0, 0), -ELOOP);
	assert_non_null(
		strstr(test_log_read(), "/link is a symbolic link (refused)"));
	assert_int_equal(link(real, at(&p, "hard")), 0);
	assert_int_equal(file_zone(at(&p, "hard"), 0, 0), -EMLINK);
	unlink(at(&p, "hard"));
	/* A directory others may write, unless sticky. */
	assert_int_equal(mkdir(at(&p, "open"), 0777), 0);
	assert_int_equal(chmod(at(&p, "open"), 0777), 0);
	assert_int_equal(file_zone(at(&p, "open/f"), 0, 4096), -EPERM);
	snprintf(want, sizeof(want),
		 "zone \"state\": file %s/open/f: directory %s/open (mode "
		 "0777) is writable by group or others and not sticky "
		 "(refused)\n",
		 p.base, p.base);
	assert_non_null(strstr(test_log_read(), want));
	assert_int_equal(chmod(at(&p, "open"), 01777), 0);
	assert_int_equal(file_zone(at(&p, "open/f"), 0, 4096), 0);
	/* A link of ours on the way is followed, ".." too. */
	assert_int_equal(symlink("open/..", at(&p, "up")), 0);
	assert_int_equal(file_zone(at(&p, "up/open/f"), 0, 0), 0);
	assert_int_equal(file_zone(at(&p, "open/../up/real"), 0, 0), 0);
	if (geteuid() == 0) {
		/* Another user's file, directory, or link on the way. */
		assert_int_equal(chown(at(&p, "open/f"), OTHER, OTHER), 0);
		assert_int_equal(file_zone(at(&p, "open/f"), 0, 0), -EPERM);
		assert_non_null(strstr(test_log_read(),
				       "/open/f is owned by uid "
				       "65534: not root"));
		assert_int_equal(file_zone(at(&p, "open/f"), OTHER, 0), 0);
		assert_int_equal(lchown(at(&p, "up"), OTHER, OTHER), 0);
		assert_int_equal(file_zone(at(&p, "up/real"), 0, 0), -EPERM);
		snprintf(want, sizeof(want),
			 "symbolic link %s/up is owned by uid 65534, not root "
			 "or the daemon's user (refused)",
			 p.base);
		assert_non_null(strstr(test_log_read(), want));
		assert_int_equal(chown(at(&p, "open"), OTHER, OTHER), 0);
		assert_int_equal(file_zone(at(&p, "open/f"), OTHER, 0), -EPERM);
		snprintf(want, sizeof(want),
			 "directory %s/open is owned by uid 65534, not root or "
			 "the daemon's user (refused)",
			 p.base);
		assert_non_null(strstr(test_log_read(), want));
	}
	unlink(at(&p, "open/f"));
	rmdir(at(&p, "open"));
	unlink(at(&p, "up"));
	unlink(at(&p, "link"));
	unlink(real);
	assert_int_equal(rmdir(p.base), 0);
}

static void
a_file_deleted_behind_the_zone_is_written_back_and_mapped(void **state)
{
	struct shmfs_shm a = {.size = 3 * 4096,
			      .backend = SHMFS_BACKEND_FILE,
			      .label = "state",
			      .mode = 0640};
	struct paths p;
	struct stat st, before;
	char buf[4], data[PATH_MAX];
	int fd;

	(void)state;
	paths_init(&p);
	snprintf(data, sizeof(data), "%s", at(&p, "data"));
	a.object = data;
	a.uid = geteuid();
	a.gid = getegid();
	assert_int_equal(shmfs_shm_alloc(&a), 0);
	void *addr = a.addr;
	memcpy(a.addr, "abc", 3);
	memcpy((char *)a.addr + 8192, "xyz", 3); /* a hole at 4096 between */
	assert_int_equal(shmfs_shm_file_check(&a, false), SHMFS_SHM_FILE_SAME);
	assert_int_equal(fstat(a.fd, &before), 0);
	assert_int_equal(unlink(a.object), 0);
	assert_int_equal(shmfs_shm_file_check(&a, false),
			 SHMFS_SHM_FILE_RESTORED);
	assert_non_null(strstr(test_log_read(), "/data was deleted behind the "
						"daemon (inode "));
	assert_ptr_equal(a.addr, addr);
	assert_int_equal(stat(a.object, &st), 0);
	assert_int_equal(st.st_size, 3 * 4096);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(st.st_uid, before.st_uid);
	fd = open(a.object, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, 3, 0), 3);
	assert_memory_equal(buf, "abc", 3);
	assert_int_equal(pread(fd, buf, 3, 8192), 3);
	assert_memory_equal(buf, "xyz", 3);
	assert_int_equal(lseek(fd, 4096, SEEK_DATA), 8192); /* still a hole */
	/* The zone maps the file at its path now. */
	memcpy((char *)a.addr + 100, "new", 3);
	assert_int_equal(pread(fd, buf, 3, 100), 3);
	assert_memory_equal(buf, "new", 3);
	close(fd);
	assert_int_equal(fstat(a.fd, &before), 0);
	assert_int_equal(before.st_ino, st.st_ino);
	assert_int_equal(shmfs_shm_file_check(&a, false), SHMFS_SHM_FILE_SAME);
	/* Another file in its place is left alone. */
	fd = open(at(&p, "other"), O_RDWR | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "other", 5, 0), 5);
	close(fd);
	assert_int_equal(rename(p.path, a.object), 0);
	assert_int_equal(shmfs_shm_file_check(&a, true),
			 SHMFS_SHM_FILE_REPLACED);
	assert_non_null(strstr(test_log_read(), "/data was replaced behind the "
						"daemon (inode "));
	assert_non_null(strstr(test_log_read(),
			       "the zone's bytes go with the old "
			       "inode, deleted"));
	shmfs_shm_free(&a);
	assert_int_equal(stat(a.object, &st), 0);
	assert_int_equal(st.st_size, 5);
	unlink(a.object);
	assert_int_equal(rmdir(p.base), 0);
}

static void backends_describe_their_objects(void **state)
{
	struct shmfs_shm s = {.backend = SHMFS_BACKEND_SYSV, .key = 42};
	char buf[128];

	(void)state;
	shmfs_shm_describe(&s, buf, sizeof(buf));
	assert_string_equal(buf, "key 0x2a");
	s.object = "/etc";
	s.proj = 3;
	s.attach = true;
	shmfs_shm_describe(&s, buf, sizeof(buf));
	assert_string_equal(buf, "key /etc:3 attach");
	s = (struct shmfs_shm){
		.backend = SHMFS_BACKEND_POSIX, .object = "/x", .keep = true};
	shmfs_shm_describe(&s, buf, sizeof(buf));
	assert_string_equal(buf, "/x keep");
	s.keep = false;
	s.attach = true;
	s.object_owner = 65534;
	shmfs_shm_describe(&s, buf, sizeof(buf));
	assert_string_equal(buf, "/x attach object_owner 65534");
	s = (struct shmfs_shm){.backend = SHMFS_BACKEND_ANON};
	shmfs_shm_describe(&s, buf, sizeof(buf));
	assert_string_equal(buf, "-");
}

static void backend_names_round_trip(void **state)
{
	enum shmfs_backend b;

	(void)state;
	for (int i = 0; i < SHMFS_BACKEND_COUNT; i++) {
		assert_int_equal(shmfs_backend_parse(shmfs_backend_name(i), &b),
				 0);
		assert_int_equal(b, i);
	}
	assert_int_equal(shmfs_backend_parse("tmpfs", &b), -EINVAL);
	assert_int_equal(shmfs_backend_parse("", &b), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(anon_memory_is_zeroed_and_shared_with_a_child),
		cmocka_unit_test(
			devzero_memory_is_zeroed_and_shared_with_a_child),
		cmocka_unit_test(sysv_memory_is_zeroed_and_shared_with_a_child),
		cmocka_unit_test(sysv_segment_is_removed_while_still_attached),
		cmocka_unit_test_setup_teardown(
			sysv_failure_is_logged_with_call_size_and_errno, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			anon_too_large_fails_and_says_so, setup, teardown),
		cmocka_unit_test_setup_teardown(
			devzero_too_large_fails_and_says_so, setup, teardown),
		cmocka_unit_test(
			memfd_memory_is_zeroed_and_shared_with_a_child),
		cmocka_unit_test(
			memfd_is_named_sealed_at_its_size_and_closed_when_freed),
		cmocka_unit_test(
			anon_and_devzero_have_their_file_and_sysv_none),
		cmocka_unit_test(zero_size_or_unknown_backend_is_refused),
		cmocka_unit_test(
			posix_object_is_created_exclusive_and_unlinked),
		cmocka_unit_test(posix_attach_with_another_size_is_refused),
		cmocka_unit_test(
			keyed_sysv_is_created_or_attached_and_removed_if_ours),
		cmocka_unit_test(
			file_is_created_at_its_size_and_keeps_its_bytes),
		cmocka_unit_test(
			owner_trust_is_root_the_daemon_the_zone_uid_or_object_owner),
		cmocka_unit_test_setup_teardown(
			a_keyed_segment_in_the_way_is_refused_with_its_owner_creator_and_pid,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			an_attached_segment_must_be_owned_and_created_by_a_trusted_user,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			an_attached_posix_object_must_be_a_trusted_users_with_one_link,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			a_file_zone_refuses_links_and_other_users_files_and_directories,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			a_file_deleted_behind_the_zone_is_written_back_and_mapped,
			setup, teardown),
		cmocka_unit_test(backends_describe_their_objects),
		cmocka_unit_test(backend_names_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

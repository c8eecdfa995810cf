/* SPDX-License-Identifier: MIT */
/*
 * Zone file semantics without FUSE: length vs capacity, short writes,
 * ENOSPC/EFBIG/EINVAL, append, zero-fill, freeing the tail, attributes,
 * sharing with a child, and repair after a lock holder dies. fallocate is
 * wrapped (-Wl,--wrap=fallocate64, the name _FILE_OFFSET_BITS=64 calls)
 * to stand for a full filesystem, pthread_mutex_consistent for a lock that
 * cannot be repaired.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "shmfs/log.h"
#include "shmfs/shm.h"
#include "shmfs/zone.h"

#define CAP (4 * 4096)

int __real_fallocate64(int fd, int mode, off_t off, off_t len);
int __wrap_fallocate64(int fd, int mode, off_t off, off_t len);

static int fallocate_errno; /* nonzero: fallocate fails with it */
static int fallocate_calls;
static off_t fallocate_off, fallocate_len;

int __wrap_fallocate64(int fd, int mode, off_t off, off_t len)
{
	fallocate_calls++;
	fallocate_off = off;
	fallocate_len = len;
	if (fallocate_errno != 0 && !(mode & FALLOC_FL_PUNCH_HOLE)) {
		errno = fallocate_errno;
		return -1;
	}
	return __real_fallocate64(fd, mode, off, len);
}

int __real_pthread_mutex_consistent(pthread_mutex_t *lock);
int __wrap_pthread_mutex_consistent(pthread_mutex_t *lock);

static int consistent_errno; /* nonzero: the next call fails with it */

int __wrap_pthread_mutex_consistent(pthread_mutex_t *lock)
{
	int err = consistent_errno;

	consistent_errno = 0;
	return err != 0 ? err : __real_pthread_mutex_consistent(lock);
}

struct fixture {
	struct shmfs_shm data, meta;
	struct shmfs_zone zone;
	unsigned char buf[2 * CAP];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->data =
		(struct shmfs_shm){.size = CAP, .backend = SHMFS_BACKEND_ANON};
	f->meta = (struct shmfs_shm){.size = sizeof(struct shmfs_zone_meta),
				     .backend = SHMFS_BACKEND_ANON};
	if (shmfs_shm_alloc(&f->data) < 0 || shmfs_shm_alloc(&f->meta) < 0)
		return -1;
	f->zone.data = f->data.addr;
	f->zone.meta = f->meta.addr;
	f->zone.capacity = CAP;
	f->zone.fd = f->data.fd;
	if (shmfs_zone_meta_init(f->zone.meta, 0640, 1, 2) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(f->buf); i++)
		f->buf[i] = 'a' + i % 26;
	*state = f;
	return 0;
}

/*
 * A zone on a memfd (backend = memfd), which has its file whoever runs the
 * test (anon's comes from /proc/self/map_files, root only).
 */
static int setup_memfd(void **state)
{
	struct fixture *f;

	if (setup(state) < 0)
		return -1;
	f = *state;
	shmfs_shm_free(&f->data);
	f->data =
		(struct shmfs_shm){.size = CAP, .backend = SHMFS_BACKEND_MEMFD};
	if (shmfs_shm_alloc(&f->data) < 0)
		return -1;
	f->zone.data = f->data.addr;
	f->zone.fd = f->data.fd;
	return 0;
}

/* A fixed-size zone on a memfd, as a passthrough zone is. */
static int setup_fixed(void **state)
{
	struct fixture *f;

	if (setup_memfd(state) < 0)
		return -1;
	f = *state;
	f->zone.fixed = true;
	atomic_store(&f->zone.meta->length, CAP);
	return 0;
}

/*
 * A fixed-size zone on a file that may fill up, as a file or posix zone
 * is: blocks are allocated before a write.
 */
static int setup_allocating(void **state)
{
	struct fixture *f;

	if (setup_fixed(state) < 0)
		return -1;
	f = *state;
	f->zone.allocate = true;
	fallocate_errno = 0;
	fallocate_calls = 0;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	shmfs_zone_meta_destroy(f->zone.meta);
	shmfs_shm_free(&f->data);
	shmfs_shm_free(&f->meta);
	free(f);
	return 0;
}

static void write_ok(struct fixture *f, off_t off, size_t size, bool append,
		     size_t expect)
{
	size_t n = 12345;

	assert_int_equal(
		shmfs_zone_write(&f->zone, f->buf, size, off, append, &n), 0);
	assert_int_equal(n, expect);
}

static bool all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return false;
	return true;
}

static void a_new_zone_is_empty_and_reads_eof(void **state)
{
	struct fixture *f = *state;
	const void *p;
	size_t n = 99;

	assert_int_equal(shmfs_zone_length(&f->zone), 0);
	assert_int_equal(shmfs_zone_read(&f->zone, 0, 4096, &p, &n), 0);
	assert_int_equal(n, 0);
}

static void a_write_extends_the_length_and_reads_back(void **state)
{
	struct fixture *f = *state;
	const void *p;
	size_t n;

	write_ok(f, 100, 500, false, 500);
	assert_int_equal(shmfs_zone_length(&f->zone), 600);
	assert_int_equal(shmfs_zone_read(&f->zone, 100, 4096, &p, &n), 0);
	assert_int_equal(n, 500);
	assert_memory_equal(p, f->buf, 500);
	/* The hole before the write reads as zeros. */
	assert_int_equal(shmfs_zone_read(&f->zone, 0, 100, &p, &n), 0);
	assert_int_equal(n, 100);
	assert_true(all_zero(p, 100));
}

static void a_read_stops_at_the_length(void **state)
{
	struct fixture *f = *state;
	const void *p;
	size_t n;

	write_ok(f, 0, 1000, false, 1000);
	assert_int_equal(shmfs_zone_read(&f->zone, 900, SIZE_MAX, &p, &n), 0);
	assert_int_equal(n, 100);
	assert_int_equal(shmfs_zone_read(&f->zone, 1000, 10, &p, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(shmfs_zone_read(&f->zone, INT64_MAX, SIZE_MAX, &p, &n),
			 0);
	assert_int_equal(n, 0);
}

static void a_write_that_does_not_fit_is_short(void **state)
{
	struct fixture *f = *state;

	write_ok(f, CAP - 10, 100, false, 10);
	assert_int_equal(shmfs_zone_length(&f->zone), CAP);
	write_ok(f, 0, 2 * CAP, false, CAP);
}

static void a_write_at_or_past_the_capacity_fails_with_enospc(void **state)
{
	struct fixture *f = *state;
	size_t n;

	assert_int_equal(shmfs_zone_write(&f->zone, f->buf, 1, CAP, false, &n),
			 -ENOSPC);
	assert_int_equal(n, 0);
	assert_int_equal(shmfs_zone_write(&f->zone, f->buf, SIZE_MAX, INT64_MAX,
					  false, &n),
			 -ENOSPC);
	assert_int_equal(shmfs_zone_length(&f->zone), 0);
	/* An empty write anywhere succeeds and changes nothing. */
	write_ok(f, INT64_MAX, 0, false, 0);
	assert_int_equal(shmfs_zone_length(&f->zone), 0);
}

static void negative_offsets_are_invalid(void **state)
{
	struct fixture *f = *state;
	const void *p;
	size_t n;

	assert_int_equal(shmfs_zone_write(&f->zone, f->buf, 1, -1, false, &n),
			 -EINVAL);
	assert_int_equal(shmfs_zone_read(&f->zone, INT64_MIN, 1, &p, &n),
			 -EINVAL);
	assert_int_equal(shmfs_zone_truncate(&f->zone, -1), -EINVAL);
}

static void append_writes_at_the_length_whatever_the_offset(void **state)
{
	struct fixture *f = *state;
	const void *p;
	size_t n;

	write_ok(f, 0, 10, false, 10);
	write_ok(f, 0, 5, true, 5);
	assert_int_equal(shmfs_zone_length(&f->zone), 15);
	assert_int_equal(shmfs_zone_read(&f->zone, 10, 5, &p, &n), 0);
	assert_memory_equal(p, f->buf, 5);
	/* Appending to a full zone is ENOSPC. */
	write_ok(f, 0, CAP, false, CAP);
	assert_int_equal(shmfs_zone_write(&f->zone, f->buf, 1, 0, true, &n),
			 -ENOSPC);
}

static void growing_reads_back_zeros(void **state)
{
	struct fixture *f = *state;
	const void *p;
	size_t n;

	write_ok(f, 0, 10, false, 10);
	assert_int_equal(shmfs_zone_truncate(&f->zone, 3 * 4096), 0);
	assert_int_equal(shmfs_zone_length(&f->zone), 3 * 4096);
	assert_int_equal(shmfs_zone_read(&f->zone, 10, CAP, &p, &n), 0);
	assert_int_equal(n, 3 * 4096 - 10);
	assert_true(all_zero(p, n));
}

static void shrinking_zeroes_the_tail_and_frees_its_pages(void **state)
{
	struct fixture *f = *state;
	unsigned char vec[CAP / 4096];

	write_ok(f, 0, CAP, false, CAP);
	assert_int_equal(mincore(f->zone.data, CAP, vec), 0);
	assert_true(vec[3] & 1);

	assert_int_equal(shmfs_zone_truncate(&f->zone, 100), 0);
	assert_int_equal(shmfs_zone_length(&f->zone), 100);
	/* Whole pages past the length went back to the system (checked
	 * before reading them, which would fault them in again). */
	assert_int_equal(mincore(f->zone.data, CAP, vec), 0);
	assert_true(vec[0] & 1);
	assert_false(vec[1] & 1);
	assert_false(vec[3] & 1);
	assert_memory_equal(f->zone.data, f->buf, 100);
	assert_true(all_zero(f->zone.data + 100, CAP - 100));
}

static void truncating_past_the_capacity_fails_with_efbig(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(shmfs_zone_truncate(&f->zone, CAP), 0);
	assert_int_equal(shmfs_zone_truncate(&f->zone, CAP + 1), -EFBIG);
	assert_int_equal(shmfs_zone_truncate(&f->zone, INT64_MAX), -EFBIG);
	assert_int_equal(shmfs_zone_length(&f->zone), CAP);
}

static void write_and_truncate_change_mtime_and_ctime(void **state)
{
	struct fixture *f = *state;
	struct stat st;

	f->zone.meta->mtime = f->zone.meta->ctime = (struct timespec){1, 0};
	write_ok(f, 0, 1, false, 1);
	assert_int_equal(shmfs_zone_stat(&f->zone, &st), 0);
	assert_true(st.st_mtim.tv_sec > 1 && st.st_ctim.tv_sec > 1);

	f->zone.meta->mtime = f->zone.meta->ctime = (struct timespec){1, 0};
	assert_int_equal(shmfs_zone_truncate(&f->zone, 0), 0);
	assert_int_equal(shmfs_zone_stat(&f->zone, &st), 0);
	assert_true(st.st_mtim.tv_sec > 1 && st.st_ctim.tv_sec > 1);
}

static void setattr_changes_mode_owner_and_times_at_once(void **state)
{
	struct fixture *f = *state;
	struct shmfs_zone_attr a = {
		.set = SHMFS_ZONE_SET_MODE | SHMFS_ZONE_SET_UID |
		       SHMFS_ZONE_SET_GID | SHMFS_ZONE_SET_ATIME |
		       SHMFS_ZONE_SET_MTIME,
		.mode = S_IFREG | 04755,
		.uid = 7,
		.gid = 8,
		.atime = {100, 1},
		.mtime = {200, 2},
	};
	struct stat st;

	assert_int_equal(shmfs_zone_stat(&f->zone, &st), 0);
	assert_int_equal(st.st_mode, S_IFREG | 0640);
	assert_int_equal(st.st_uid, 1);
	assert_int_equal(st.st_gid, 2);

	assert_int_equal(shmfs_zone_setattr(&f->zone, &a), 0);
	assert_int_equal(shmfs_zone_stat(&f->zone, &st), 0);
	assert_int_equal(st.st_mode, S_IFREG | 0755); /* never setuid */
	assert_int_equal(st.st_uid, 7);
	assert_int_equal(st.st_gid, 8);
	assert_int_equal(st.st_atim.tv_sec, 100);
	assert_int_equal(st.st_mtim.tv_nsec, 2);
	assert_true(st.st_ctim.tv_sec > 200);
	assert_int_equal(st.st_size, 0);
}

static void a_fixed_zone_is_as_long_as_its_capacity_from_the_start(void **state)
{
	struct fixture *f = *state;
	const void *p;
	size_t n;
	struct stat st;

	assert_int_equal(shmfs_zone_stat(&f->zone, &st), 0);
	assert_int_equal(st.st_size, CAP);
	assert_int_equal(st.st_blocks, 0); /* nothing in use yet */
	assert_int_equal(shmfs_zone_read(&f->zone, 0, 2 * CAP, &p, &n), 0);
	assert_int_equal(n, CAP);
	assert_int_equal(shmfs_zone_used(&f->zone), 0);
}

static void
writing_a_fixed_zone_counts_its_pages_and_keeps_its_size(void **state)
{
	struct fixture *f = *state;
	struct stat st;
	size_t written;

	assert_int_equal(
		shmfs_zone_write(&f->zone, f->buf, 5000, 100, false, &written),
		0);
	assert_int_equal(written, 5000);
	assert_int_equal(shmfs_zone_stat(&f->zone, &st), 0);
	assert_int_equal(st.st_size, CAP);
	assert_int_equal(st.st_blocks, 2 * 4096 / 512);
	assert_int_equal(shmfs_zone_used(&f->zone), 2 * 4096);
	/* Full: ENOSPC, as a full tmpfs or block device (not the seal's
	 * EPERM, which only a passthrough zone's caller meets). */
	assert_int_equal(
		shmfs_zone_write(&f->zone, f->buf, 1, CAP, false, &written),
		-ENOSPC);
	assert_int_equal(shmfs_zone_write(&f->zone, f->buf, 10, CAP - 4, false,
					  &written),
			 0);
	assert_int_equal(written, 4);
}

static void truncating_a_fixed_zone_clears_it_or_fails(void **state)
{
	struct fixture *f = *state;
	struct stat st;
	size_t written;

	assert_int_equal(
		shmfs_zone_write(&f->zone, f->buf, CAP, 0, false, &written), 0);
	assert_int_equal(shmfs_zone_truncate(&f->zone, 5), -EPERM);
	assert_int_equal(shmfs_zone_truncate(&f->zone, CAP + 1), -EFBIG);
	assert_int_equal(shmfs_zone_truncate(&f->zone, CAP), 0);
	assert_memory_equal(f->zone.data, f->buf, CAP); /* kept */
	assert_int_equal(shmfs_zone_truncate(&f->zone, 0), 0);
	assert_int_equal(shmfs_zone_stat(&f->zone, &st), 0);
	assert_int_equal(st.st_size, CAP);
	assert_int_equal(st.st_blocks, 0); /* every page given back */
	for (size_t i = 0; i < CAP; i++)
		assert_int_equal(f->zone.data[i], 0);
}

/* The bytes of pieces, joined, compared with the zone's. */
static void assert_pieces_are(const struct iovec *iov, int count,
			      const unsigned char *want, size_t n)
{
	size_t at = 0;

	for (int i = 0; i < count; i++) {
		assert_true(at + iov[i].iov_len <= n);
		assert_memory_equal(iov[i].iov_base, want + at, iov[i].iov_len);
		at += iov[i].iov_len;
	}
	assert_int_equal(at, n);
}

static void holes_are_read_from_zeros_and_allocate_nothing(void **state)
{
	struct fixture *f = *state;
	struct iovec iov[SHMFS_ZONE_PIECES_MAX];
	unsigned char want[CAP] = {0};
	struct stat st;
	const void *p;
	size_t n, written;

	if (f->zone.fd < 0)
		skip(); /* no map_files without root */
	assert_int_equal(shmfs_zone_truncate(&f->zone, CAP), 0);
	assert_int_equal(
		shmfs_zone_write(&f->zone, "abc", 3, 4096, false, &written), 0);
	memcpy(want + 4096, "abc", 3);
	assert_int_equal(shmfs_zone_read(&f->zone, 0, CAP, &p, &n), 0);
	int count =
		shmfs_zone_pieces(&f->zone, p, n, iov, SHMFS_ZONE_PIECES_MAX);
	assert_int_equal(count, 3); /* hole, the written page, hole */
	assert_ptr_equal(iov[1].iov_base, f->zone.data + 4096);
	assert_true(iov[0].iov_base != (void *)f->zone.data);
	assert_pieces_are(iov, count, want, CAP);
	assert_int_equal(fstat(f->zone.fd, &st), 0);
	assert_int_equal(st.st_blocks, 4096 / 512); /* the written page only */

	/* Too few pieces: the rest is read from the mapping, all of it. */
	count = shmfs_zone_pieces(&f->zone, p, n, iov, 2);
	assert_int_equal(count, 2);
	assert_pieces_are(iov, count, want, CAP);
	/* Inside one written page: one piece, the mapping itself. */
	assert_int_equal(shmfs_zone_read(&f->zone, 4097, 10, &p, &n), 0);
	assert_int_equal(shmfs_zone_pieces(&f->zone, p, n, iov, 4), 1);
	assert_ptr_equal(iov[0].iov_base, f->zone.data + 4097);
	assert_int_equal(shmfs_zone_pieces(&f->zone, p, 0, iov, 4), 0);
}

static void setuid_and_setgid_bits_never_stick(void **state)
{
	struct fixture *f = *state;
	struct shmfs_zone_attr a = {
		.set = SHMFS_ZONE_SET_MODE,
		.mode = 07777,
	};
	struct shmfs_zone_meta m;
	struct stat st;

	assert_int_equal(shmfs_zone_setattr(&f->zone, &a), 0);
	assert_int_equal(shmfs_zone_stat(&f->zone, &st), 0);
	assert_int_equal(st.st_mode, S_IFREG | 01777);

	assert_int_equal(shmfs_zone_meta_init(&m, 06755, 0, 0), 0);
	assert_int_equal(m.mode, 0755);
	shmfs_zone_meta_destroy(&m);
}

static void a_failed_setattr_changes_nothing(void **state)
{
	struct fixture *f = *state;
	struct shmfs_zone_attr a = {
		.set = SHMFS_ZONE_SET_MODE | SHMFS_ZONE_SET_SIZE,
		.mode = 0777,
		.size = CAP + 4096,
	};
	struct stat st;

	assert_int_equal(shmfs_zone_setattr(&f->zone, &a), -EFBIG);
	assert_int_equal(shmfs_zone_stat(&f->zone, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
}

static void a_childs_write_is_seen_by_the_parent(void **state)
{
	struct fixture *f = *state;
	const void *p;
	size_t n;
	int status;

	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		size_t w;
		_exit(shmfs_zone_write(&f->zone, "shared", 6, 4096, false,
				       &w) == 0 &&
				      w == 6
			      ? 0
			      : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(shmfs_zone_length(&f->zone), 4096 + 6);
	assert_int_equal(shmfs_zone_read(&f->zone, 4096, 100, &p, &n), 0);
	assert_int_equal(n, 6);
	assert_memory_equal(p, "shared", 6);
}

/*
 * A child takes the lock, starts a write past the length and dies: the next
 * writer gets the lock (EOWNERDEAD repaired) and the half-written bytes past
 * the length are zero again.
 */
static void a_lock_holder_that_dies_leaves_nothing_locked(void **state)
{
	struct fixture *f = *state;
	const void *p;
	size_t n;
	int status;

	write_ok(f, 0, 10, false, 10);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		pthread_mutex_lock(&f->zone.meta->lock);
		f->zone.meta->dirty_lo = 10;
		f->zone.meta->dirty_hi = 5000;
		memset(f->zone.data + 10, 0xff, 4990);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);

	shmfs_log_open("/dev/null", LOG_DEBUG, true);
	write_ok(f, 10, 5, false, 5);
	shmfs_log_close();
	assert_int_equal(shmfs_zone_length(&f->zone), 15);
	assert_true(all_zero(f->zone.data + 15, CAP - 15));
	assert_int_equal(shmfs_zone_read(&f->zone, 0, 100, &p, &n), 0);
	assert_int_equal(n, 15);
	assert_int_equal(shmfs_zone_truncate(&f->zone, 0), 0);
}

/* A child takes the zone's lock and dies holding it. */
static void die_holding_the_lock(struct fixture *f)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		pthread_mutex_lock(&f->zone.meta->lock);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
}

/* How many lines of the file at path hold needle. */
static int lines_with(const char *path, const char *needle)
{
	char line[512];
	int n = 0;
	FILE *log = fopen(path, "r");

	assert_non_null(log);
	while (fgets(line, sizeof(line), log) != NULL)
		n += strstr(line, needle) != NULL;
	fclose(log);
	return n;
}

/*
 * The lock of a dead holder that cannot be made consistent: the request
 * that found it fails and says so once in the log, and the lock is not
 * kept, so a later request (another worker) fails at once instead of
 * waiting forever. The child has a deadline: without it, a lock kept
 * would hang the suite.
 */
static void an_unrepairable_lock_fails_requests_and_hangs_none(void **state)
{
	struct fixture *f = *state;
	char path[] = "/tmp/shmfs-test-zone-log-XXXXXX";
	size_t written;
	int fd = mkstemp(path), status;

	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(shmfs_log_open(path, LOG_DEBUG, true), 0);
	die_holding_the_lock(f);
	consistent_errno = EINVAL;
	assert_int_equal(
		shmfs_zone_write(&f->zone, f->buf, 5, 0, false, &written),
		-ENOTRECOVERABLE);
	assert_int_equal(written, 0);

	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		alarm(10);
		_exit(shmfs_zone_write(&f->zone, f->buf, 5, 0, false,
				       &written) == -ENOTRECOVERABLE
			      ? 0
			      : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_false(WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	shmfs_log_close();
	assert_int_equal(lines_with(path, "pthread_mutex_consistent"), 1);
	assert_int_equal(lines_with(path, "Invalid argument"), 1);
	assert_int_equal(shmfs_zone_length(&f->zone), 0);
	unlink(path);
}

/* Pages the zone's file holds. */
static long pages_of(const struct fixture *f)
{
	struct stat st;

	assert_int_equal(fstat(f->zone.fd, &st), 0);
	return st.st_blocks * 512 / 4096;
}

static void fallocate_allocates_and_extends_within_the_capacity(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(
		shmfs_zone_fallocate(&f->zone, FALLOC_FL_KEEP_SIZE, 0, 4096),
		0);
	assert_int_equal(shmfs_zone_length(&f->zone), 0);
	assert_int_equal(pages_of(f), 1);
	assert_int_equal(shmfs_zone_fallocate(&f->zone, 0, 4096, 100), 0);
	assert_int_equal(shmfs_zone_length(&f->zone), 4196);
	assert_true(all_zero(f->zone.data, 4196));
	assert_int_equal(shmfs_zone_fallocate(&f->zone, 0, 0, CAP + 1),
			 -ENOSPC);
	assert_int_equal(
		shmfs_zone_fallocate(&f->zone, FALLOC_FL_KEEP_SIZE, CAP, 1),
		-ENOSPC);
	assert_int_equal(shmfs_zone_fallocate(&f->zone, 0, -1, 1), -EINVAL);
	assert_int_equal(
		shmfs_zone_fallocate(&f->zone, FALLOC_FL_PUNCH_HOLE, 0, 1),
		-EOPNOTSUPP); /* PUNCH_HOLE needs KEEP_SIZE */
	assert_int_equal(shmfs_zone_length(&f->zone), 4196);
}

static void punching_a_hole_zeroes_it_and_gives_its_pages_back(void **state)
{
	struct fixture *f = *state;
	const void *p;
	size_t n;

	write_ok(f, 0, CAP, false, CAP);
	assert_int_equal(pages_of(f), 4);
	/* From the middle of page 0 to the middle of page 3. */
	assert_int_equal(
		shmfs_zone_fallocate(&f->zone,
				     FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				     100, 3 * 4096),
		0);
	assert_int_equal(shmfs_zone_length(&f->zone), CAP);
	assert_int_equal(pages_of(f), 2); /* pages 1 and 2 went back */
	shmfs_zone_read(&f->zone, 0, CAP, &p, &n);
	assert_memory_equal(p, f->buf, 100);
	assert_true(all_zero((const unsigned char *)p + 100, 3 * 4096));
	assert_memory_equal((const unsigned char *)p + 100 + 3 * 4096,
			    f->buf + 100 + 3 * 4096, CAP - 100 - 3 * 4096);
	/* Past the capacity there is nothing to punch. */
	assert_int_equal(
		shmfs_zone_fallocate(&f->zone,
				     FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				     CAP - 10, 1 << 20),
		0);
	assert_int_equal(shmfs_zone_length(&f->zone), CAP);
}

static void zeroing_a_range_extends_unless_kept(void **state)
{
	struct fixture *f = *state;

	write_ok(f, 0, 200, false, 200);
	assert_int_equal(
		shmfs_zone_fallocate(&f->zone, FALLOC_FL_ZERO_RANGE, 100, 5000),
		0);
	assert_int_equal(shmfs_zone_length(&f->zone), 5100);
	assert_memory_equal(f->zone.data, f->buf, 100);
	assert_true(all_zero(f->zone.data + 100, 5000));
	assert_int_equal(
		shmfs_zone_fallocate(&f->zone,
				     FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
				     0, 9000),
		0);
	assert_int_equal(shmfs_zone_length(&f->zone), 5100);
}

static void a_fixed_zone_fallocates_within_its_size_only(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(shmfs_zone_fallocate(&f->zone, 0, 0, CAP), 0);
	assert_int_equal(shmfs_zone_length(&f->zone), CAP);
	assert_int_equal(shmfs_zone_fallocate(&f->zone, 0, 0, CAP + 1),
			 -ENOSPC);
}

static void seek_finds_data_and_holes_within_the_length(void **state)
{
	struct fixture *f = *state;
	off_t pos = -1;

	memset(f->zone.data + 2 * 4096, 'x', 10); /* page 2 only */
	assert_int_equal(shmfs_zone_seek(&f->zone, 0, SEEK_DATA, &pos), 0);
	assert_int_equal(pos, 2 * 4096);
	assert_int_equal(shmfs_zone_seek(&f->zone, pos, SEEK_HOLE, &pos), 0);
	assert_int_equal(pos, 3 * 4096);
	assert_int_equal(shmfs_zone_seek(&f->zone, 3 * 4096, SEEK_DATA, &pos),
			 -ENXIO);
	assert_int_equal(shmfs_zone_seek(&f->zone, CAP, SEEK_HOLE, &pos),
			 -ENXIO); /* at the length */
	assert_int_equal(
		shmfs_zone_fallocate(&f->zone,
				     FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				     2 * 4096, 4096),
		0);
	assert_int_equal(shmfs_zone_seek(&f->zone, 0, SEEK_DATA, &pos), -ENXIO);
	assert_int_equal(shmfs_zone_seek(&f->zone, 0, SEEK_HOLE, &pos), 0);
	assert_int_equal(pos, 0);
}

static void seek_without_a_file_sees_only_data(void **state)
{
	struct fixture *f = *state;
	off_t pos = -1;

	write_ok(f, 0, 5000, false, 5000);
	f->zone.fd = -1;
	assert_int_equal(shmfs_zone_seek(&f->zone, 10, SEEK_DATA, &pos), 0);
	assert_int_equal(pos, 10);
	assert_int_equal(shmfs_zone_seek(&f->zone, 10, SEEK_HOLE, &pos), 0);
	assert_int_equal(pos, 5000); /* the length */
	f->zone.fd = f->data.fd;
}

static void copy_moves_bytes_between_and_within_zones(void **state)
{
	struct fixture *f = *state;
	struct fixture *g;
	size_t n = 0;

	assert_int_equal(setup((void **)&g), 0);
	write_ok(f, 0, 6000, false, 6000);
	assert_int_equal(
		shmfs_zone_copy(&g->zone, 100, &f->zone, 10, 1 << 20, &n), 0);
	assert_int_equal(n, 5990); /* up to the source's length */
	assert_int_equal(shmfs_zone_length(&g->zone), 6090);
	assert_memory_equal(g->zone.data + 100, f->buf + 10, 5990);
	/* Within one zone: apart, or overlapping (refused). */
	assert_int_equal(shmfs_zone_copy(&f->zone, 8000, &f->zone, 0, 1000, &n),
			 0);
	assert_int_equal(n, 1000);
	assert_memory_equal(f->zone.data + 8000, f->buf, 1000);
	assert_int_equal(shmfs_zone_copy(&f->zone, 500, &f->zone, 0, 1000, &n),
			 -EINVAL);
	/* At the source's end: nothing; past the capacity: as a write. */
	assert_int_equal(shmfs_zone_copy(&g->zone, 0, &f->zone, 9000, 10, &n),
			 0);
	assert_int_equal(n, 0);
	assert_int_equal(shmfs_zone_copy(&g->zone, CAP, &f->zone, 0, 10, &n),
			 -ENOSPC);
	teardown((void **)&g);
}

static void copying_holes_leaves_the_source_unallocated(void **state)
{
	struct fixture *f = *state;
	struct fixture *g;
	size_t n = 0;

	assert_int_equal(setup((void **)&g), 0);
	assert_int_equal(shmfs_zone_truncate(&f->zone, CAP), 0);
	memset(f->zone.data + 4096, 'y', 4096);
	assert_int_equal(pages_of(f), 1);
	assert_int_equal(shmfs_zone_copy(&g->zone, 0, &f->zone, 0, CAP, &n), 0);
	assert_int_equal(n, CAP);
	assert_int_equal(pages_of(f), 1);
	assert_true(all_zero(g->zone.data, 4096));
	assert_memory_equal(g->zone.data + 4096, f->zone.data + 4096, 4096);
	teardown((void **)&g);
}

static void
a_write_its_filesystem_cannot_hold_is_enospc_and_stores_nothing(void **state)
{
	struct fixture *f = *state;
	size_t n = 12345;

	write_ok(f, 4096 + 10, 100, false, 100);
	assert_int_equal(fallocate_calls, 1); /* the blocks first */
	assert_int_equal(fallocate_off, 4096 + 10);
	assert_int_equal(fallocate_len, 100);
	assert_memory_equal(f->zone.data + 4096 + 10, f->buf, 100);
	fallocate_errno = ENOSPC;
	assert_int_equal(
		shmfs_zone_write(&f->zone, f->buf + 1, 4096, 8192, false, &n),
		-ENOSPC);
	assert_int_equal(n, 0);
	assert_true(all_zero(f->zone.data + 8192, 4096)); /* nothing copied */
	assert_int_equal(shmfs_zone_length(&f->zone), CAP);
	fallocate_errno = EOPNOTSUPP; /* no fallocate: the fault must do */
	write_ok(f, 8192, 10, false, 10);
	assert_memory_equal(f->zone.data + 8192, f->buf, 10);
	/* ... and the next writes do not pay a failing call each. */
	fallocate_calls = 0;
	write_ok(f, 8192 + 10, 10, false, 10);
	assert_int_equal(fallocate_calls, 0);
}

static void zeroing_part_of_a_hole_allocates_nothing(void **state)
{
	struct fixture *f = *state;
	struct stat st;

	/* A memset would fault the page in (on a full filesystem: SIGBUS). */
	assert_int_equal(
		shmfs_zone_fallocate(&f->zone,
				     FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				     100, 10),
		0);
	assert_int_equal(fstat(f->zone.fd, &st), 0);
	assert_int_equal(st.st_blocks, 0);
	write_ok(f, 0, 200, false, 200);
	assert_int_equal(
		shmfs_zone_fallocate(&f->zone,
				     FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				     100, 10),
		0);
	assert_memory_equal(f->zone.data, f->buf, 100);
	assert_true(all_zero(f->zone.data + 100, 10));
	assert_memory_equal(f->zone.data + 110, f->buf + 110, 90);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(a_new_zone_is_empty_and_reads_eof),
		T(a_write_extends_the_length_and_reads_back),
		T(a_read_stops_at_the_length),
		T(a_write_that_does_not_fit_is_short),
		T(a_write_at_or_past_the_capacity_fails_with_enospc),
		T(negative_offsets_are_invalid),
		T(append_writes_at_the_length_whatever_the_offset),
		T(growing_reads_back_zeros),
		T(shrinking_zeroes_the_tail_and_frees_its_pages),
		T(truncating_past_the_capacity_fails_with_efbig),
		T(write_and_truncate_change_mtime_and_ctime),
		T(setattr_changes_mode_owner_and_times_at_once),
		T(setuid_and_setgid_bits_never_stick),
		T(holes_are_read_from_zeros_and_allocate_nothing),
		cmocka_unit_test_setup_teardown(
			a_fixed_zone_is_as_long_as_its_capacity_from_the_start,
			setup_fixed, teardown),
		cmocka_unit_test_setup_teardown(
			writing_a_fixed_zone_counts_its_pages_and_keeps_its_size,
			setup_fixed, teardown),
		cmocka_unit_test_setup_teardown(
			truncating_a_fixed_zone_clears_it_or_fails, setup_fixed,
			teardown),
		cmocka_unit_test_setup_teardown(
			fallocate_allocates_and_extends_within_the_capacity,
			setup_memfd, teardown),
		cmocka_unit_test_setup_teardown(
			punching_a_hole_zeroes_it_and_gives_its_pages_back,
			setup_memfd, teardown),
		T(zeroing_a_range_extends_unless_kept),
		cmocka_unit_test_setup_teardown(
			a_fixed_zone_fallocates_within_its_size_only,
			setup_fixed, teardown),
		cmocka_unit_test_setup_teardown(
			seek_finds_data_and_holes_within_the_length,
			setup_fixed, teardown),
		T(seek_without_a_file_sees_only_data),
		T(copy_moves_bytes_between_and_within_zones),
		cmocka_unit_test_setup_teardown(
			copying_holes_leaves_the_source_unallocated,
			setup_fixed, teardown),
		T(a_failed_setattr_changes_nothing),
		T(a_childs_write_is_seen_by_the_parent),
		T(a_lock_holder_that_dies_leaves_nothing_locked),
		T(an_unrepairable_lock_fails_requests_and_hangs_none),
		cmocka_unit_test_setup_teardown(
			a_write_its_filesystem_cannot_hold_is_enospc_and_stores_nothing,
			setup_allocating, teardown),
		cmocka_unit_test_setup_teardown(
			zeroing_part_of_a_hole_allocates_nothing,
			setup_allocating, teardown),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}

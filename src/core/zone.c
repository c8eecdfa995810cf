/* SPDX-License-Identifier: MIT */
/*
 * File semantics of a zone over its shared mapping. Readers take no lock:
 * they load the length once and reply from the mapping. Writers and truncate
 * take the zone's robust mutex, so a length is never lost and the bytes past
 * it stay zero even if a worker dies in the middle (EOWNERDEAD is repaired).
 * Holes, zeroing, fallocate, SEEK_DATA and copies are in zone_range.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shmfs/fault.h"
#include "shmfs/log.h"
#include "shmfs/zone.h"
#include "zone_internal.h"

int shmfs_zone_meta_init(struct shmfs_zone_meta *meta, mode_t mode, uid_t uid,
			 gid_t gid)
{
	pthread_mutexattr_t attr;
	int err;

	memset(meta, 0, sizeof(*meta));
	err = pthread_mutexattr_init(&attr);
	if (err)
		return -err;
	err = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
	if (!err)
		err = pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
	if (!err)
		err = pthread_mutex_init(&meta->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	if (err)
		return -err;

	atomic_init(&meta->length, 0);
	meta->mode = mode & SHMFS_ZONE_MODE_MASK;
	meta->uid = uid;
	meta->gid = gid;
	now(&meta->mtime);
	meta->atime = meta->ctime = meta->mtime;
	return 0;
}

void shmfs_zone_meta_destroy(struct shmfs_zone_meta *meta)
{
	pthread_mutex_destroy(&meta->lock);
}

int shmfs_zone_recover(struct shmfs_zone *zone)
{
	struct shmfs_zone_meta *m = zone->meta;
	uint64_t length = atomic_load(&m->length);
	uint64_t lo = m->dirty_lo > length ? m->dirty_lo : length;
	int err;

	/* Undo the dead holder's half-done change past the length. */
	if (m->dirty_hi > lo)
		shmfs_zone_zero_range(zone, lo, tail_end(zone, m->dirty_hi));
	m->dirty_lo = m->dirty_hi = 0;
	err = pthread_mutex_consistent(&m->lock);
	if (err != 0) {
		/*
		 * Released without being made consistent, the lock becomes
		 * unrecoverable: each later locker gets ENOTRECOVERABLE at
		 * once. Kept, it would hang every other worker on it.
		 */
		shmfs_log_sys(LOG_ERR, err,
			      "pthread_mutex_consistent of a zone's lock (left "
			      "by a dead holder, length %llu) failed: its "
			      "requests fail with ENOTRECOVERABLE",
			      (unsigned long long)length);
		pthread_mutex_unlock(&m->lock);
		return ENOTRECOVERABLE;
	}
	shmfs_log_warn("zone lock recovered from a dead holder: length %llu",
		       (unsigned long long)length);
	return 0;
}

uint64_t shmfs_zone_length(const struct shmfs_zone *zone)
{
	return atomic_load_explicit(&zone->meta->length, memory_order_acquire);
}

uint64_t shmfs_zone_used(const struct shmfs_zone *zone)
{
	struct stat st;

	if (!zone->fixed)
		return shmfs_zone_length(zone);
	if (zone->fd < 0 || fstat(zone->fd, &st) < 0)
		return zone->capacity;
	return (uint64_t)st.st_blocks * 512 < zone->capacity
		       ? (uint64_t)st.st_blocks * 512
		       : zone->capacity;
}

int shmfs_zone_read(const struct shmfs_zone *zone, off_t off, size_t size,
		    const void **p, size_t *n)
{
	uint64_t length = shmfs_zone_length(zone);

	if (off < 0)
		return -EINVAL;
	*p = zone->data;
	*n = 0;
	if ((uint64_t)off >= length)
		return 0;
	*p = zone->data + off;
	*n = length - off < size ? length - off : size;
	return 0;
}

#ifdef SHMFS_FAULT_INJECTION
/* In two halves, so that a test can kill the worker in between. */
static void copy_in(unsigned char *dst, const void *src, size_t n)
{
	memmove(dst, src, n / 2);
	SHMFS_FAULT_POINT("write_locked");
	memmove(dst + n / 2, (const char *)src + n / 2, n - n / 2);
}
#else
/* memmove: a copy within one zone may overlap (copy_file_range). */
static void copy_in(unsigned char *dst, const void *src, size_t n)
{
	memmove(dst, src, n);
}
#endif

/*
 * The blocks under [off, off + n) of a zone that allocates, before the
 * copy: a write fault on a page its filesystem cannot hold is SIGBUS, a
 * failed fallocate an error to answer. A filesystem without fallocate
 * leaves the fault as the only way (said once per process); this process
 * stops asking for the zone, rather than pay a failing call per write.
 */
static int reserve(struct shmfs_zone *zone, uint64_t off, size_t n)
{
	static bool said;

	if (!zone->allocate)
		return 0;
	while (fallocate(zone->fd, FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)n) <
	       0) {
		if (errno == EINTR)
			continue;
		if (errno != EOPNOTSUPP)
			return -errno;
		if (!said)
			shmfs_log_warn("a zone's filesystem has no fallocate: "
				       "a write it cannot hold kills the "
				       "worker (SIGBUS)");
		said = true;
		zone->allocate = false;
		break;
	}
	return 0;
}

int shmfs_zone_write(struct shmfs_zone *zone, const void *buf, size_t size,
		     off_t off, bool append, size_t *written)
{
	struct shmfs_zone_meta *m = zone->meta;
	int err;

	*written = 0;
	if (off < 0)
		return -EINVAL;
	if (zone->detached)
		return -ENXIO;
	if (zone->readonly)
		return -EROFS;
	err = zone_lock(zone);
	if (err)
		return err;

	uint64_t length = atomic_load(&m->length);
	uint64_t start = append ? length : (uint64_t)off;
	if (size == 0)
		goto out;
	if (start >= zone->capacity) {
		/* Full, fixed-size or not: a full tmpfs or block device
		 * answers ENOSPC there, and programs expect it. */
		err = -ENOSPC;
		goto out;
	}

	size_t n =
		zone->capacity - start < size ? zone->capacity - start : size;
	uint64_t end = start + n;
	err = reserve(zone, start, n);
	if (err)
		goto out;
	if (end > length) {
		m->dirty_lo = start;
		m->dirty_hi = end;
	}
	copy_in(zone->data + start, buf, n);
	if (end > length)
		atomic_store_explicit(&m->length, end, memory_order_release);
	m->dirty_lo = m->dirty_hi = 0;
	now(&m->mtime);
	m->ctime = m->mtime;
	*written = n;
out:
	zone_unlock(zone);
	return err;
}

/* Called with the lock held. */
static void set_length(struct shmfs_zone *zone, uint64_t length)
{
	struct shmfs_zone_meta *m = zone->meta;
	uint64_t old = atomic_load(&m->length);

	if (length < old) {
		/* Publish the new length first: readers stop short of the tail.
		 */
		atomic_store_explicit(&m->length, length, memory_order_release);
		m->dirty_lo = length;
		m->dirty_hi = old;
		SHMFS_FAULT_POINT("truncate_locked");
		shmfs_zone_zero_range(zone, length, tail_end(zone, old));
		m->dirty_lo = m->dirty_hi = 0;
	} else {
		/* The bytes in between are already zero (the invariant). */
		atomic_store_explicit(&m->length, length, memory_order_release);
	}
	now(&m->mtime);
	m->ctime = m->mtime;
}

/*
 * Truncating a fixed-size zone, with the lock held: to 0 gives every page
 * back (reads see zeros, st_blocks drops), to its capacity only touches the
 * times.
 */
static void clear(struct shmfs_zone *zone, bool to_zero)
{
	struct shmfs_zone_meta *m = zone->meta;

	if (to_zero)
		shmfs_zone_zero_range(zone, 0, zone->capacity);
	now(&m->mtime);
	m->ctime = m->mtime;
}

int shmfs_zone_truncate(struct shmfs_zone *zone, off_t length)
{
	struct shmfs_zone_attr attr = {
		.set = SHMFS_ZONE_SET_SIZE,
		.size = length,
	};

	return shmfs_zone_setattr(zone, &attr);
}

int shmfs_zone_setattr(struct shmfs_zone *zone,
		       const struct shmfs_zone_attr *attr)
{
	struct shmfs_zone_meta *m = zone->meta;
	int err;

	if (attr->set & SHMFS_ZONE_SET_SIZE) {
		/* A program's live memory: never cleared or cut. */
		if (zone->program)
			return -EPERM;
		if (attr->size < 0)
			return -EINVAL;
		if ((uint64_t)attr->size > zone->capacity)
			return -EFBIG;
		/*
		 * No room is asked for: the size itself may not change, as
		 * ftruncate of a sealed memfd answers (past the capacity is
		 * EFBIG above, as for any zone: the file can never be so long).
		 */
		if (zone->fixed && attr->size != 0 &&
		    (uint64_t)attr->size != zone->capacity)
			return -EPERM;
	}
	err = zone_lock(zone);
	if (err)
		return err;

	if ((attr->set & SHMFS_ZONE_SET_SIZE) && zone->fixed)
		clear(zone, attr->size == 0);
	else if (attr->set & SHMFS_ZONE_SET_SIZE)
		set_length(zone, attr->size);
	if (attr->set & SHMFS_ZONE_SET_MODE)
		m->mode = attr->mode & SHMFS_ZONE_MODE_MASK;
	if (attr->set & SHMFS_ZONE_SET_UID)
		m->uid = attr->uid;
	if (attr->set & SHMFS_ZONE_SET_GID)
		m->gid = attr->gid;
	if (attr->set & SHMFS_ZONE_SET_ATIME)
		m->atime = attr->atime;
	if (attr->set & SHMFS_ZONE_SET_MTIME)
		m->mtime = attr->mtime;
	now(&m->ctime);

	zone_unlock(zone);
	return 0;
}

int shmfs_zone_stat(struct shmfs_zone *zone, struct stat *st)
{
	struct shmfs_zone_meta *m = zone->meta;
	struct stat obj;
	int err = zone_lock(zone);

	if (err)
		return err;
	st->st_mode = S_IFREG | m->mode;
	st->st_nlink = 1;
	st->st_uid = m->uid;
	st->st_gid = m->gid;
	st->st_size = atomic_load(&m->length);
	st->st_atim = m->atime;
	st->st_mtim = m->mtime;
	st->st_ctim = m->ctime;
	zone_unlock(zone);

	st->st_blksize = page_size();
	st->st_blocks = page_up(st->st_size) / 512;
	if (zone->fd >= 0 && fstat(zone->fd, &obj) == 0)
		st->st_blocks = obj.st_blocks;
	return 0;
}

int shmfs_zone_check(const struct shmfs_zone *zone)
{
	struct stat st;

	if (zone->detached)
		return -ENXIO;
	if (!zone->foreign || zone->fd < 0)
		return 0;
	if (fstat(zone->fd, &st) < 0)
		return -errno;
	if ((uint64_t)st.st_size < zone->capacity) {
		static bool said; /* once per worker, not once per request */

		if (!said)
			shmfs_log_error(
				"a zone's object was cut to %lld bytes under "
				"the daemon (%llu mapped): EIO until it is "
				"restored or the zone reloaded",
				(long long)st.st_size,
				(unsigned long long)zone->capacity);
		said = true;
		return -EIO;
	}
	return 0;
}

int shmfs_zone_sync(const struct shmfs_zone *zone)
{
	if (msync(zone->data, zone->capacity, MS_SYNC) < 0)
		return -errno;
	return 0;
}

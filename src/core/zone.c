/* SPDX-License-Identifier: MIT */
/*
 * File semantics of a zone over its shared mapping. Readers take no lock:
 * they load the length once and reply from the mapping. Writers and truncate
 * take the zone's robust mutex, so a length is never lost and the bytes past
 * it stay zero even if a worker dies in the middle (EOWNERDEAD is repaired).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shmfs/fault.h"
#include "shmfs/log.h"
#include "shmfs/zone.h"

static size_t page_size(void)
{
	static size_t size;

	if (size == 0)
		size = (size_t)sysconf(_SC_PAGESIZE);
	return size;
}

static uint64_t page_up(uint64_t n)
{
	uint64_t mask = page_size() - 1;

	return (n + mask) & ~mask;
}

static void now(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
}

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

/*
 * Zeroes [from, to) of the mapping: the whole pages in it go back to the
 * system with MADV_REMOVE (they read back as zeros, and a file's blocks
 * are freed), the partial pages at either end are cleared in place.
 */
static void zero_range(struct shmfs_zone *zone, uint64_t from, uint64_t to)
{
	uint64_t lo = page_up(from), hi = to & ~(uint64_t)(page_size() - 1);

	if (to <= from)
		return;
	/*
	 * A memset would fault in (allocate) the pages it clears, which a
	 * full filesystem answers with SIGBUS: a hole is zeros already.
	 */
	if (zone->allocate &&
	    fallocate(zone->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)from, (off_t)(to - from)) == 0)
		return;
	if (lo >= hi) {
		memset(zone->data + from, 0, to - from);
		return;
	}
	memset(zone->data + from, 0, lo - from);
	if (madvise(zone->data + lo, hi - lo, MADV_REMOVE) < 0)
		memset(zone->data + lo, 0, hi - lo);
	memset(zone->data + hi, 0, to - hi);
}

/* The end of the zone's last page: what zeroing a tail may free. */
static uint64_t tail_end(const struct shmfs_zone *zone, uint64_t to)
{
	uint64_t end = page_up(to);

	return end <= zone->capacity ? end : to;
}

/* A worker died holding the lock: undo its half-done change past the length. */
static void zone_recover(struct shmfs_zone *zone)
{
	struct shmfs_zone_meta *m = zone->meta;
	uint64_t length = atomic_load(&m->length);
	uint64_t lo = m->dirty_lo > length ? m->dirty_lo : length;

	if (m->dirty_hi > lo)
		zero_range(zone, lo, tail_end(zone, m->dirty_hi));
	m->dirty_lo = m->dirty_hi = 0;
	shmfs_log_warn("zone lock recovered from a dead holder: length %llu",
		       (unsigned long long)length);
}

static int zone_lock(struct shmfs_zone *zone)
{
	int err = pthread_mutex_lock(&zone->meta->lock);

	if (err == EOWNERDEAD) {
		zone_recover(zone);
		err = pthread_mutex_consistent(&zone->meta->lock);
	}
	return -err;
}

static void zone_unlock(struct shmfs_zone *zone)
{
	pthread_mutex_unlock(&zone->meta->lock);
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

/* Never written: its pages are the kernel's shared zero page. */
static unsigned char zeros[1 << 20];

/* Adds [base, base + len) to iov, in pieces of at most the zero buffer. */
static int add_piece(struct iovec *iov, int count, int max, void *base,
		     size_t len, bool zero)
{
	while (len > 0 && count < max) {
		size_t k = zero && len > sizeof(zeros) ? sizeof(zeros) : len;

		iov[count].iov_base = zero ? zeros : base;
		iov[count].iov_len = k;
		count++;
		base = (unsigned char *)base + k;
		len -= k;
	}
	return count;
}

/*
 * True if the page at q (page-aligned) of the zone is a hole. mincore says
 * which pages are in memory, bounded by the read; a page it reports absent
 * is either a hole or swapped out, and SEEK_DATA tells which (a swapped
 * page is data). SEEK_HOLE alone is no good here: it walks every page of
 * the data after q, thousands of entries per 4 KiB read of a full zone.
 */
static bool is_hole(const struct shmfs_zone *zone, const unsigned char *vec,
		    uint64_t first, uint64_t q, off_t *data)
{
	if (vec[(q - first) / page_size()] & 1)
		return false;
	if (*data < (off_t)q) { /* the next data from q, once per hole */
		off_t d = lseek(zone->fd, q, SEEK_DATA);

		/* ENXIO: no data after q. Any other error: read the page. */
		*data = d >= 0 ? d : errno == ENXIO ? INT64_MAX : (off_t)q;
	}
	return *data != (off_t)q;
}

int shmfs_zone_pieces(const struct shmfs_zone *zone, const void *p, size_t n,
		      struct iovec *iov, int max)
{
	unsigned char vec[SHMFS_ZONE_PIECES_MAX];
	uint64_t pos = (const unsigned char *)p - zone->data, end = pos + n;
	uint64_t first = pos & ~(uint64_t)(page_size() - 1);
	uint64_t pages = (page_up(end) - first) / page_size();
	off_t data = -1;
	int count = 0;

	if (n == 0)
		return 0;
	if (zone->fd < 0 || pages > sizeof(vec) || max < 2 ||
	    mincore(zone->data + first, page_up(end) - first, vec) < 0)
		return add_piece(iov, 0, max, zone->data + pos, n, false);
	while (pos < end && count < max - 1) {
		uint64_t q = pos & ~(uint64_t)(page_size() - 1);
		bool hole = is_hole(zone, vec, first, q, &data);
		uint64_t stop = pos;

		/* The run of pages of the same kind from pos. */
		while (stop < end &&
		       is_hole(zone, vec, first, q, &data) == hole) {
			q += page_size();
			stop = q < end ? q : end;
		}
		count = add_piece(iov, count, max - 1, zone->data + pos,
				  stop - pos, hole);
		pos = stop;
	}
	/* The last piece always fits: the loop keeps one slot for it. */
	if (pos < end)
		count = add_piece(iov, count, max, zone->data + pos, end - pos,
				  false);
	return count;
}

#ifdef SHMFS_FAULT_INJECTION
/* In two halves, so that a test can kill the worker in between. */
static void copy_in(unsigned char *dst, const void *src, size_t n)
{
	memmove(dst, src, n / 2);
	shmfs_fault_point("write_locked");
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
 * leaves the fault as the only way (said once per process).
 */
static int reserve(const struct shmfs_zone *zone, uint64_t off, size_t n)
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
	err = zone_lock(zone);
	if (err)
		return err;

	uint64_t length = atomic_load(&m->length);
	uint64_t start = append ? length : (uint64_t)off;
	if (size == 0)
		goto out;
	if (start >= zone->capacity) {
		/* Full, fixed-size or not: as a full tmpfs or block device. */
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
		shmfs_fault_point("truncate_locked");
		zero_range(zone, length, tail_end(zone, old));
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
		zero_range(zone, 0, zone->capacity);
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

/*
 * Allocates [off, end) of the memory: through the zone's file where it has
 * one (what fallocate(2) on tmpfs or the file does), else by faulting the
 * pages in writable, which changes no byte.
 */
static int allocate(struct shmfs_zone *zone, uint64_t off, uint64_t end)
{
	uint64_t lo = off & ~(uint64_t)(page_size() - 1);

	if (zone->fd >= 0) {
		if (fallocate(zone->fd, 0, (off_t)off, (off_t)(end - off)) == 0)
			return 0;
		if (errno != EOPNOTSUPP && errno != EBADF)
			return -errno;
	}
	if (madvise(zone->data + lo, tail_end(zone, end) - lo,
		    MADV_POPULATE_WRITE) == 0)
		return 0;
	return errno == ENOMEM || errno == EFAULT ? -ENOSPC : -errno;
}

int shmfs_zone_fallocate(struct shmfs_zone *zone, int mode, off_t off,
			 off_t len)
{
	struct shmfs_zone_meta *m = zone->meta;
	bool keep = mode & FALLOC_FL_KEEP_SIZE;
	uint64_t end, length;
	int err;

	if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE |
		     FALLOC_FL_ZERO_RANGE))
		return -EOPNOTSUPP;
	if ((mode & FALLOC_FL_PUNCH_HOLE) &&
	    (!keep || (mode & FALLOC_FL_ZERO_RANGE)))
		return -EOPNOTSUPP; /* as vfs_fallocate answers it */
	if (off < 0 || len <= 0)
		return -EINVAL;
	if ((uint64_t)len > UINT64_MAX - (uint64_t)off)
		return -EFBIG;
	end = (uint64_t)off + (uint64_t)len;
	/* Nothing to punch past the end; anything else is room asked for. */
	if (mode & FALLOC_FL_PUNCH_HOLE)
		end = end < zone->capacity ? end : zone->capacity;
	else if (end > zone->capacity)
		return -ENOSPC; /* as a write there */

	err = zone_lock(zone);
	if (err)
		return err;
	length = atomic_load(&m->length);
	bool zero = mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE);
	bool grow = !keep && end > length && !zone->fixed;
	if (zero) {
		/* Past the length every byte is zero already. */
		uint64_t to = end < length ? end : length;

		if ((uint64_t)off < to)
			zero_range(zone, (uint64_t)off, to);
	} else {
		err = allocate(zone, (uint64_t)off, end);
	}
	if (err == 0 && grow)
		atomic_store_explicit(&m->length, end, memory_order_release);
	if (err == 0 && (zero || grow)) {
		now(&m->mtime);
		m->ctime = m->mtime;
	}
	zone_unlock(zone);
	return err;
}

int shmfs_zone_seek(const struct shmfs_zone *zone, off_t off, int whence,
		    off_t *pos)
{
	uint64_t length = shmfs_zone_length(zone);
	off_t r;

	if (off < 0 || (whence != SEEK_DATA && whence != SEEK_HOLE))
		return -EINVAL;
	if ((uint64_t)off >= length)
		return -ENXIO;
	if (zone->fd < 0) { /* no file to ask: every byte is data */
		*pos = whence == SEEK_DATA ? off : (off_t)length;
		return 0;
	}
	r = lseek(zone->fd, off, whence);
	if (r < 0 && errno == ENXIO && whence == SEEK_DATA)
		return -ENXIO;
	if (r < 0)
		return -errno;
	if ((uint64_t)r >= length) { /* the length ends the data */
		if (whence == SEEK_DATA)
			return -ENXIO;
		r = (off_t)length;
	}
	*pos = r;
	return 0;
}

int shmfs_zone_copy(struct shmfs_zone *dst, off_t dst_off,
		    const struct shmfs_zone *src, off_t src_off, size_t len,
		    size_t *copied)
{
	struct iovec iov[SHMFS_ZONE_PIECES_MAX];
	const size_t chunk = 1 << 20; /* what one read reply holds */
	int err = 0;

	*copied = 0;
	if (dst_off < 0 || src_off < 0)
		return -EINVAL;
	if (dst == src && len > 0 &&
	    (uint64_t)src_off < (uint64_t)dst_off + len &&
	    (uint64_t)dst_off < (uint64_t)src_off + len)
		return -EINVAL; /* overlapping ranges of one file */
	while (*copied < len) {
		const void *p;
		size_t n, k = len - *copied < chunk ? len - *copied : chunk;

		shmfs_zone_read(src, src_off + (off_t)*copied, k, &p, &n);
		if (n == 0)
			break;
		/* Holes come from a zero buffer: the source stays as it is. */
		int pieces = shmfs_zone_pieces(src, p, n, iov,
					       SHMFS_ZONE_PIECES_MAX);
		for (int i = 0; i < pieces; i++) {
			size_t w;

			err = shmfs_zone_write(
				dst, iov[i].iov_base, iov[i].iov_len,
				dst_off + (off_t)*copied, false, &w);
			*copied += w;
			if (err || w < iov[i].iov_len)
				goto out;
		}
	}
out:
	/* Like write(2): bytes copied before an error are the answer. */
	return *copied > 0 ? 0 : err;
}

int shmfs_zone_check(const struct shmfs_zone *zone)
{
	struct stat st;

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

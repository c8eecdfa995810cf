/* SPDX-License-Identifier: MIT */
/*
 * The ranges of a zone: which of its pages are holes (a read replies with
 * zeros for them, SEEK_DATA and SEEK_HOLE find them), zeroing a range by
 * giving its pages back, fallocate(2) and copy_file_range(2). The bytes
 * themselves are read and written in zone.c; both share zone_internal.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shmfs/zone.h"
#include "zone_internal.h"

void shmfs_zone_zero_range(struct shmfs_zone *zone, uint64_t from, uint64_t to)
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
		return -EOPNOTSUPP; /* what vfs_fallocate answers for any fs */
	if (off < 0 || len <= 0)
		return -EINVAL;
	/* A program's live memory: nothing is given back, or written. */
	if (zone->program &&
	    (mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)))
		return -EPERM;
	if (zone->readonly)
		return -EROFS;
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
			shmfs_zone_zero_range(zone, (uint64_t)off, to);
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

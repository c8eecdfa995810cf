/* SPDX-License-Identifier: MIT */
/*
 * One zone as a file: its bytes are a shared mapping of fixed capacity, its
 * metadata a fixed-size record in the shared region. These functions hold the
 * file semantics (length vs capacity, ENOSPC, EFBIG, append, zero-fill,
 * freeing the tail) without any FUSE, so they can be tested alone.
 *
 * Invariant: every byte at or past the length is zero.
 */
#ifndef SHMFS_ZONE_H
#define SHMFS_ZONE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

/*
 * The permission bits a zone may carry: never setuid or setgid. Zone files
 * hold data, not programs, and a passthrough write never reaches the daemon
 * to clear the bits, so chmod and the config cannot set them at all.
 */
#define SHMFS_ZONE_MODE_MASK (07777 & ~(S_ISUID | S_ISGID))

/* The shared record of a zone; lives in the shared region, never copied. */
struct shmfs_zone_meta {
	pthread_mutex_t lock; /* robust, process-shared: guards what follows */
	_Atomic uint64_t length; /* also read without the lock */
	/*
	 * Bytes past the length being changed under the lock: if the holder
	 * dies, the next locker zeroes them again (shmfs_zone_recover, zone.c).
	 */
	uint64_t dirty_lo, dirty_hi;
	mode_t mode; /* permission bits only */
	uid_t uid;
	gid_t gid;
	struct timespec atime, mtime, ctime;
	/*
	 * For /.stats: requests that reached a worker. On a line of their
	 * own, so that counting a read does not evict the length and lock
	 * that every other worker's read of this zone loads.
	 */
	_Alignas(64) _Atomic uint64_t reads;
	_Atomic uint64_t writes, bytes_in, bytes_out;
	/*
	 * Issue 18, written by the master only: the bytes of the zone its
	 * own mapping has in 2 MiB pages (smaps' ShmemPmdMapped, measured
	 * at the start, each reload and every few seconds), and those that
	 * huge_pages = try|on asks for (its whole 2 MiB extents; 0: off).
	 * They fill padding of the counters' cache line: the record's
	 * layout (record.c) is unchanged, so an upgrade from a build
	 * without them adopts the mount (and reads 0 until measured).
	 */
	_Atomic uint64_t huge_bytes, huge_wanted;
};

/* A process's view of a zone: where its bytes and its record are mapped. */
struct shmfs_zone {
	struct shmfs_zone_meta *meta;
	unsigned char *data;
	uint64_t capacity; /* a multiple of the page size */
	int fd;		   /* the memory's own file (a memfd), or -1 */
	/*
	 * Fixed size (passthrough): the length is the capacity from the
	 * start; truncating to 0 clears the zone and keeps its size.
	 */
	bool fixed;
	/*
	 * Another program may cut the object short (a posix object or a
	 * file, through fd): see shmfs_zone_check.
	 */
	bool foreign;
	/*
	 * The zone's file (fd) lives on a filesystem that can be full (a
	 * posix object's /dev/shm, a file's): a page first written through
	 * the mapping there is allocated by the fault, which on ENOSPC kills
	 * the writer with SIGBUS. Its blocks are allocated (fallocate) before
	 * a write copies into them, and zeroing punches holes rather than
	 * writing zeros into pages that may not exist.
	 */
	bool allocate;
	/*
	 * A running program's memory (backend = process): no byte of it is
	 * ever given back or its size changed (truncate, O_TRUNC, punching:
	 * -EPERM, whatever the mode), it is written only when not readonly
	 * (-EROFS), and once the program exited it is detached: no memory,
	 * every read and write -ENXIO (see shmfs_zone_check).
	 */
	bool program;
	bool readonly;
	bool detached;
};

/* What shmfs_zone_setattr changes; set is a mask of SHMFS_ZONE_SET_*. */
enum {
	SHMFS_ZONE_SET_MODE = 1 << 0,
	SHMFS_ZONE_SET_UID = 1 << 1,
	SHMFS_ZONE_SET_GID = 1 << 2,
	SHMFS_ZONE_SET_SIZE = 1 << 3,
	SHMFS_ZONE_SET_ATIME = 1 << 4,
	SHMFS_ZONE_SET_MTIME = 1 << 5,
};

struct shmfs_zone_attr {
	unsigned set;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	off_t size;
	struct timespec atime, mtime;
};

/*
 * Initialises a record (robust process-shared lock, length 0, times now).
 * Returns 0 or -errno.
 */
int shmfs_zone_meta_init(struct shmfs_zone_meta *meta, mode_t mode, uid_t uid,
			 gid_t gid);

/* Destroys the record's lock. */
void shmfs_zone_meta_destroy(struct shmfs_zone_meta *meta);

/* The current length (bytes readable). */
uint64_t shmfs_zone_length(const struct shmfs_zone *zone);

/*
 * Bytes in use, for statfs: the length, or for a fixed-size zone the pages
 * its memory really holds (at most the capacity).
 */
uint64_t shmfs_zone_used(const struct shmfs_zone *zone);

/*
 * Where a read of size bytes at off lands: *p and *n describe the bytes below
 * the length (n is 0 at or past it: EOF). Nothing is copied; the caller
 * replies straight from *p. Returns 0, or -EINVAL for a negative offset.
 */
int shmfs_zone_read(const struct shmfs_zone *zone, off_t off, size_t size,
		    const void **p, size_t *n);

/*
 * The most pieces shmfs_zone_pieces makes: a 1 MiB read (FUSE's largest)
 * alternating page by page between data and holes needs 257.
 */
#define SHMFS_ZONE_PIECES_MAX 260

/*
 * Splits the n bytes at p (as shmfs_zone_read found them) into at most max
 * pieces to reply with: the zone's own bytes, except where its file has
 * holes (pages never written, or given back), which point at a shared
 * zero buffer instead, so that reading a hole allocates nothing (through
 * the mapping it would fault the page in). Without a file (fd < 0), or
 * past max pieces, the rest is one piece of the mapping. Returns the
 * count: 0 for n == 0.
 */
int shmfs_zone_pieces(const struct shmfs_zone *zone, const void *p, size_t n,
		      struct iovec *iov, int max);

/*
 * Stores size bytes at off (at the length if append), extending the length.
 * Stores what fits below the capacity; *written is the count stored. A write
 * that starts at or past the capacity fails with -ENOSPC, fixed-size zone or
 * not (an empty one succeeds with 0); a negative offset is -EINVAL. Where
 * the zone allocates (allocate), a range its filesystem cannot hold fails
 * with fallocate's error (-ENOSPC, -EDQUOT) and stores nothing.
 */
int shmfs_zone_write(struct shmfs_zone *zone, const void *buf, size_t size,
		     off_t off, bool append, size_t *written);

/*
 * Sets the length. Growing reads back zeros; shrinking frees the tail's
 * pages (MADV_REMOVE) and zeroes the rest of the last page. -EFBIG past the
 * capacity, -EINVAL if negative. A fixed-size zone keeps its size: 0 clears
 * it (every byte zero, every page given back), its capacity changes
 * nothing, any other length is -EPERM (as ftruncate of a sealed memfd).
 */
int shmfs_zone_truncate(struct shmfs_zone *zone, off_t length);

/*
 * Applies the fields named in attr->set at once, under the zone's lock, and
 * updates ctime (and mtime for a size change). Returns 0 or -errno; nothing
 * changes on an error.
 */
int shmfs_zone_setattr(struct shmfs_zone *zone,
		       const struct shmfs_zone_attr *attr);

/*
 * Whether the zone's memory is all there: -ENXIO for a detached program
 * zone (the program exited); -EIO where another program cut
 * its object (fd) shorter than the mapping, whose missing pages would kill
 * the worker that touches them (SIGBUS) or fail the reply (EFAULT).
 * 0 for memory only the daemon sizes.
 */
int shmfs_zone_check(const struct shmfs_zone *zone);

/*
 * fallocate(2) on the zone. mode 0 allocates [off, off + len) and extends
 * the length to its end; FALLOC_FL_KEEP_SIZE allocates only;
 * FALLOC_FL_PUNCH_HOLE (with KEEP_SIZE) zeroes the range and gives its
 * whole pages back; FALLOC_FL_ZERO_RANGE zeroes it (and extends the length
 * unless KEEP_SIZE). A range past the capacity fails as a write there
 * would (-ENOSPC), except a hole, which is cut short. A fixed-size zone
 * keeps its length. Returns 0 or -errno.
 */
int shmfs_zone_fallocate(struct shmfs_zone *zone, int mode, off_t off,
			 off_t len);

/*
 * lseek(2)'s SEEK_DATA and SEEK_HOLE within the length: holes are the pages
 * the zone's file has never had or gave back (the length ends the last
 * data). Without a file (sysv; anon and devzero when not root) a hole
 * cannot be told from a page in swap, so every byte is data. -ENXIO at or
 * past the length, or where no data follows off.
 */
int shmfs_zone_seek(const struct shmfs_zone *zone, off_t off, int whence,
		    off_t *pos);

/*
 * copy_file_range(2) between zones (or within one: overlapping ranges are
 * -EINVAL): up to len bytes from src at src_off, at most to src's length,
 * stored at dst_off as shmfs_zone_write stores them. A memory copy between
 * the two mappings, in chunks, reading src's holes from a zero buffer.
 * *copied is the count; an error after some bytes still returns 0.
 */
int shmfs_zone_copy(struct shmfs_zone *dst, off_t dst_off,
		    const struct shmfs_zone *src, off_t src_off, size_t len,
		    size_t *copied);

/* fsync: writes the zone's dirty pages to its file (msync); a no-op for
 * memory without a file behind it. Returns 0 or -errno. */
int shmfs_zone_sync(const struct shmfs_zone *zone);

/*
 * Fills st from the record (a regular file; st_ino is the caller's).
 * st_blocks counts the pages in use: the object's own count where the zone
 * has a file (fd), else the length rounded up to a page.
 */
int shmfs_zone_stat(struct shmfs_zone *zone, struct stat *st);

#endif /* SHMFS_ZONE_H */

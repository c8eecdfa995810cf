/* SPDX-License-Identifier: MIT */
/*
 * Private to zone.c and zone_range.c: the zone's robust lock, the page
 * arithmetic and the zeroing of a range that both halves of the zone's
 * file semantics use. The lock and the page helpers are inline so that a
 * write costs the calls it did when both halves were one file.
 */
#ifndef SHMFS_ZONE_INTERNAL_H
#define SHMFS_ZONE_INTERNAL_H

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "shmfs/zone.h"

static inline size_t page_size(void)
{
	static size_t size;

	if (size == 0)
		size = (size_t)sysconf(_SC_PAGESIZE);
	return size;
}

static inline uint64_t page_up(uint64_t n)
{
	uint64_t mask = page_size() - 1;

	return (n + mask) & ~mask;
}

/* The end of the zone's last page at or after to: what zeroing may free. */
static inline uint64_t tail_end(const struct shmfs_zone *zone, uint64_t to)
{
	uint64_t end = page_up(to);

	return end <= zone->capacity ? end : to;
}

static inline void now(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
}

/*
 * Called with the lock of a holder that died (EOWNERDEAD): repairs what it
 * left half done and makes the lock consistent. Returns 0 with the lock
 * held, or ENOTRECOVERABLE with it released (said once, in the log): every
 * later locker then fails at once instead of waiting for a holder that
 * will never let go.
 */
int shmfs_zone_recover(struct shmfs_zone *zone);

/* The zone's lock: 0, or -errno (the lock not held). */
static inline int zone_lock(struct shmfs_zone *zone)
{
	int err = pthread_mutex_lock(&zone->meta->lock);

	if (err == EOWNERDEAD)
		err = shmfs_zone_recover(zone);
	return -err;
}

static inline void zone_unlock(struct shmfs_zone *zone)
{
	pthread_mutex_unlock(&zone->meta->lock);
}

/*
 * Zeroes [from, to) of the mapping: the whole pages in it go back to the
 * system (they read back as zeros, and a file's blocks are freed), the
 * partial pages at either end are cleared in place.
 */
void shmfs_zone_zero_range(struct shmfs_zone *zone, uint64_t from, uint64_t to);

#endif /* SHMFS_ZONE_INTERNAL_H */

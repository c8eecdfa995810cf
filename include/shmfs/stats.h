/* SPDX-License-Identifier: MIT */
/*
 * /.stats: live figures as "name value" lines. A snapshot is rendered once,
 * at open, into a slot of a shared arena, so that the reads of one open
 * file, whichever workers serve them, see the same text.
 */
#ifndef SHMFS_STATS_H
#define SHMFS_STATS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "shmfs/shm.h"
#include "shmfs/zonetab.h"

/* How many /.stats opens may be live at once. */
#define SHMFS_STATS_SLOTS 32
/*
 * So that no user can deny the file to others: one uid holds at most
 * SHMFS_STATS_PER_UID opens, and the last SHMFS_STATS_ROOT slots are
 * root's alone.
 */
#define SHMFS_STATS_PER_UID 4
#define SHMFS_STATS_ROOT 8

struct shmfs_stats {
	struct shmfs_shm shm; /* SHMFS_STATS_SLOTS slots of slot_size */
	size_t slot_size;
};

/* Maps the arena, sized for tab's zones. Returns 0 or -errno. */
int shmfs_stats_create(struct shmfs_stats *stats,
		       const struct shmfs_zonetab *tab);

void shmfs_stats_destroy(struct shmfs_stats *stats);

/*
 * Renders a snapshot of tab into a free slot for uid; *fh names it. -EMFILE
 * if uid (not root) holds SHMFS_STATS_PER_UID already, -ENFILE if every
 * slot uid may take is taken.
 */
int shmfs_stats_open(struct shmfs_stats *stats, const struct shmfs_zonetab *tab,
		     uid_t uid, uint64_t *fh);

/* The bytes of snapshot fh at off (none past its end): *p, *n. */
int shmfs_stats_read(struct shmfs_stats *stats, uint64_t fh, off_t off,
		     size_t size, const void **p, size_t *n);

/* Frees snapshot fh. */
void shmfs_stats_release(struct shmfs_stats *stats, uint64_t fh);

#endif /* SHMFS_STATS_H */

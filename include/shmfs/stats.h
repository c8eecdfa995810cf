/* SPDX-License-Identifier: MIT */
/*
 * /.stats and /.metrics: the same live figures, as "name value" lines and in
 * the Prometheus text exposition format. A snapshot is rendered once, at
 * open, into a slot of a shared arena, so that the reads of one open file,
 * whichever workers serve them, see the same text. Both files share the
 * slots and the per-user quota.
 */
#ifndef SHMFS_STATS_H
#define SHMFS_STATS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "shmfs/shm.h"
#include "shmfs/zonetab.h"

struct shmfs_cycle;

/* The text a snapshot is rendered in. */
enum shmfs_stats_format {
	SHMFS_STATS_TEXT,	/* /.stats: "name value" lines */
	SHMFS_STATS_PROMETHEUS, /* /.metrics: text exposition format 0.0.4 */
};

/* How many /.stats and /.metrics opens may be live at once, together. */
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
 * Renders a snapshot of cycle (its table, and how its zones run) in format
 * into a free slot for uid; *fh names it. -EMFILE if uid (not root) holds
 * SHMFS_STATS_PER_UID already, -ENFILE if every slot uid may take is taken,
 * -EOVERFLOW (slot freed) if the text did not fit the slot, which
 * shmfs_stats_create sizes so that it does.
 */
int shmfs_stats_open(struct shmfs_stats *stats, const struct shmfs_cycle *cycle,
		     enum shmfs_stats_format format, uid_t uid, uint64_t *fh);

/* The bytes of snapshot fh at off (none past its end): *p, *n. */
int shmfs_stats_read(struct shmfs_stats *stats, uint64_t fh, off_t off,
		     size_t size, const void **p, size_t *n);

/* Frees snapshot fh. */
void shmfs_stats_release(struct shmfs_stats *stats, uint64_t fh);

/*
 * Writes src into dst (cap bytes, NUL-terminated, cut short if need be) as
 * a Prometheus label value: backslash, double quote and newline escaped as
 * \\, \" and \n. Returns the length the whole escaped text needs, as
 * snprintf does.
 */
size_t shmfs_stats_escape_label(char *dst, size_t cap, const char *src);

#endif /* SHMFS_STATS_H */

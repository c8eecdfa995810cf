/* SPDX-License-Identifier: MIT */
/*
 * The zone table: every zone's mapping, plus one shared region that holds
 * the metadata records of all zones and one slot per worker. A cycle
 * (cycle.h) builds it from the configuration before any fork; afterwards
 * the table itself is immutable, and everything that changes lives in the
 * region. How a zone runs on the connection (its cache mode and backing
 * id) is the cycle's.
 */
#ifndef SHMFS_ZONETAB_H
#define SHMFS_ZONETAB_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "shmfs/config.h"
#include "shmfs/region.h"
#include "shmfs/shm.h"
#include "shmfs/limits.h"
#include "shmfs/zone.h"

struct shmfs_zonetab_entry {
	struct shmfs_zone zone; /* data and record as mapped here */
	struct shmfs_shm shm;	/* how the data was allocated */
	struct shmfs_zone_config conf;
	size_t namelen;
	uint64_t ino;  /* stable across reloads while the zone lives */
	bool borrowed; /* shm belongs to the previous table (until adopted) */
	bool changed;  /* differs from the previous table's zone of that name */
	/*
	 * A new file under the old name: a passthrough zone whose memory was
	 * replaced (resized) or that entered or left passthrough. The kernel
	 * never mixes backings or modes on one inode, so it gets a new inode
	 * number; descriptors open on the old one keep the old memory.
	 */
	bool renumbered;
	/*
	 * A file zone whose path names another file now (found by
	 * shmfs_zonetab_check_files): a reload maps the new file.
	 */
	bool replaced;
};

struct shmfs_zonetab {
	struct shmfs_shm region_shm;
	struct shmfs_region *region;
	size_t nzones;
	struct shmfs_zonetab_entry *entries;
	uint64_t capacity;     /* sum of the zones' capacities */
	uint32_t *buckets;     /* by name: index + 1 of a zone, 0 for empty */
	uint32_t *ino_buckets; /* by inode number, likewise */
	size_t bucket_mask;
};

/*
 * Inode numbers: the root is 1 (FUSE_ROOT_ID), /.stats 2, /.metrics 3,
 * zones from SHMFS_INO_ZONE0 up. Only a new mount starts at ZONE0; a reload
 * carries the region's next_ino on, so a live zone keeps its number.
 */
#define SHMFS_INO_STATS 2
#define SHMFS_INO_METRICS 3
#define SHMFS_INO_ZONE0 4

/*
 * Allocates every zone of cfg with its backend and the shared region, and
 * indexes the names. A failed allocation is logged where it fails. Returns 0
 * or -errno with nothing left allocated.
 *
 * With prev (a reload; no worker may be running), a zone of the same name,
 * size and backend keeps prev's mapping, inode number and metadata (mode and
 * owner as changed at run time, unless the ini file changed them); a zone
 * whose size or backend changed gets a new mapping holding prev's bytes up
 * to the smaller size. On success, call shmfs_zonetab_adopt before
 * destroying prev; on failure prev is untouched.
 */
int shmfs_zonetab_create(const struct shmfs_config *cfg,
			 const struct shmfs_zonetab *prev,
			 struct shmfs_zonetab **tabp);

/*
 * What a restarted master found of one zone of a dead master's table
 * (see cycle.h): its memory's file, the bytes to map, its inode number
 * and what names its object.
 */
struct shmfs_zonetab_stored_zone {
	int fd; /* -1: none stored (allocated again, as at a start) */
	uint64_t size;
	uint64_t ino;
	int sysv_id;
	bool created; /* shmfs made the object: removed at the clean stop */
};

/* A dead master's table: its shared region and its zones, cfg's order. */
struct shmfs_zonetab_stored {
	int region_fd;
	size_t region_size;
	const struct shmfs_zonetab_stored_zone *zones; /* cfg->nzones */
};

/*
 * The table a dead master served, from cfg (the configuration it ran,
 * rebuilt from its text) and what it stored: each zone maps its stored
 * file at its recorded inode number, and the stored region (the records,
 * the counters, next_ino) is mapped as it was, not initialised. The table
 * takes every fd of st, closing them on failure too. Returns 0 or -errno
 * (logged).
 */
int shmfs_zonetab_restore(const struct shmfs_config *cfg,
			  const struct shmfs_zonetab_stored *st,
			  struct shmfs_zonetab **tabp);

/*
 * Issue 18: measures how much of each huge zone the caller's mapping has
 * in 2 MiB pages (smaps) into its record's huge_bytes and huge_wanted.
 * Returns the number of huge zones (0: nothing to measure again).
 */
size_t shmfs_zonetab_measure_huge(struct shmfs_zonetab *tab);

/* Takes over the mappings tab borrowed from prev, so that destroying prev
 * frees only what tab did not keep. */
void shmfs_zonetab_adopt(struct shmfs_zonetab *tab, struct shmfs_zonetab *prev);

/*
 * With no worker running (a reload, before shmfs_zonetab_create, or a
 * stop): a file zone whose file was deleted or moved away behind the
 * daemon gets its bytes back at its path and maps that file from now on;
 * one whose path names another file is marked replaced. See
 * shmfs_shm_file_check (which logs each). Returns the count restored.
 */
size_t shmfs_zonetab_check_files(struct shmfs_zonetab *tab, bool stopping);

/* Frees every zone and the region; NULL is ignored. */
void shmfs_zonetab_destroy(struct shmfs_zonetab *tab);

/*
 * The index of the zone called name (len bytes, no NUL needed), or -ENOENT.
 * O(1): a hash, not a scan.
 */
long shmfs_zonetab_find(const struct shmfs_zonetab *tab, const char *name,
			size_t len);

/* The zone with inode number ino, or NULL. O(1). */
struct shmfs_zonetab_entry *
shmfs_zonetab_by_ino(const struct shmfs_zonetab *tab, uint64_t ino);

#endif /* SHMFS_ZONETAB_H */

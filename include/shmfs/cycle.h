/* SPDX-License-Identifier: MIT */
/*
 * A cycle owns what one configuration brings up: the configuration itself,
 * the zone table (every zone's memory, and the shared region with the
 * daemon's counters, the worker slots and the zones' records), the /.stats
 * arena, the cache mode each zone really runs in with its backing id on the
 * connection, and the generation. Nothing else writes them. A reload builds
 * the next cycle from the running one, reusing what did not change, swaps
 * the two, and destroys the old one. Workers are forked once a cycle is
 * complete and serve it unchanged for their whole life (ops.h); the pool is
 * stopped around a swap.
 *
 * A restart (a new master adopting what a dead one stored: zone memory
 * descriptors and a state record) builds its first cycle with this same
 * constructor by replacing the two steps that obtain state:
 *   - each zone's memory and inode number come from one function of
 *     zonetab.c (obtain_memory: carried over from the old table, or
 *     allocated); the adopting table maps the zone's stored descriptor and
 *     takes the inode number from the record instead, and maps the stored
 *     region in place of allocating one (its records, counters and
 *     next_ino are then the dead master's);
 *   - backing ids come through struct shmfs_cycle_conn: the adopting
 *     master binds its first cycle to a connection whose open_backing
 *     returns the id the record lists for that memory, so that no id is
 *     registered twice (each registration pins the memory until unmount).
 * The stats arena, the run modes and the generation (the record's reload
 * count) are then built as for any cycle.
 */
#ifndef SHMFS_CYCLE_H
#define SHMFS_CYCLE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "shmfs/config.h"
#include "shmfs/statsfile.h"
#include "shmfs/zonetab.h"

struct shmfs_region;

/* What a zone runs as on the cycle's connection. */
struct shmfs_cycle_zone {
	/* conf.cache, or page where passthrough could not be had */
	enum shmfs_cache cache;
	int backing_id; /* passthrough: the memfd's id; 0: none */
};

/*
 * How a cycle registers backing files: the master's is the kernel's
 * (shmfs_kernel_cycle_conn); the unit tests pass their own.
 */
struct shmfs_cycle_conn {
	/* A backing id (>= 1) for fd, or -errno. */
	int (*open_backing)(void *arg, int fd);
	/* Drops an id that no zone uses any more. */
	void (*close_backing)(void *arg, int id);
	/* Why open_backing fails, and its errno (0: none); NULL: it works. */
	const char *(*no_passthrough)(void *arg, int *err);
	void *arg;
};

struct shmfs_cycle {
	struct shmfs_config cfg;
	struct shmfs_zonetab *tab;	/* built from cfg; immutable */
	struct shmfs_statsfile stats;	/* the /.stats arena, sized for tab */
	struct shmfs_cycle_zone *zones; /* one per zone of tab, in its order */
	uint64_t generation;		/* the reload count when it was made */
	uid_t uid; /* owner of the root directory: the daemon's */
	gid_t gid;
	const struct shmfs_cycle_conn *conn; /* NULL until bound */
	/*
	 * What the kernel must forget once this cycle serves in place of
	 * the one it was built from: names of that cycle's zones this one
	 * lacks (the zones tab marks renumbered or changed besides).
	 */
	char **gone;
	size_t ngone;
};

/*
 * Builds the cycle of cfg, which is the cycle's from now on (left zeroed;
 * freed on failure), into *out. Each failure is logged where it happens.
 *
 * old NULL: a first start; the cycle is bound later (shmfs_cycle_bind).
 * With old (a reload; no worker may be running), a zone of the same name,
 * size and backend keeps old's memory, inode number, metadata and backing
 * id (see shmfs_zonetab_create), the counters carry on, the generation is
 * one more, and the new cycle is bound to old's connection. On success old
 * is left holding only what the new cycle did not take (its unkept
 * backing ids are closed): destroy it. On failure old is untouched.
 * Returns 0 or -errno.
 */
int shmfs_cycle_create(struct shmfs_config *cfg, struct shmfs_cycle *old,
		       struct shmfs_cycle **out);

/* What a restarted master found of the cycle a dead master served. */
struct shmfs_cycle_stored {
	struct shmfs_zonetab_stored tab;
	int stats_fd; /* the /.stats arena's memory; -1: none */
	uint64_t generation;
	/* How each zone ran (cfg's order): its backing id is still live. */
	const struct shmfs_cycle_zone *zones;
};

/*
 * The cycle a dead master served, rebuilt from cfg (the configuration it
 * ran) and what it stored: the table as shmfs_zonetab_restore maps it,
 * its /.stats arena (open snapshots read on; a new one, and a new
 * generation that makes them stale, if it cannot be had), its generation,
 * and each zone's run mode and backing id. Bind it to the connection
 * (shmfs_cycle_bind), then apply the current configuration to it as a
 * reload does. Takes cfg and every fd of st. Returns 0 or -errno.
 */
int shmfs_cycle_restore(struct shmfs_config *cfg,
			const struct shmfs_cycle_stored *st,
			struct shmfs_cycle **out);

/*
 * Binds c to its connection, once INIT is answered: registers the memfd of
 * every passthrough zone that has no backing id yet. Where passthrough
 * cannot be had, such zones run in page mode, keeping their fixed size,
 * and one line says why. Called by shmfs_cycle_create for a reload.
 */
void shmfs_cycle_bind(struct shmfs_cycle *c,
		      const struct shmfs_cycle_conn *conn);

/*
 * Frees everything c holds; NULL is ignored. Backing ids are left to the
 * connection (they end with it), so the last cycle is destroyed after the
 * unmount.
 */
void shmfs_cycle_destroy(struct shmfs_cycle *c);

/* The shared region of c: counters, worker slots, zone records. */
struct shmfs_region *shmfs_cycle_region(const struct shmfs_cycle *c);

/* How zone e (an entry of c->tab) runs. */
const struct shmfs_cycle_zone *
shmfs_cycle_zone(const struct shmfs_cycle *c,
		 const struct shmfs_zonetab_entry *e);

#endif /* SHMFS_CYCLE_H */

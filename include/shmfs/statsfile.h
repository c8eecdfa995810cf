/* SPDX-License-Identifier: MIT */
/*
 * The files /.stats and /.metrics: the figures of figures.h, as "name
 * value" lines and in the Prometheus text exposition format. A snapshot is
 * rendered once, at open, into a slot of a shared arena, so that the reads
 * of one open file, whichever workers serve them, see the same text. Both
 * files share the slots and the per-user quota.
 */
#ifndef SHMFS_STATSFILE_H
#define SHMFS_STATSFILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct shmfs_cycle;
struct shmfs_zonetab;

/* The text a snapshot is rendered in. */
enum shmfs_statsfile_format {
	SHMFS_STATSFILE_TEXT,	    /* /.stats: "name value" lines */
	SHMFS_STATSFILE_PROMETHEUS, /* /.metrics: text exposition 0.0.4 */
};

/* How many /.stats and /.metrics opens may be live at once, together. */
#define SHMFS_STATSFILE_SLOTS 32
/*
 * So that no user can deny the files to others: one uid holds at most
 * SHMFS_STATSFILE_PER_UID opens, and the last SHMFS_STATSFILE_ROOT slots
 * are root's alone.
 */
#define SHMFS_STATSFILE_PER_UID 4
#define SHMFS_STATSFILE_ROOT 8

/* The arena: an anonymous shared mapping of SHMFS_STATSFILE_SLOTS slots. */
struct shmfs_statsfile {
	void *addr;
	size_t slot_size;
	int fd; /* the arena's shmem file, kept for a successor; -1: none */
};

/*
 * Maps the arena, with slots sized so that the longest snapshot of tab's
 * figures fits one. Returns 0 or -errno (logged).
 */
int shmfs_statsfile_create(struct shmfs_statsfile *sf,
			   const struct shmfs_zonetab *tab);

/*
 * For a restarted master: maps the arena a dead master stored (fd, its
 * shmem file; taken), so that snapshots open across the
 * restart read on. -ESTALE if it is not the arena tab's figures need
 * (then create one: open snapshots are lost).
 */
int shmfs_statsfile_restore(struct shmfs_statsfile *sf,
			    const struct shmfs_zonetab *tab, int fd);

void shmfs_statsfile_destroy(struct shmfs_statsfile *sf);

/*
 * Renders a snapshot of cycle (its table, and the mode each zone runs in)
 * in format into a free slot for uid; *fh names it. -EMFILE if uid (not root)
 * holds SHMFS_STATSFILE_PER_UID already, -ENFILE if every slot uid may take is
 * taken, -EOVERFLOW (slot freed) if the text did not fit the slot, which
 * shmfs_statsfile_create sizes so that it does.
 */
int shmfs_statsfile_open(struct shmfs_statsfile *sf,
			 const struct shmfs_cycle *cycle,
			 enum shmfs_statsfile_format format, uid_t uid,
			 uint64_t *fh);

/* The bytes of snapshot fh at off (none past its end): *p, *n. */
int shmfs_statsfile_read(struct shmfs_statsfile *sf, uint64_t fh, off_t off,
			 size_t size, const void **p, size_t *n);

/* Frees snapshot fh. */
void shmfs_statsfile_release(struct shmfs_statsfile *sf, uint64_t fh);

/*
 * Writes src into dst (cap bytes, NUL-terminated, cut short if need be) as
 * a Prometheus label value: backslash, double quote and newline escaped as
 * \\, \" and \n. Returns the length the whole escaped text needs, as
 * snprintf does.
 */
size_t shmfs_statsfile_escape_label(char *dst, size_t cap, const char *src);

#endif /* SHMFS_STATSFILE_H */

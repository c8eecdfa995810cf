/* SPDX-License-Identifier: MIT */
/*
 * The figures of /.stats and /.metrics, in one table: for each, its name in
 * either file, its type, unit and HELP text, where its value is read, and
 * how shmfs status shows it. The daemon renders both files from the table
 * (statsfile.c); shmfs status parses /.stats and prints by it (status_*.c).
 *
 * A new figure is one entry in shmfs_figures (figures.c) under a new id
 * below, placed among its scope's rows where it should show; a getter only
 * if its value is not a 64-bit counter of the shared region, a worker's
 * slot or a zone's record.
 */
#ifndef SHMFS_FIGURES_H
#define SHMFS_FIGURES_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct shmfs_worker_slot;
struct shmfs_zonetab;
struct shmfs_zonetab_entry;

/*
 * Whose figure it is. A daemon's has one value; a worker's one per live
 * slot (/.stats worker.SLOT.NAME, label worker="SLOT"); a zone's one per
 * zone (/.stats zone.ZONE.NAME, label zone="ZONE").
 */
enum shmfs_figure_scope {
	SHMFS_FIGURE_DAEMON,
	SHMFS_FIGURE_WORKER,
	SHMFS_FIGURE_ZONE,
};

enum shmfs_figure_type {
	SHMFS_FIGURE_COUNTER, /* only grows; its metric ends in _total */
	SHMFS_FIGURE_GAUGE,
	/*
	 * A family whose value is always 1: the labels that follow it in
	 * the table are its labels, words that describe the record.
	 */
	SHMFS_FIGURE_INFO,
	/* A word: a /.stats value, a label of the INFO family before it. */
	SHMFS_FIGURE_LABEL,
};

/* What shmfs status makes of a figure (flags). */
enum {
	/* A /.stats without it is refused: not the /.stats of shmfs. */
	SHMFS_FIGURE_REQUIRED = 1 << 0,
	/*
	 * Older daemons did not write it: status leaves it out where
	 * /.stats has none, rather than show a 0 that is not known.
	 */
	SHMFS_FIGURE_OPTIONAL = 1 << 1,
	/* How many workers or zones follow: the JSON lists them instead. */
	SHMFS_FIGURE_COUNT = 1 << 2,
	/* A text of any length: shown after the others, never padded. */
	SHMFS_FIGURE_LONG = 1 << 3,
	/*
	 * A daemon's figure whose word goes before its value in the summary
	 * line ("generation 3"): a rank, not a count of things.
	 */
	SHMFS_FIGURE_RANK = 1 << 4,
};

/* What a getter reads from. */
struct shmfs_figure_at {
	const struct shmfs_zonetab *tab;
	const struct shmfs_worker_slot *worker; /* for a worker's figure */
	struct shmfs_zonetab_entry *zone;	/* for a zone's */
	/*
	 * For a zone's: the enum shmfs_cache it runs in, which only the
	 * daemon knows (page where passthrough could not be had).
	 */
	unsigned cache;
	struct timespec now; /* CLOCK_REALTIME */
};

struct shmfs_figure {
	enum shmfs_figure_scope scope;
	enum shmfs_figure_type type;
	const char *name;   /* in /.stats; NULL: only in /.metrics */
	const char *metric; /* its family in /.metrics; NULL for a label */
	const char *unit;   /* "bytes", "seconds"; NULL: a count */
	unsigned decimals;  /* the value counts 10^-decimals of the unit */
	const char *help;   /* the family's HELP; a label's meaning */
	/*
	 * The value: get's, else (a label) text's, else the uint64_t
	 * counter at offset in the region (a daemon's), the worker's slot
	 * or the zone's record. text writes into buf (cap bytes, at least
	 * SHMFS_SHM_DESCRIBE_MAX) or returns a constant.
	 */
	uint64_t (*get)(const struct shmfs_figure_at *at);
	const char *(*text)(const struct shmfs_figure_at *at, char *buf,
			    size_t cap);
	size_t offset;
	unsigned flags; /* SHMFS_FIGURE_REQUIRED, ... */
	/*
	 * shmfs status: a daemon's figure with a word is in the summary line
	 * ("1 reload", "2 reloads"; "generation 3" for SHMFS_FIGURE_RANK); a
	 * worker's with a heading is a column of the workers' table.
	 */
	const char *status;
};

/* The ids: indexes into shmfs_figures, in the order both files show. */
enum shmfs_figure_id {
	SHMFS_FIGURE_START_TIME,
	SHMFS_FIGURE_UPTIME,
	SHMFS_FIGURE_RELOADS,
	SHMFS_FIGURE_RESPAWNS,
	SHMFS_FIGURE_STOPS,
	SHMFS_FIGURE_LOG_DROPPED,
	SHMFS_FIGURE_GENERATION,
	SHMFS_FIGURE_RESTARTS,
	SHMFS_FIGURE_UPGRADES,
	SHMFS_FIGURE_TRANSPORT_INFO,
	SHMFS_FIGURE_TRANSPORT,
	SHMFS_FIGURE_WORKERS,
	SHMFS_FIGURE_WORKER_PID,
	SHMFS_FIGURE_WORKER_REQUESTS,
	SHMFS_FIGURE_WORKER_ERRORS,
	SHMFS_FIGURE_WORKER_BYTES_IN,
	SHMFS_FIGURE_WORKER_BYTES_OUT,
	SHMFS_FIGURE_ZONES,
	SHMFS_FIGURE_ZONE_INFO,
	SHMFS_FIGURE_ZONE_BACKEND,
	SHMFS_FIGURE_ZONE_OBJECT,
	SHMFS_FIGURE_ZONE_CACHE,
	SHMFS_FIGURE_ZONE_MODE,
	SHMFS_FIGURE_ZONE_CAPACITY,
	SHMFS_FIGURE_ZONE_LENGTH,
	SHMFS_FIGURE_ZONE_USED,
	SHMFS_FIGURE_ZONE_READS,
	SHMFS_FIGURE_ZONE_WRITES,
	SHMFS_FIGURE_ZONE_BYTES_IN,
	SHMFS_FIGURE_ZONE_BYTES_OUT,
	/* Issue 18: huge pages (huge.h). */
	SHMFS_FIGURE_ZONE_HUGE_BYTES,
	SHMFS_FIGURE_ZONE_HUGE_WANTED,
	/* backend = process (issue 19) */
	SHMFS_FIGURE_ZONE_ATTACHED,
	SHMFS_FIGURES /* how many */
};

/* Each scope's rows are together, so that each file shows it in one run. */
extern const struct shmfs_figure shmfs_figures[SHMFS_FIGURES];

/* The end of the run of rows of one scope that starts at id k. */
size_t shmfs_figure_run_end(size_t k);

/* The figure's value where at points (not for a label or an info). */
uint64_t shmfs_figure_value(const struct shmfs_figure *f,
			    const struct shmfs_figure_at *at);

/* A label's word where at points, in buf (cap bytes) or a constant. */
const char *shmfs_figure_text(const struct shmfs_figure *f,
			      const struct shmfs_figure_at *at, char *buf,
			      size_t cap);

/* The type as the exposition format's TYPE line says it. */
const char *shmfs_figure_type_name(enum shmfs_figure_type type);

/*
 * The figure of scope named name (len bytes, no NUL needed) in /.stats, or
 * NULL if this version has none of that name.
 */
const struct shmfs_figure *shmfs_figure_find(enum shmfs_figure_scope scope,
					     const char *name, size_t len);

#endif /* SHMFS_FIGURES_H */

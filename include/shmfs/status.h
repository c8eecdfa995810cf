/* SPDX-License-Identifier: MIT */
/*
 * shmfs status MOUNTPOINT [--json]: reads MOUNTPOINT/.stats (not the
 * daemon's memory), parses it by the table of figures (figures.h), and
 * prints the zones as df would and the workers, or one JSON object. The
 * parser takes what it knows and skips the rest, so a /.stats with more
 * figures still reads.
 */
#ifndef SHMFS_STATUS_H
#define SHMFS_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "shmfs/figures.h"

/*
 * The daemon, a worker or a zone as /.stats describes it: each figure of
 * its scope by id (figures.h). A figure /.stats does not have is 0 (a
 * label NULL) with has false.
 */
struct shmfs_status_record {
	char *name;    /* a zone's */
	unsigned slot; /* a worker's */
	uint64_t value[SHMFS_FIGURES];
	char *text[SHMFS_FIGURES]; /* a label's */
	bool has[SHMFS_FIGURES];
};

struct shmfs_status {
	struct shmfs_status_record daemon;
	size_t nworkers, nzones;
	struct shmfs_status_record *workers; /* in slot order */
	struct shmfs_status_record *zones;   /* in /.stats order */
};

/*
 * Parses the text of /.stats (len bytes, no NUL needed). Unknown names and
 * fields are skipped. Returns 0; -EINVAL with "LINE: message" in err for a
 * line that is not "name value", a figure that is not a number, a text
 * without a figure it requires (uptime, zones, a zone's capacity), or
 * whose "zones" count differs from the zones it lists; -ENOMEM. Free with
 * shmfs_status_free either way.
 */
int shmfs_status_parse(const char *text, size_t len, struct shmfs_status *st,
		       char *err, size_t errlen);

void shmfs_status_free(struct shmfs_status *st);

/*
 * bytes as df -h writes them: powers of 1024, rounded up, one decimal
 * below 10 ("0", "512", "1.5K", "64M"). Returns buf.
 */
char *shmfs_status_human(uint64_t bytes, char *buf, size_t cap);

/* What a zone uses: "used" if /.stats has it, else its length. */
uint64_t shmfs_status_zone_used(const struct shmfs_status_record *z);

/* The zones as df would, then the workers; mountpoint names the mount. */
void shmfs_status_print(const struct shmfs_status *st, const char *mountpoint,
			FILE *out);

/* One JSON object with every figure parsed. */
void shmfs_status_print_json(const struct shmfs_status *st,
			     const char *mountpoint, FILE *out);

/*
 * The command: checks that mountpoint is a live shmfs mount, reads and
 * parses its /.stats, prints to stdout. Errors are one line on stderr.
 * Returns an exit status (see exit.h).
 */
int shmfs_status_run(const char *mountpoint, bool json);

#endif /* SHMFS_STATUS_H */

/* SPDX-License-Identifier: MIT */
/*
 * The zone table that "shmfs -t" prints: the zone's name, then one column
 * per key that has one in the key table (config_keys.def), then the
 * shared object, if any zone has one. Columns are as wide as their widest
 * value, so a new column is one entry in the table.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "config_parser.h"
#include "shmfs/shm.h"

/* The longest value a column shows: a 20-digit capacity. */
#define CELL_MAX 32

/* Zone z's cell of key's column. */
static void cell(const struct shmfs_zone_config *z, enum config_key_id key,
		 const char *no_passthrough, char *buf)
{
	const struct config_key *k = &shmfs_config_keys[key];

	k->column.show((const char *)z + k->at[IN_ZONE], no_passthrough, buf,
		       CELL_MAX);
}

/* Each column's width: its header's (or more), or its widest value's. */
static int name_widths(const struct shmfs_config *cfg,
		       const char *no_passthrough, int width[KEY_COUNT])
{
	char buf[CELL_MAX];
	int wname = 4, n;

	for (int key = 0; key < KEY_COUNT; key++)
		width[key] = shmfs_config_keys[key].column.width;
	/* Indexes, not pointer bounds: zones is NULL when there are none. */
	for (size_t i = 0; i < cfg->nzones; i++) {
		n = (int)strlen(cfg->zones[i].name);
		wname = n > wname ? n : wname;
		for (int key = 0; key < KEY_COUNT; key++) {
			if (!shmfs_config_keys[key].column.header)
				continue;
			cell(&cfg->zones[i], key, no_passthrough, buf);
			n = (int)strlen(buf);
			width[key] = n > width[key] ? n : width[key];
		}
	}
	return wname;
}

/* The columns of one row: the headers (z NULL), or zone z's values. */
static void row(const struct shmfs_zone_config *z, const int width[KEY_COUNT],
		const char *no_passthrough, FILE *out)
{
	char buf[CELL_MAX];

	for (int key = 0; key < KEY_COUNT; key++) {
		const struct config_column *c = &shmfs_config_keys[key].column;

		if (!c->header)
			continue;
		if (z)
			cell(z, key, no_passthrough, buf);
		fprintf(out, c->right ? " %*s" : " %-*s", width[key],
			z ? buf : c->header);
	}
}

/*
 * Issue 18: PAGES, RESIDENT and NUMA, only where some zone asks for huge
 * pages, populate or a memory policy (the table of every other
 * configuration stays as it was). PAGES: 4K, 2M (on), 2M|4K (try: 4K
 * where the kernel refuses); RESIDENT: "start" where the zone's memory is
 * allocated at the start (populate), "touch" where pages come as they are
 * written; NUMA: the policy.
 */
static bool any_placement(const struct shmfs_config *cfg)
{
	for (size_t i = 0; i < cfg->nzones; i++) {
		const struct shmfs_zone_config *z = &cfg->zones[i];

		if (z->huge_pages != SHMFS_HUGE_OFF || z->populate ||
		    z->numa != SHMFS_NUMA_DEFAULT || z->numa_node >= 0)
			return true;
	}
	return false;
}

static void placement_cells(const struct shmfs_zone_config *z, FILE *out)
{
	static const char *const pages[] = {
		[SHMFS_HUGE_OFF] = "4K",
		[SHMFS_HUGE_TRY] = "2M|4K",
		[SHMFS_HUGE_ON] = "2M",
	};
	char numa[24];

	if (z == NULL) {
		fprintf(out, " %-5s %-8s %-10s", "PAGES", "RESIDENT", "NUMA");
		return;
	}
	if (z->numa_node >= 0)
		snprintf(numa, sizeof(numa), "node %d", z->numa_node);
	else
		snprintf(numa, sizeof(numa), "%s",
			 z->numa == SHMFS_NUMA_INTERLEAVE ? "interleave" : "-");
	fprintf(out, " %-5s %-8s %-10s", pages[z->huge_pages],
		z->populate ? "start" : "touch", numa);
}

void shmfs_config_print(const struct shmfs_config *cfg,
			const char *no_passthrough, const char *transport,
			FILE *out)
{
	size_t fallback = 0, shared = 0;
	char object[SHMFS_SHM_DESCRIBE_MAX];
	int width[KEY_COUNT], wname;
	uint64_t total = 0;
	struct shmfs_shm shm;

	bool placed = any_placement(cfg);
	uint64_t resident = 0;

	wname = name_widths(cfg, no_passthrough, width);
	for (size_t i = 0; i < cfg->nzones; i++) {
		total += cfg->zones[i].capacity;
		shared += shmfs_zone_config_shared(&cfg->zones[i]);
		fallback += cfg->zones[i].cache == SHMFS_CACHE_PASSTHROUGH;
		resident += cfg->zones[i].populate ? cfg->zones[i].capacity : 0;
	}
	/* The OBJECT column only where some zone names one. */
	fprintf(out, "%-*s", wname, "NAME");
	row(NULL, width, no_passthrough, out);
	if (placed)
		placement_cells(NULL, out);
	fprintf(out, "%s\n", shared ? " OBJECT" : "");
	for (size_t i = 0; i < cfg->nzones; i++) {
		fprintf(out, "%-*s", wname, cfg->zones[i].name);
		row(&cfg->zones[i], width, no_passthrough, out);
		if (placed)
			placement_cells(&cfg->zones[i], out);
		shmfs_zone_config_shm(&cfg->zones[i], &shm);
		shmfs_shm_describe(&shm, object, sizeof(object));
		fprintf(out, "%s%s\n", shared ? " " : "", shared ? object : "");
	}
	fprintf(out, "%zu zone%s, %" PRIu64 " bytes, workers ", cfg->nzones,
		cfg->nzones == 1 ? "" : "s", total);
	if (cfg->workers)
		fprintf(out, "%u", cfg->workers);
	else
		fprintf(out, "auto");
	fprintf(out, ", transport %s\n", transport ? transport : "/dev/fuse");
	if (placed)
		fprintf(out,
			"%" PRIu64 " bytes resident from the start "
			"(populate), the rest as it is written\n",
			resident);
	if (fallback > 0 && no_passthrough)
		fprintf(out,
			"* passthrough unavailable here (%s): these zones "
			"run in page mode, fixed size kept\n",
			no_passthrough);
}

/* SPDX-License-Identifier: MIT */
/*
 * Building, binding and freeing a cycle (see cycle.h). Construction runs
 * in steps that each own one piece: the table (zonetab.c), the stats
 * arena, the run modes; only the last step, once nothing can fail any
 * more, touches the old cycle: it takes over the mappings and backing ids
 * the new one kept and closes the ids it did not.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shmfs/cycle.h"
#include "shmfs/log.h"
#include "shmfs/zonetab.h"

struct shmfs_region *shmfs_cycle_region(const struct shmfs_cycle *c)
{
	return c->tab->region;
}

const struct shmfs_cycle_zone *
shmfs_cycle_zone(const struct shmfs_cycle *c,
		 const struct shmfs_zonetab_entry *e)
{
	return &c->zones[e - c->tab->entries];
}

/* The index of old's zone that e carries over, or -1. */
static long kept_from(const struct shmfs_cycle *old,
		      const struct shmfs_zonetab_entry *e)
{
	return e->borrowed
		       ? shmfs_zonetab_find(old->tab, e->conf.name, e->namelen)
		       : -1;
}

/*
 * Every zone runs as configured until bound; a passthrough zone that keeps
 * old's memory keeps its backing id (0 if it fell back to page mode:
 * binding tries it again). One that leaves passthrough lets its id go.
 */
static int init_zones(struct shmfs_cycle *c, const struct shmfs_cycle *old)
{
	size_t n = c->tab->nzones;

	c->zones = calloc(n ? n : 1, sizeof(*c->zones));
	if (c->zones == NULL) {
		shmfs_log_sys(LOG_ERR, ENOMEM,
			      "calloc(%zu) of the zones' run modes failed", n);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		const struct shmfs_zonetab_entry *e = &c->tab->entries[i];
		long k = old ? kept_from(old, e) : -1;

		c->zones[i].cache = e->conf.cache;
		if (k >= 0 && e->conf.cache == SHMFS_CACHE_PASSTHROUGH)
			c->zones[i].backing_id = old->zones[k].backing_id;
	}
	return 0;
}

/* Names of old's zones that c does not have (NULL-free: a failed strdup
 * leaves the name out, and ls may show it until the kernel forgets). */
static void find_gone(struct shmfs_cycle *c, const struct shmfs_cycle *old)
{
	const struct shmfs_zonetab *was = old->tab;

	c->gone = calloc(was->nzones + 1, sizeof(*c->gone));
	if (c->gone == NULL) {
		shmfs_log_sys(LOG_WARNING, ENOMEM,
			      "calloc(%zu) of removed zones' names failed",
			      was->nzones + 1);
		return;
	}
	for (size_t i = 0; i < was->nzones; i++) {
		const struct shmfs_zonetab_entry *e = &was->entries[i];
		char *name;

		if (shmfs_zonetab_find(c->tab, e->conf.name, e->namelen) >= 0)
			continue;
		name = strdup(e->conf.name);
		if (name == NULL)
			shmfs_log_sys(LOG_WARNING, ENOMEM,
				      "strdup(\"%s\") of a removed zone failed",
				      e->conf.name);
		else
			c->gone[c->ngone++] = name;
	}
}

/*
 * The last step of a reload: c takes the mappings it kept from old, and
 * the backing ids of old's zones that c does not run on the same memory
 * are closed (files open on them keep their memfd until closed).
 */
static void take_over(struct shmfs_cycle *c, struct shmfs_cycle *old)
{
	for (size_t k = 0; old->conn && k < old->tab->nzones; k++) {
		const struct shmfs_zonetab_entry *e = &old->tab->entries[k];
		int id = old->zones[k].backing_id;
		long i = shmfs_zonetab_find(c->tab, e->conf.name, e->namelen);

		if (id > 0 && (i < 0 || c->zones[i].backing_id != id))
			old->conn->close_backing(old->conn->arg, id);
		old->zones[k].backing_id = 0;
	}
	shmfs_zonetab_adopt(c->tab, old->tab);
}

/* A cycle holding cfg (taken), nothing built yet; NULL if out of memory. */
static struct shmfs_cycle *new_cycle(struct shmfs_config *cfg)
{
	struct shmfs_cycle *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		shmfs_log_sys(LOG_ERR, ENOMEM, "calloc of a cycle failed");
		shmfs_config_free(cfg);
		return NULL;
	}
	c->cfg = *cfg;
	memset(cfg, 0, sizeof(*cfg));
	c->uid = geteuid();
	c->gid = getegid();
	return c;
}

int shmfs_cycle_restore(struct shmfs_config *cfg,
			const struct shmfs_cycle_stored *st,
			struct shmfs_cycle **out)
{
	size_t n = cfg->nzones; /* new_cycle frees cfg if it fails */
	struct shmfs_cycle *c = new_cycle(cfg);
	int err;

	if (c == NULL) {
		err = -ENOMEM;
		goto fail;
	}
	err = shmfs_zonetab_restore(&c->cfg, &st->tab, &c->tab);
	c->generation = st->generation;
	if (err && st->stats_fd >= 0)
		close(st->stats_fd);
	if (err == 0 && st->stats_fd >= 0 &&
	    shmfs_statsfile_restore(&c->stats, c->tab, st->stats_fd) < 0) {
		shmfs_log_warn("the /.stats arena could not be adopted: "
			       "snapshots open before the restart are stale");
		c->generation =
			atomic_fetch_add(&c->tab->region->reloads, 1) + 1;
	}
	if (err == 0 && c->stats.addr == NULL)
		err = shmfs_statsfile_create(&c->stats, c->tab);
	if (err == 0)
		err = init_zones(c, NULL);
	if (err) {
		shmfs_cycle_destroy(c);
		return err;
	}
	for (size_t i = 0; i < c->tab->nzones; i++)
		c->zones[i] = st->zones[i];
	*out = c;
	return 0;
fail:
	if (st->stats_fd >= 0)
		close(st->stats_fd);
	if (st->tab.region_fd >= 0)
		close(st->tab.region_fd);
	for (size_t i = 0; st->tab.zones && i < n; i++)
		if (st->tab.zones[i].fd >= 0)
			close(st->tab.zones[i].fd);
	return err;
}

int shmfs_cycle_create(struct shmfs_config *cfg, struct shmfs_cycle *old,
		       struct shmfs_cycle **out)
{
	struct shmfs_cycle *c = new_cycle(cfg);
	int err;

	if (c == NULL)
		return -ENOMEM;
	/* Each step logs its own failure. */
	err = shmfs_zonetab_create(&c->cfg, old ? old->tab : NULL, &c->tab);
	if (err == 0)
		err = shmfs_statsfile_create(&c->stats, c->tab);
	if (err == 0)
		err = init_zones(c, old);
	if (err) {
		shmfs_cycle_destroy(c);
		return err;
	}
	if (old) {
		c->generation =
			atomic_fetch_add(&c->tab->region->reloads, 1) + 1;
		find_gone(c, old);
		if (old->conn)
			shmfs_cycle_bind(c, old->conn);
		take_over(c, old);
	}
	*out = c;
	return 0;
}

void shmfs_cycle_bind(struct shmfs_cycle *c,
		      const struct shmfs_cycle_conn *conn)
{
	size_t n = 0, fallback = 0;
	int why_err = 0;

	c->conn = conn;
	for (size_t i = 0; i < c->tab->nzones; i++) {
		struct shmfs_cycle_zone *z = &c->zones[i];

		if (z->cache != SHMFS_CACHE_PASSTHROUGH || z->backing_id > 0)
			continue;
		int id = conn->open_backing(conn->arg,
					    c->tab->entries[i].zone.fd);
		if (id < 0) {
			z->cache = SHMFS_CACHE_PAGE;
			fallback++;
			continue;
		}
		z->backing_id = id;
		n++;
	}
	if (fallback > 0) {
		const char *why = conn->no_passthrough(conn->arg, &why_err);

		/* An errno of 0 adds nothing to the line. */
		shmfs_log_sys(LOG_WARNING, why_err,
			      "passthrough unavailable: %s: %zu zone%s served "
			      "in page mode, fixed size kept",
			      why ? why : "?", fallback,
			      fallback == 1 ? "" : "s");
	}
	if (n > 0)
		shmfs_log_info("passthrough: %zu zone%s served by the kernel",
			       n, n == 1 ? "" : "s");
}

void shmfs_cycle_destroy(struct shmfs_cycle *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->ngone; i++)
		free(c->gone[i]);
	free(c->gone);
	free(c->zones);
	shmfs_statsfile_destroy(&c->stats);
	shmfs_zonetab_destroy(c->tab);
	shmfs_config_free(&c->cfg);
	free(c);
}

/* SPDX-License-Identifier: MIT */
/*
 * Builds the zone table from the configuration: one mapping per zone through
 * its backend, one anonymous shared region for all metadata, and an
 * open-addressing hash of the names so that a lookup never scans.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shmfs/log.h"
#include "shmfs/zonetab.h"

/* FNV-1a: short names, no adversary who can choose them but the admin. */
static uint64_t hash_name(const char *name, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)name[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static int index_names(struct shmfs_zonetab *tab)
{
	size_t nbuckets = 16;

	while (nbuckets < 2 * tab->nzones)
		nbuckets *= 2;
	tab->buckets = calloc(nbuckets, sizeof(*tab->buckets));
	if (tab->buckets == NULL)
		return -ENOMEM;
	tab->bucket_mask = nbuckets - 1;

	for (size_t i = 0; i < tab->nzones; i++) {
		const struct shmfs_zonetab_entry *e = &tab->entries[i];
		size_t b =
			hash_name(e->conf.name, e->namelen) & tab->bucket_mask;

		while (tab->buckets[b] != 0)
			b = (b + 1) & tab->bucket_mask;
		tab->buckets[b] = i + 1;
	}
	return 0;
}

long shmfs_zonetab_find(const struct shmfs_zonetab *tab, const char *name,
			size_t len)
{
	size_t b = hash_name(name, len) & tab->bucket_mask;

	for (uint32_t i; (i = tab->buckets[b]) != 0;
	     b = (b + 1) & tab->bucket_mask) {
		const struct shmfs_zonetab_entry *e = &tab->entries[i - 1];

		if (e->namelen == len && memcmp(e->conf.name, name, len) == 0)
			return i - 1;
	}
	return -ENOENT;
}

static int alloc_region(struct shmfs_zonetab *tab)
{
	struct shmfs_region *r;
	int err;

	tab->region_shm.backend = SHMFS_BACKEND_ANON;
	tab->region_shm.size =
		sizeof(*r) + tab->nzones * sizeof(struct shmfs_zone_meta);
	err = shmfs_shm_alloc(&tab->region_shm);
	if (err)
		return err;

	r = tab->region = tab->region_shm.addr;
	r->magic = SHMFS_REGION_MAGIC;
	r->nzones = tab->nzones;
	clock_gettime(CLOCK_REALTIME, &r->started);
	return 0;
}

int shmfs_zonetab_create(const struct shmfs_config *cfg,
			 struct shmfs_zonetab **tabp)
{
	struct shmfs_zonetab *tab;
	int err;

	tab = calloc(1, sizeof(*tab));
	if (tab == NULL)
		return -ENOMEM;
	tab->nzones = cfg->nzones;
	tab->entries =
		calloc(cfg->nzones ? cfg->nzones : 1, sizeof(*tab->entries));
	err = tab->entries ? alloc_region(tab) : -ENOMEM;
	if (err)
		goto fail;

	for (size_t i = 0; i < tab->nzones; i++) {
		struct shmfs_zonetab_entry *e = &tab->entries[i];
		const struct shmfs_zone_config *zc = &cfg->zones[i];

		e->conf = *zc;
		e->namelen = strlen(zc->name);
		e->shm.backend = zc->backend;
		e->shm.size = zc->size;
		e->shm.label = e->conf.name;
		err = shmfs_shm_alloc(&e->shm);
		if (err)
			goto fail;
		e->zone.data = e->shm.addr;
		e->zone.capacity = zc->size;
		e->zone.meta = &tab->region->zones[i];
		err = shmfs_zone_meta_init(e->zone.meta, zc->mode, zc->uid,
					   zc->gid);
		if (err)
			goto fail;
		tab->capacity += zc->size;
	}

	err = index_names(tab);
	if (err)
		goto fail;
	*tabp = tab;
	return 0;

fail:
	shmfs_zonetab_destroy(tab);
	return err;
}

void shmfs_zonetab_destroy(struct shmfs_zonetab *tab)
{
	if (tab == NULL)
		return;
	for (size_t i = 0; tab->entries && i < tab->nzones; i++) {
		struct shmfs_zonetab_entry *e = &tab->entries[i];

		if (e->zone.meta)
			shmfs_zone_meta_destroy(e->zone.meta);
		shmfs_shm_free(&e->shm);
	}
	shmfs_shm_free(&tab->region_shm);
	free(tab->buckets);
	free(tab->entries);
	free(tab);
}

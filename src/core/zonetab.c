/* SPDX-License-Identifier: MIT */
/*
 * Builds the zone table from the configuration: one mapping per zone through
 * its backend, one anonymous shared region for all metadata, and an
 * open-addressing hash of the names so that a lookup never scans.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shmfs/hash.h"
#include "shmfs/log.h"
#include "shmfs/zonetab.h"

static uint64_t hash_ino(uint64_t ino)
{
	return ino * 0x9e3779b97f4a7c15ULL;
}

/* Two open-addressing tables, by name and by inode number. */
static int index_zones(struct shmfs_zonetab *tab)
{
	size_t nbuckets = 16;

	while (nbuckets < 2 * tab->nzones)
		nbuckets *= 2;
	tab->buckets = calloc(nbuckets, sizeof(*tab->buckets));
	tab->ino_buckets = calloc(nbuckets, sizeof(*tab->ino_buckets));
	if (tab->buckets == NULL || tab->ino_buckets == NULL) {
		shmfs_log_sys(LOG_ERR, ENOMEM,
			      "calloc(%zu) of the zone index failed", nbuckets);
		return -ENOMEM;
	}
	tab->bucket_mask = nbuckets - 1;

	for (size_t i = 0; i < tab->nzones; i++) {
		const struct shmfs_zonetab_entry *e = &tab->entries[i];
		size_t b = shmfs_hash_name(e->conf.name, e->namelen) &
			   tab->bucket_mask;

		while (tab->buckets[b] != 0)
			b = (b + 1) & tab->bucket_mask;
		tab->buckets[b] = i + 1;
		for (b = hash_ino(e->ino) & tab->bucket_mask;
		     tab->ino_buckets[b] != 0; b = (b + 1) & tab->bucket_mask)
			;
		tab->ino_buckets[b] = i + 1;
	}
	return 0;
}

struct shmfs_zonetab_entry *
shmfs_zonetab_by_ino(const struct shmfs_zonetab *tab, uint64_t ino)
{
	size_t b = hash_ino(ino) & tab->bucket_mask;

	for (uint32_t i; (i = tab->ino_buckets[b]) != 0;
	     b = (b + 1) & tab->bucket_mask)
		if (tab->entries[i - 1].ino == ino)
			return &tab->entries[i - 1];
	return NULL;
}

long shmfs_zonetab_find(const struct shmfs_zonetab *tab, const char *name,
			size_t len)
{
	size_t b = shmfs_hash_name(name, len) & tab->bucket_mask;

	for (uint32_t i; (i = tab->buckets[b]) != 0;
	     b = (b + 1) & tab->bucket_mask) {
		const struct shmfs_zonetab_entry *e = &tab->entries[i - 1];

		if (e->namelen == len && memcmp(e->conf.name, name, len) == 0)
			return i - 1;
	}
	return -ENOENT;
}

static int alloc_region(struct shmfs_zonetab *tab,
			const struct shmfs_zonetab *prev,
			const struct shmfs_zonetab_stored *st)
{
	struct shmfs_region *r;
	int err;

	tab->region_shm.backend = SHMFS_BACKEND_ANON;
	tab->region_shm.label = "the shared region";
	tab->region_shm.size =
		sizeof(*r) + tab->nzones * sizeof(struct shmfs_zone_meta);
	if (st && st->region_size != tab->region_shm.size) {
		shmfs_log_error("the stored shared region is %zu bytes, not "
				"%zu: another build's",
				st->region_size, tab->region_shm.size);
		close(st->region_fd);
		return -EPROTO;
	}
	err = st ? shmfs_shm_map_stored(&tab->region_shm, st->region_fd,
					st->region_size)
		 : shmfs_shm_alloc(&tab->region_shm);
	if (err)
		return err;

	r = tab->region = tab->region_shm.addr;
	if (st) /* the dead master's, as it left it */
		return 0;
	/* Its file, for a successor (not page-sized: alloc found none). */
	if (tab->region_shm.fd < 0) {
		int fd = shmfs_shm_memory_file(&tab->region_shm);
		tab->region_shm.fd = fd < 0 ? -1 : fd;
	}
	if (prev == NULL) {
		clock_gettime(CLOCK_REALTIME, &r->started);
		r->next_ino = SHMFS_INO_ZONE0;
		atomic_store(&r->generation, 1);
		return 0;
	}
	/* What outlives a reload: the clock, the counters, the inode numbers.
	 */
	r->started = prev->region->started;
	atomic_store(&r->reloads, atomic_load(&prev->region->reloads));
	atomic_store(&r->respawns, atomic_load(&prev->region->respawns));
	atomic_store(&r->stops, atomic_load(&prev->region->stops));
	atomic_store(&r->log_dropped, atomic_load(&prev->region->log_dropped));
	atomic_store(&r->generation, atomic_load(&prev->region->generation));
	atomic_store(&r->restarts, atomic_load(&prev->region->restarts));
	atomic_store(&r->upgrades, atomic_load(&prev->region->upgrades));
	atomic_store(&r->uring, atomic_load(&prev->region->uring));
	r->next_ino = prev->region->next_ino;
	return 0;
}

/* The same memory: capacity, attach, the object it names (or backend). */
static bool same_memory(const struct shmfs_zone_config *a,
			const struct shmfs_zone_config *b)
{
	return a->capacity == b->capacity && a->attach == b->attach &&
	       shmfs_zone_config_same_object(a, b) &&
	       a->huge_pages == b->huge_pages && a->populate == b->populate &&
	       a->numa == b->numa && a->numa_node == b->numa_node;
}

static bool same_owner(const struct shmfs_zone_config *a,
		       const struct shmfs_zone_config *b)
{
	return a->mode == b->mode && a->uid == b->uid && a->gid == b->gid;
}

/*
 * Fills e from prev's zone of the same name, old: the mapping itself if its
 * size and backend are unchanged, else a copy of its bytes up to the smaller
 * size; the length, times, counters, and the mode and owner unless the ini
 * file changed them.
 */
static int carry_over(struct shmfs_zonetab *tab, struct shmfs_zonetab_entry *e,
		      const struct shmfs_zonetab_entry *old)
{
	struct shmfs_zone_meta *m = e->zone.meta;
	const struct shmfs_zone_meta *om = old->zone.meta;
	uint64_t length = atomic_load(&om->length);
	/* A program's mapping is looked for again: it may be gone, or new. */
	bool same = same_memory(&old->conf, &e->conf) && !old->replaced &&
		    e->conf.backend != SHMFS_BACKEND_PROCESS;
	/*
	 * Configured modes, not the ones run: a zone that fell back to page
	 * mode (no passthrough on this mount) stays the same inode.
	 */
	bool was_pt = old->conf.cache == SHMFS_CACHE_PASSTHROUGH;
	bool is_pt = e->conf.cache == SHMFS_CACHE_PASSTHROUGH;
	int err;

	e->ino = old->ino;
	if ((was_pt || is_pt) && (!same || was_pt != is_pt)) {
		e->ino = tab->region->next_ino++;
		e->renumbered = true;
	}
	if (same) {
		bool keep = e->shm.keep;
		struct shmfs_placement place = e->shm.place; /* this file's */

		e->shm = old->shm;
		e->shm.place = place;
		e->shm.object = e->conf.object; /* prev's copy goes with it */
		e->shm.label = e->conf.name;
		e->shm.keep = keep;
		e->borrowed = true;
		shmfs_shm_huge_again(&e->shm);
	} else {
		err = shmfs_shm_alloc(&e->shm);
		if (err)
			return err;
		if (length > e->shm.size)
			length = e->shm.size;
		/* A shared object's bytes are its own: never overwritten. */
		if (!shmfs_shm_shared(&e->shm))
			memcpy(e->shm.addr, old->shm.addr, length);
		e->changed = true;
	}
	if (same_owner(&old->conf, &e->conf)) {
		m->mode = om->mode;
		m->uid = om->uid;
		m->gid = om->gid;
	} else {
		e->changed = true;
	}
	e->changed |= old->conf.cache != e->conf.cache;
	atomic_store(&m->length, length);
	m->atime = om->atime;
	m->mtime = om->mtime;
	m->ctime = om->ctime;
	atomic_store(&m->reads, atomic_load(&om->reads));
	atomic_store(&m->writes, atomic_load(&om->writes));
	atomic_store(&m->bytes_in, atomic_load(&om->bytes_in));
	atomic_store(&m->bytes_out, atomic_load(&om->bytes_out));
	return 0;
}

/*
 * How zone e gets its memory and inode number: prev's zone of the same
 * name carried over, or a new mapping and the next number. The one step a
 * master adopting a dead one's stored descriptors replaces (see cycle.h).
 */
static int obtain_memory(struct shmfs_zonetab *tab,
			 struct shmfs_zonetab_entry *e,
			 const struct shmfs_zonetab *prev,
			 const struct shmfs_zonetab_stored_zone *stored)
{
	long old = prev ? shmfs_zonetab_find(prev, e->conf.name, e->namelen)
			: -ENOENT;

	if (stored) {
		e->ino = stored->ino;
		e->shm.id = stored->sysv_id;
		if (stored->fd < 0) /* not stored: as at a start */
			return shmfs_shm_alloc(&e->shm);
		e->shm.created = stored->created;
		return shmfs_shm_map_stored(&e->shm, stored->fd, stored->size);
	}
	if (old >= 0)
		return carry_over(tab, e, &prev->entries[old]);
	e->ino = tab->region->next_ino++;
	return shmfs_shm_alloc(&e->shm);
}

/* The stored fds that create did not take yet (on its failure). */
static void close_stored(const struct shmfs_zonetab_stored *st, size_t from,
			 size_t n, bool region)
{
	if (st == NULL)
		return;
	if (region && st->region_fd >= 0)
		close(st->region_fd);
	for (size_t i = from; i < n; i++)
		if (st->zones[i].fd >= 0)
			close(st->zones[i].fd);
}

static int create(const struct shmfs_config *cfg,
		  const struct shmfs_zonetab *prev,
		  const struct shmfs_zonetab_stored *st,
		  struct shmfs_zonetab **tabp)
{
	struct shmfs_zonetab *tab;
	size_t i = 0;
	bool region_taken = false;
	int err;

	tab = calloc(1, sizeof(*tab));
	if (tab == NULL) {
		shmfs_log_sys(LOG_ERR, ENOMEM,
			      "calloc of the zone table failed");
		return -ENOMEM;
	}
	tab->nzones = cfg->nzones;
	tab->entries =
		calloc(cfg->nzones ? cfg->nzones : 1, sizeof(*tab->entries));
	if (tab->entries == NULL) {
		shmfs_log_sys(LOG_ERR, ENOMEM,
			      "calloc(%zu) of zone entries failed",
			      cfg->nzones);
		err = -ENOMEM;
		goto fail;
	}
	region_taken = true;
	err = alloc_region(tab, prev, st); /* logged where it failed */
	if (err)
		goto fail;

	for (i = 0; i < tab->nzones; i++) {
		struct shmfs_zonetab_entry *e = &tab->entries[i];
		const struct shmfs_zone_config *zc = &cfg->zones[i];
		const struct shmfs_zonetab_stored_zone *sz =
			st ? &st->zones[i] : NULL;

		e->conf = *zc;
		e->conf.object = NULL;
		if (zc->object && !(e->conf.object = strdup(zc->object))) {
			shmfs_log_sys(LOG_ERR, ENOMEM, "zone \"%s\": strdup",
				      zc->name);
			err = -ENOMEM;
			goto fail;
		}
		e->namelen = strlen(zc->name);
		shmfs_zone_config_shm(&e->conf, &e->shm);
		e->shm.place.file = cfg->file;
		/* Only the first start fails on a mapping not found. */
		e->shm.strict = prev == NULL && st == NULL;
		e->zone.meta = &tab->region->zones[i];
		err = st ? 0 /* the record as the dead master left it */
			 : shmfs_zone_meta_init(e->zone.meta, zc->mode, zc->uid,
						zc->gid);
		if (err) {
			shmfs_log_sys(LOG_ERR, -err,
				      "zone \"%s\": initialising its robust "
				      "mutex failed",
				      zc->name);
			goto fail;
		}
		err = obtain_memory(tab, e, prev, sz);
		if (err) {
			i++; /* its fd is taken (closed) */
			goto fail;
		}
		/* A shared object's size is known once it is open. */
		e->zone.data = e->shm.addr;
		e->zone.capacity = e->shm.size;
		e->zone.fd = e->shm.fd;
		e->zone.fixed = shmfs_zone_config_fixed(zc);
		e->zone.foreign = shmfs_backend_info(zc->backend)->file_object;
		e->zone.allocate = e->zone.foreign && e->shm.fd >= 0;
		e->zone.program = zc->backend == SHMFS_BACKEND_PROCESS;
		e->zone.readonly = e->zone.program && !zc->writable;
		e->zone.detached = e->zone.program && e->shm.addr == NULL;
		if (e->zone.fixed) /* as long as its memory, from the start */
			atomic_store(&e->zone.meta->length, e->shm.size);
		tab->capacity += e->shm.size;
	}

	err = index_zones(tab);
	if (err)
		goto fail;
	shmfs_zonetab_measure_huge(tab);
	*tabp = tab;
	return 0;

fail:
	close_stored(st, i, cfg->nzones, !region_taken);
	shmfs_zonetab_destroy(tab);
	return err;
}

int shmfs_zonetab_create(const struct shmfs_config *cfg,
			 const struct shmfs_zonetab *prev,
			 struct shmfs_zonetab **tabp)
{
	return create(cfg, prev, NULL, tabp);
}

int shmfs_zonetab_restore(const struct shmfs_config *cfg,
			  const struct shmfs_zonetab_stored *st,
			  struct shmfs_zonetab **tabp)
{
	return create(cfg, NULL, st, tabp);
}

void shmfs_zonetab_adopt(struct shmfs_zonetab *tab, struct shmfs_zonetab *prev)
{
	for (size_t i = 0; i < tab->nzones; i++) {
		struct shmfs_zonetab_entry *e = &tab->entries[i];

		if (!e->borrowed)
			continue;
		long old = shmfs_zonetab_find(prev, e->conf.name, e->namelen);
		prev->entries[old].shm.addr = NULL;
		e->borrowed = false;
	}
}

size_t shmfs_zonetab_check_files(struct shmfs_zonetab *tab, bool stopping)
{
	size_t restored = 0;

	for (size_t i = 0; i < tab->nzones; i++) {
		struct shmfs_zonetab_entry *e = &tab->entries[i];
		int state = shmfs_shm_file_check(&e->shm, stopping);

		e->replaced = state == SHMFS_SHM_FILE_REPLACED;
		e->zone.fd = e->shm.fd; /* the restored file's, if it was */
		restored += state == SHMFS_SHM_FILE_RESTORED;
	}
	return restored;
}

static int by_start(const void *a, const void *b)
{
	const struct shmfs_huge_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

size_t shmfs_zonetab_measure_huge(struct shmfs_zonetab *tab)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), n = 0;
	struct shmfs_huge_range *r;

	for (size_t i = 0; i < tab->nzones; i++)
		n += tab->entries[i].shm.place.huge != SHMFS_HUGE_OFF &&
		     tab->entries[i].shm.addr != NULL;
	if (n == 0 || (r = calloc(n, sizeof(*r))) == NULL)
		return n;
	n = 0;
	for (size_t i = 0; i < tab->nzones; i++) {
		const struct shmfs_shm *shm = &tab->entries[i].shm;

		if (shm->place.huge == SHMFS_HUGE_OFF || shm->addr == NULL)
			continue;
		r[n].start = (uintptr_t)shm->addr;
		r[n].end = r[n].start + shmfs_huge_align_up(shm->size, page);
		r[n++].tag = i;
	}
	qsort(r, n, sizeof(*r), by_start);
	bool measured = shmfs_huge_measure_ranges(r, n) == 0;

	for (size_t k = 0; k < n; k++) {
		struct shmfs_zonetab_entry *e = &tab->entries[r[k].tag];

		atomic_store(&e->zone.meta->huge_bytes,
			     measured ? r[k].pmd : 0);
		atomic_store(&e->zone.meta->huge_wanted,
			     shmfs_huge_whole_end(e->shm.size));
	}
	free(r);
	return n;
}

void shmfs_zonetab_destroy(struct shmfs_zonetab *tab)
{
	if (tab == NULL)
		return;
	for (size_t i = 0; tab->entries && i < tab->nzones; i++) {
		struct shmfs_zonetab_entry *e = &tab->entries[i];

		if (e->zone.meta)
			shmfs_zone_meta_destroy(e->zone.meta);
		if (!e->borrowed)
			shmfs_shm_free(&e->shm);
		free(e->conf.object);
	}
	shmfs_shm_free(&tab->region_shm);
	free(tab->buckets);
	free(tab->ino_buckets);
	free(tab->entries);
	free(tab);
}

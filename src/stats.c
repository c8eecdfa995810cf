/* SPDX-License-Identifier: MIT */
/*
 * /.stats. Every figure is an atomic in the shared region, so any worker
 * renders the same numbers; a snapshot lives in a shared slot from open to
 * release. A slot is claimed with a compare-and-swap of its owner's pid, so
 * two workers never render into the same one.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shmfs/config.h"
#include "shmfs/stats.h"

struct slot {
	_Atomic pid_t owner; /* 0: free */
	_Atomic uid_t uid;   /* who opened it, while owned */
	size_t len;
	char text[];
};

static struct slot *slot_at(struct shmfs_stats *stats, unsigned i)
{
	return (struct slot *)((char *)stats->shm.addr + i * stats->slot_size);
}

int shmfs_stats_create(struct shmfs_stats *stats,
		       const struct shmfs_zonetab *tab)
{
	/* Generous: every number 20 digits, every name at its length. */
	size_t size = sizeof(struct slot) + 256 + SHMFS_WORKERS_MAX * 5 * 64;
	long page = sysconf(_SC_PAGESIZE);

	for (size_t i = 0; i < tab->nzones; i++)
		size += 8 * (tab->entries[i].namelen + 48);
	stats->slot_size = (size + page - 1) / page * page;
	stats->shm.backend = SHMFS_BACKEND_ANON;
	stats->shm.size = SHMFS_STATS_SLOTS * stats->slot_size;
	stats->shm.label = ".stats";
	return shmfs_shm_alloc(&stats->shm);
}

void shmfs_stats_destroy(struct shmfs_stats *stats)
{
	shmfs_shm_free(&stats->shm);
}

struct out {
	char *buf;
	size_t cap, len;
};

__attribute__((format(printf, 2, 3))) static void put(struct out *o,
						      const char *fmt, ...)
{
	va_list ap;

	if (o->len >= o->cap)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len += (size_t)n < o->cap - o->len ? (size_t)n
						      : o->cap - o->len;
}

static uint64_t get(const _Atomic uint64_t *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

/* Renders the text into buf (at most cap bytes); returns its length. */
static size_t render(const struct shmfs_zonetab *tab, char *buf, size_t cap)
{
	const struct shmfs_region *r = tab->region;
	struct out o = {buf, cap, 0};
	struct timespec now;
	unsigned nworkers = 0;

	clock_gettime(CLOCK_REALTIME, &now);
	for (unsigned i = 0; i < SHMFS_WORKERS_MAX; i++)
		nworkers += atomic_load(&r->workers[i].pid) != 0;
	put(&o, "uptime %lld\n", (long long)(now.tv_sec - r->started.tv_sec));
	put(&o, "reloads %" PRIu64 "\n", get(&r->reloads));
	put(&o, "respawns %" PRIu64 "\n", get(&r->respawns));
	put(&o, "workers %u\n", nworkers);
	for (unsigned i = 0; i < SHMFS_WORKERS_MAX; i++) {
		const struct shmfs_worker_slot *w = &r->workers[i];
		pid_t pid = atomic_load(&w->pid);

		if (pid == 0)
			continue;
		put(&o, "worker.%u.pid %d\n", i, (int)pid);
		put(&o, "worker.%u.requests %" PRIu64 "\n", i,
		    get(&w->requests));
		put(&o, "worker.%u.errors %" PRIu64 "\n", i, get(&w->errors));
		put(&o, "worker.%u.bytes_in %" PRIu64 "\n", i,
		    get(&w->bytes_in));
		put(&o, "worker.%u.bytes_out %" PRIu64 "\n", i,
		    get(&w->bytes_out));
	}
	put(&o, "zones %zu\n", tab->nzones);
	for (size_t i = 0; i < tab->nzones; i++) {
		const struct shmfs_zonetab_entry *e = &tab->entries[i];
		const struct shmfs_zone_meta *m = e->zone.meta;
		const char *z = e->conf.name;

		put(&o, "zone.%s.backend %s\n", z,
		    shmfs_shm_backend_name(e->conf.backend));
		put(&o, "zone.%s.cache %s\n", z,
		    shmfs_config_cache_name(e->cache));
		put(&o, "zone.%s.capacity %" PRIu64 "\n", z, e->zone.capacity);
		put(&o, "zone.%s.length %" PRIu64 "\n", z, get(&m->length));
		put(&o, "zone.%s.reads %" PRIu64 "\n", z, get(&m->reads));
		put(&o, "zone.%s.writes %" PRIu64 "\n", z, get(&m->writes));
		put(&o, "zone.%s.bytes_in %" PRIu64 "\n", z, get(&m->bytes_in));
		put(&o, "zone.%s.bytes_out %" PRIu64 "\n", z,
		    get(&m->bytes_out));
	}
	return o.len;
}

/* Slots uid holds now (a racing open of the same uid may pass by one). */
static unsigned held_by(struct shmfs_stats *stats, uid_t uid)
{
	unsigned n = 0;

	for (unsigned i = 0; i < SHMFS_STATS_SLOTS; i++) {
		struct slot *s = slot_at(stats, i);

		n += atomic_load(&s->owner) != 0 && atomic_load(&s->uid) == uid;
	}
	return n;
}

int shmfs_stats_open(struct shmfs_stats *stats, const struct shmfs_zonetab *tab,
		     uid_t uid, uint64_t *fh)
{
	unsigned slots = uid == 0 ? SHMFS_STATS_SLOTS
				  : SHMFS_STATS_SLOTS - SHMFS_STATS_ROOT;

	if (uid != 0 && held_by(stats, uid) >= SHMFS_STATS_PER_UID)
		return -EMFILE;
	for (unsigned i = 0; i < slots; i++) {
		struct slot *s = slot_at(stats, i);
		pid_t free_slot = 0;

		if (!atomic_compare_exchange_strong(&s->owner, &free_slot,
						    getpid()))
			continue;
		atomic_store(&s->uid, uid);
		s->len = render(tab, s->text, stats->slot_size - sizeof(*s));
		*fh = i;
		return 0;
	}
	return -ENFILE;
}

int shmfs_stats_read(struct shmfs_stats *stats, uint64_t fh, off_t off,
		     size_t size, const void **p, size_t *n)
{
	struct slot *s;

	if (fh >= SHMFS_STATS_SLOTS || off < 0)
		return -EINVAL;
	s = slot_at(stats, fh);
	*p = s->text;
	*n = 0;
	if ((uint64_t)off < s->len) {
		*p = s->text + off;
		*n = s->len - off < size ? s->len - off : size;
	}
	return 0;
}

void shmfs_stats_release(struct shmfs_stats *stats, uint64_t fh)
{
	struct slot *s;

	if (fh >= SHMFS_STATS_SLOTS)
		return;
	s = slot_at(stats, fh);
	s->len = 0;
	/* Give the text's pages back; the header page stays. */
	long page = sysconf(_SC_PAGESIZE);
	if (stats->slot_size > (size_t)page)
		madvise((char *)s + page, stats->slot_size - page, MADV_REMOVE);
	atomic_store(&s->owner, 0);
}

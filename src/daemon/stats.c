/* SPDX-License-Identifier: MIT */
/*
 * /.stats and /.metrics. Every figure is an atomic in the shared region, so
 * any worker renders the same numbers; a snapshot lives in a shared slot
 * from open to release. A slot is claimed with a compare-and-swap of its
 * owner's pid, so two workers never render into the same one.
 *
 * The figures are tables (daemon, worker, zone), each row naming its
 * /.stats field and its metric; one renderer per format walks them. A new
 * figure or label is one row, and shows in both files.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shmfs/config.h"
#include "shmfs/cycle.h"
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

struct out {
	char *buf;
	size_t cap, len;
	bool cut; /* something did not fit */
};

/* All n bytes or none (an escape is never cut in half), then nothing. */
static void put_bytes(struct out *o, const char *s, size_t n)
{
	if (o->cut || n > o->cap - o->len) {
		o->cut = true;
		return;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

__attribute__((format(printf, 2, 3))) static void put(struct out *o,
						      const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->cut)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= o->cap - o->len) { /* the NUL needs room too */
		o->cut = true;
		n = o->cap - o->len;
	}
	o->len += n;
}

/* A label value (exposition format): \ " and newline escaped. */
static void put_escaped(struct out *o, const char *s)
{
	for (; *s != '\0'; s++) {
		const char *esc = *s == '\\'   ? "\\\\"
				  : *s == '"'  ? "\\\""
				  : *s == '\n' ? "\\n"
					       : NULL;

		if (esc != NULL)
			put_bytes(o, esc, 2);
		else
			put_bytes(o, s, 1);
	}
}

size_t shmfs_stats_escape_label(char *dst, size_t cap, const char *src)
{
	size_t need = 0;

	for (const char *s = src; *s != '\0'; s++)
		need += strchr("\\\"\n", *s) != NULL ? 2 : 1;
	if (cap > 0) {
		struct out o = {dst, cap - 1, 0, false};

		put_escaped(&o, src);
		dst[o.len] = '\0';
	}
	return need;
}

static uint64_t get(const _Atomic uint64_t *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

/* ------------------------------------------------------------ the figures */

/* What a row names: its /.stats field and its metric. */
struct figure {
	const char *field;  /* /.stats: "reads" of zone.NAME.reads */
	const char *metric; /* /.metrics: the family's name */
	const char *type;   /* "counter" (metric ends in _total) or "gauge" */
	const char *help;
};

struct daemon_figure {
	struct figure f;
	uint64_t (*get)(const struct shmfs_region *r);
};

static uint64_t daemon_reloads(const struct shmfs_region *r)
{
	return get(&r->reloads);
}

static uint64_t daemon_respawns(const struct shmfs_region *r)
{
	return get(&r->respawns);
}

static uint64_t daemon_stops(const struct shmfs_region *r)
{
	return get(&r->stops);
}

static uint64_t daemon_log_dropped(const struct shmfs_region *r)
{
	return get(&r->log_dropped);
}

/* After uptime, whose value is a time, not a count. */
static const struct daemon_figure daemon_figures[] = {
	{{"reloads", "shmfs_reloads_total", "counter",
	  "Configuration reloads (SIGHUP) since the mount."},
	 daemon_reloads},
	{{"respawns", "shmfs_respawns_total", "counter",
	  "Workers replaced since the mount."},
	 daemon_respawns},
	{{"stops", "shmfs_worker_stops_total", "counter",
	  "Workers found stopped by a signal (and continued) since the "
	  "mount."},
	 daemon_stops},
	{{"log_dropped", "shmfs_log_dropped_total", "counter",
	  "Workers' log lines lost because the pipe to the master was full."},
	 daemon_log_dropped},
};

struct worker_figure {
	struct figure f;
	uint64_t (*get)(const struct shmfs_worker_slot *w);
};

static uint64_t worker_pid(const struct shmfs_worker_slot *w)
{
	return (uint64_t)atomic_load(&w->pid);
}

static uint64_t worker_requests(const struct shmfs_worker_slot *w)
{
	return get(&w->requests);
}

static uint64_t worker_errors(const struct shmfs_worker_slot *w)
{
	return get(&w->errors);
}

static uint64_t worker_bytes_in(const struct shmfs_worker_slot *w)
{
	return get(&w->bytes_in);
}

static uint64_t worker_bytes_out(const struct shmfs_worker_slot *w)
{
	return get(&w->bytes_out);
}

static const struct worker_figure worker_figures[] = {
	{{"pid", "shmfs_worker_pid", "gauge",
	  "Process id of the worker in this slot."},
	 worker_pid},
	{{"requests", "shmfs_worker_requests_total", "counter",
	  "Requests the worker in this slot served (from 0 at its start)."},
	 worker_requests},
	{{"errors", "shmfs_worker_errors_total", "counter",
	  "Requests the worker in this slot answered with an error."},
	 worker_errors},
	{{"bytes_in", "shmfs_worker_written_bytes_total", "counter",
	  "Bytes the worker in this slot wrote into zones."},
	 worker_bytes_in},
	{{"bytes_out", "shmfs_worker_read_bytes_total", "counter",
	  "Bytes the worker in this slot read from zones."},
	 worker_bytes_out},
};
#define NWORKER_FIGURES (sizeof(worker_figures) / sizeof(worker_figures[0]))

/*
 * A zone's labels: words that describe it (in /.stats "zone.NAME.backend
 * anon"; in /.metrics labels of shmfs_zone_info). buf, of LABEL_MAX bytes,
 * holds what is formatted: the longest label is the object's.
 */
#define LABEL_MAX SHMFS_SHM_DESCRIBE_MAX

struct zone_label {
	const char *field;
	const char *(*get)(const struct shmfs_cycle *c,
			   struct shmfs_zonetab_entry *e, char *buf,
			   size_t cap);
};

static const char *zone_backend(const struct shmfs_cycle *c,
				struct shmfs_zonetab_entry *e, char *buf,
				size_t cap)
{
	(void)c, (void)buf, (void)cap;
	return shmfs_shm_backend_name(e->conf.backend);
}

/* The mode the zone runs in: page where passthrough could not be had. */
static const char *zone_cache(const struct shmfs_cycle *c,
			      struct shmfs_zonetab_entry *e, char *buf,
			      size_t cap)
{
	(void)buf, (void)cap;
	return shmfs_config_cache_name(shmfs_cycle_zone(c, e)->cache);
}

/* The permission bits as chmod(1) takes them; they change at run time. */
static const char *zone_mode(const struct shmfs_cycle *c,
			     struct shmfs_zonetab_entry *e, char *buf,
			     size_t cap)
{
	struct stat st;

	(void)c;
	if (shmfs_zone_stat(&e->zone, &st) < 0)
		return "?";
	snprintf(buf, cap, "%04o", (unsigned)(st.st_mode & 07777));
	return buf;
}

/*
 * What other programs know the zone's memory by: "/NAME", "key 0x2a",
 * "PATH", with " attach" and " keep"; "-" for private memory.
 */
static const char *zone_object(const struct shmfs_cycle *c,
			       struct shmfs_zonetab_entry *e, char *buf,
			       size_t cap)
{
	(void)c;
	shmfs_shm_describe(&e->shm, buf, cap);
	return buf;
}

static const struct zone_label zone_labels[] = {
	{"backend", zone_backend},
	{"object", zone_object},
	{"cache", zone_cache},
	{"mode", zone_mode},
};
#define NZONE_LABELS (sizeof(zone_labels) / sizeof(zone_labels[0]))

struct zone_figure {
	struct figure f;
	uint64_t (*get)(struct shmfs_zonetab_entry *e);
};

static uint64_t zone_capacity(struct shmfs_zonetab_entry *e)
{
	return e->zone.capacity;
}

static uint64_t zone_length(struct shmfs_zonetab_entry *e)
{
	return get(&e->zone.meta->length);
}

static uint64_t zone_used(struct shmfs_zonetab_entry *e)
{
	return shmfs_zone_used(&e->zone);
}

static uint64_t zone_reads(struct shmfs_zonetab_entry *e)
{
	return get(&e->zone.meta->reads);
}

static uint64_t zone_writes(struct shmfs_zonetab_entry *e)
{
	return get(&e->zone.meta->writes);
}

static uint64_t zone_bytes_in(struct shmfs_zonetab_entry *e)
{
	return get(&e->zone.meta->bytes_in);
}

static uint64_t zone_bytes_out(struct shmfs_zonetab_entry *e)
{
	return get(&e->zone.meta->bytes_out);
}

static const struct zone_figure zone_figures[] = {
	{{"capacity", "shmfs_zone_capacity_bytes", "gauge",
	  "Configured size of the zone."},
	 zone_capacity},
	{{"length", "shmfs_zone_length_bytes", "gauge",
	  "Length of the zone file (st_size)."},
	 zone_length},
	{{"used", "shmfs_zone_used_bytes", "gauge",
	  "Bytes of the zone in use, as df counts them: the length, or the "
	  "memory a fixed-size zone holds."},
	 zone_used},
	{{"reads", "shmfs_zone_reads_total", "counter",
	  "Read requests that reached a worker."},
	 zone_reads},
	{{"writes", "shmfs_zone_writes_total", "counter",
	  "Write requests that reached a worker."},
	 zone_writes},
	{{"bytes_in", "shmfs_zone_written_bytes_total", "counter",
	  "Bytes written into the zone by workers."},
	 zone_bytes_in},
	{{"bytes_out", "shmfs_zone_read_bytes_total", "counter",
	  "Bytes read from the zone by workers."},
	 zone_bytes_out},
};
#define NZONE_FIGURES (sizeof(zone_figures) / sizeof(zone_figures[0]))

static unsigned count_workers(const struct shmfs_region *r)
{
	unsigned n = 0;

	for (unsigned i = 0; i < SHMFS_WORKERS_MAX; i++)
		n += atomic_load(&r->workers[i].pid) != 0;
	return n;
}

/* ------------------------------------------------------------ /.stats */

static void render_text(const struct shmfs_cycle *c, struct out *o)
{
	const struct shmfs_zonetab *tab = c->tab;
	const struct shmfs_region *r = tab->region;
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	put(o, "uptime %lld\n", (long long)(now.tv_sec - r->started.tv_sec));
	for (size_t k = 0; k < sizeof(daemon_figures) / sizeof(*daemon_figures);
	     k++)
		put(o, "%s %" PRIu64 "\n", daemon_figures[k].f.field,
		    daemon_figures[k].get(r));
	put(o, "workers %u\n", count_workers(r));
	for (unsigned i = 0; i < SHMFS_WORKERS_MAX; i++) {
		const struct shmfs_worker_slot *w = &r->workers[i];

		if (atomic_load(&w->pid) == 0)
			continue;
		for (size_t k = 0; k < NWORKER_FIGURES; k++)
			put(o, "worker.%u.%s %" PRIu64 "\n", i,
			    worker_figures[k].f.field,
			    worker_figures[k].get(w));
	}
	put(o, "zones %zu\n", tab->nzones);
	for (size_t i = 0; i < tab->nzones; i++) {
		struct shmfs_zonetab_entry *e = &tab->entries[i];
		char buf[LABEL_MAX];

		for (size_t k = 0; k < NZONE_LABELS; k++)
			put(o, "zone.%s.%s %s\n", e->conf.name,
			    zone_labels[k].field,
			    zone_labels[k].get(c, e, buf, sizeof(buf)));
		for (size_t k = 0; k < NZONE_FIGURES; k++)
			put(o, "zone.%s.%s %" PRIu64 "\n", e->conf.name,
			    zone_figures[k].f.field, zone_figures[k].get(e));
	}
}

/* ------------------------------------------------------------ /.metrics */

static void put_family(struct out *o, const char *metric, const char *type,
		       const char *help)
{
	put(o, "# HELP %s %s\n# TYPE %s %s\n", metric, help, metric, type);
}

/* "METRIC{zone="NAME"": the caller adds labels and closes the braces. */
static void put_zone_sample(struct out *o, const char *metric,
			    struct shmfs_zonetab_entry *e)
{
	put(o, "%s{zone=\"", metric);
	put_escaped(o, e->conf.name);
	put(o, "\"");
}

static void render_prometheus(const struct shmfs_cycle *c, struct out *o)
{
	const struct shmfs_zonetab *tab = c->tab;
	const struct shmfs_region *r = tab->region;
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	put_family(o, "shmfs_start_time_seconds", "gauge",
		   "Time of the mount, in seconds since the Epoch.");
	put(o, "shmfs_start_time_seconds %lld.%09ld\n",
	    (long long)r->started.tv_sec, r->started.tv_nsec);
	put_family(o, "shmfs_uptime_seconds", "gauge",
		   "Seconds since the mount (/.stats uptime).");
	put(o, "shmfs_uptime_seconds %lld\n",
	    (long long)(now.tv_sec - r->started.tv_sec));
	for (size_t k = 0; k < sizeof(daemon_figures) / sizeof(*daemon_figures);
	     k++) {
		const struct figure *f = &daemon_figures[k].f;

		put_family(o, f->metric, f->type, f->help);
		put(o, "%s %" PRIu64 "\n", f->metric, daemon_figures[k].get(r));
	}
	put_family(o, "shmfs_workers", "gauge", "Worker processes running.");
	put(o, "shmfs_workers %u\n", count_workers(r));
	for (size_t k = 0; k < NWORKER_FIGURES; k++) {
		const struct figure *f = &worker_figures[k].f;

		put_family(o, f->metric, f->type, f->help);
		for (unsigned i = 0; i < SHMFS_WORKERS_MAX; i++) {
			const struct shmfs_worker_slot *w = &r->workers[i];

			if (atomic_load(&w->pid) == 0)
				continue;
			put(o, "%s{worker=\"%u\"} %" PRIu64 "\n", f->metric, i,
			    worker_figures[k].get(w));
		}
	}
	put_family(o, "shmfs_zones", "gauge", "Zones in the configuration.");
	put(o, "shmfs_zones %zu\n", tab->nzones);
	put_family(o, "shmfs_zone_info", "gauge",
		   "Always 1; the labels describe the zone.");
	for (size_t i = 0; i < tab->nzones; i++) {
		struct shmfs_zonetab_entry *e = &tab->entries[i];
		char buf[LABEL_MAX];

		put_zone_sample(o, "shmfs_zone_info", e);
		for (size_t k = 0; k < NZONE_LABELS; k++) {
			put(o, ",%s=\"", zone_labels[k].field);
			put_escaped(o,
				    zone_labels[k].get(c, e, buf, sizeof(buf)));
			put(o, "\"");
		}
		put(o, "} 1\n");
	}
	for (size_t k = 0; k < NZONE_FIGURES; k++) {
		const struct figure *f = &zone_figures[k].f;

		put_family(o, f->metric, f->type, f->help);
		for (size_t i = 0; i < tab->nzones; i++) {
			put_zone_sample(o, f->metric, &tab->entries[i]);
			put(o, "} %" PRIu64 "\n",
			    zone_figures[k].get(&tab->entries[i]));
		}
	}
}

/* ------------------------------------------------------------ the slots */

/*
 * The longest line of each kind without the zone name in it, with every
 * value at 20 digits, so that a snapshot always fits its slot (a text cut
 * short would read as a whole one: shmfs_stats_open refuses it instead):
 * a worker's line is at most 68 bytes
 * (shmfs_worker_written_bytes_total{worker="255"} 18446744073709551615), a
 * zone's lines at most 504 in /.metrics (shmfs_zone_info with the longest
 * backend and cache names, then 7 figures of at most 61) and 337 in /.stats,
 * plus the name once a line (zone names need no escaping). A label or
 * figure added to the tables above must be counted here too.
 */
#define WORKER_LINE 96
#define ZONE_FIXED 768
/* The HELP and TYPE lines (about 3.6 KiB) and the daemon's own figures. */
#define HEADER 8192

int shmfs_stats_create(struct shmfs_stats *stats,
		       const struct shmfs_zonetab *tab)
{
	size_t size = sizeof(struct slot) + HEADER +
		      SHMFS_WORKERS_MAX * NWORKER_FIGURES * WORKER_LINE;
	long page = sysconf(_SC_PAGESIZE);

	for (size_t i = 0; i < tab->nzones; i++) {
		const struct shmfs_zonetab_entry *e = &tab->entries[i];
		char object[SHMFS_SHM_DESCRIBE_MAX];

		shmfs_shm_describe(&e->shm, object, sizeof(object));
		size += ZONE_FIXED + 3 * strlen(object) +
			(NZONE_LABELS + NZONE_FIGURES) * e->namelen;
	}
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

int shmfs_stats_open(struct shmfs_stats *stats, const struct shmfs_cycle *cycle,
		     enum shmfs_stats_format format, uid_t uid, uint64_t *fh)
{
	unsigned slots = uid == 0 ? SHMFS_STATS_SLOTS
				  : SHMFS_STATS_SLOTS - SHMFS_STATS_ROOT;

	if (uid != 0 && held_by(stats, uid) >= SHMFS_STATS_PER_UID)
		return -EMFILE;
	for (unsigned i = 0; i < slots; i++) {
		struct slot *s = slot_at(stats, i);
		struct out o = {s->text, stats->slot_size - sizeof(*s), 0,
				false};
		pid_t free_slot = 0;

		if (!atomic_compare_exchange_strong(&s->owner, &free_slot,
						    getpid()))
			continue;
		atomic_store(&s->uid, uid);
		if (format == SHMFS_STATS_PROMETHEUS)
			render_prometheus(cycle, &o);
		else
			render_text(cycle, &o);
		s->len = o.len;
		*fh = i;
		if (o.cut) { /* a cut text would be read as a whole one */
			shmfs_stats_release(stats, i);
			return -EOVERFLOW;
		}
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

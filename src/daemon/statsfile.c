/* SPDX-License-Identifier: MIT */
/*
 * /.stats and /.metrics, rendered from the table of figures (figures.h)
 * into a shared arena of snapshots. A snapshot lives in a slot from open to
 * release; a slot is claimed with a compare-and-swap of its owner's pid, so
 * two workers never render into the same one. Each renderer walks the
 * table in runs of one scope (the daemon, the workers, the zones), so a
 * figure added to the table shows in both files, and the slots grow for it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shmfs/cycle.h"
#include "shmfs/figures.h"
#include "shmfs/log.h"
#include "shmfs/region.h"
#include "shmfs/shm.h"
#include "shmfs/statsfile.h"
#include "shmfs/zonetab.h"

struct slot {
	_Atomic pid_t owner; /* 0: free */
	_Atomic uid_t uid;   /* who opened it, while owned */
	size_t len;
	char text[];
};

static struct slot *slot_at(struct shmfs_statsfile *sf, unsigned i)
{
	return (struct slot *)((char *)sf->addr + i * sf->slot_size);
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

size_t shmfs_statsfile_escape_label(char *dst, size_t cap, const char *src)
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

/* A number, or a time with its decimals ("1700000000.123456789"). */
static void put_value(struct out *o, const struct shmfs_figure *f, uint64_t v)
{
	uint64_t scale = 1;

	if (f->decimals == 0) {
		put(o, "%" PRIu64 "\n", v);
		return;
	}
	for (unsigned i = 0; i < f->decimals; i++)
		scale *= 10;
	put(o, "%" PRIu64 ".%0*" PRIu64 "\n", v / scale, (int)f->decimals,
	    v % scale);
}

/*
 * A zone's label is formatted into a buffer of LABEL_MAX bytes: the longest
 * is the object's.
 */
#define LABEL_MAX SHMFS_SHM_DESCRIBE_MAX

/* The records of scope: the daemon, every worker slot, every zone. */
static size_t records(const struct shmfs_zonetab *tab,
		      enum shmfs_figure_scope scope)
{
	return scope == SHMFS_FIGURE_DAEMON   ? 1
	       : scope == SHMFS_FIGURE_WORKER ? SHMFS_WORKERS_MAX
					      : tab->nzones;
}

/*
 * Points at at record i of scope; false for a free worker slot. A zone's
 * cache mode is the one it runs in under cycle, or (sizing the slots, no
 * cycle yet) the one its configuration asks for.
 */
static bool select_record(struct shmfs_figure_at *at,
			  const struct shmfs_cycle *cycle,
			  enum shmfs_figure_scope scope, size_t i)
{
	if (scope == SHMFS_FIGURE_WORKER) {
		at->worker = &at->tab->region->workers[i];
		return atomic_load(&at->worker->pid) != 0;
	}
	if (scope == SHMFS_FIGURE_ZONE) {
		at->zone = &at->tab->entries[i];
		at->cache = cycle ? shmfs_cycle_zone(cycle, at->zone)->cache
				  : at->zone->conf.cache;
	}
	return true;
}

/* ------------------------------------------------------------ /.stats */

/* A worker's or a zone's lines start with "worker.SLOT." or "zone.NAME.". */
static void put_prefix(struct out *o, const struct shmfs_figure_at *at,
		       enum shmfs_figure_scope scope, size_t i)
{
	if (scope == SHMFS_FIGURE_WORKER)
		put(o, "worker.%zu.", i);
	else if (scope == SHMFS_FIGURE_ZONE)
		put(o, "zone.%s.", at->zone->conf.name);
}

/* The lines of the figures [k, end) of one record. */
static void put_lines(struct out *o, const struct shmfs_figure_at *at, size_t i,
		      size_t k, size_t end)
{
	char buf[LABEL_MAX];

	for (; k < end; k++) {
		const struct shmfs_figure *f = &shmfs_figures[k];

		if (f->name == NULL)
			continue;
		put_prefix(o, at, f->scope, i);
		if (f->type == SHMFS_FIGURE_LABEL) {
			put(o, "%s %s\n", f->name,
			    shmfs_figure_text(f, at, buf, sizeof(buf)));
			continue;
		}
		put(o, "%s ", f->name);
		put_value(o, f, shmfs_figure_value(f, at));
	}
}

/* Record by record: all the lines of a worker or a zone are together. */
static void render_text(const struct shmfs_cycle *cycle, struct out *o)
{
	const struct shmfs_zonetab *tab = cycle->tab;
	struct shmfs_figure_at at = {.tab = tab};

	clock_gettime(CLOCK_REALTIME, &at.now);
	for (size_t k = 0, end; k < SHMFS_FIGURES; k = end) {
		enum shmfs_figure_scope scope = shmfs_figures[k].scope;

		end = shmfs_figure_run_end(k);
		for (size_t i = 0; i < records(tab, scope); i++)
			if (select_record(&at, cycle, scope, i))
				put_lines(o, &at, i, k, end);
	}
}

/* ------------------------------------------------------------ /.metrics */

static void put_family(struct out *o, const struct shmfs_figure *f)
{
	put(o, "# HELP %s %s\n# TYPE %s %s\n", f->metric, f->help, f->metric,
	    shmfs_figure_type_name(f->type));
}

/*
 * "{worker="SLOT"" or "{zone="NAME"", the braces left open; false for the
 * daemon, whose samples have no label.
 */
static bool put_record_label(struct out *o, const struct shmfs_figure_at *at,
			     enum shmfs_figure_scope scope, size_t i)
{
	if (scope == SHMFS_FIGURE_WORKER) {
		put(o, "{worker=\"%zu\"", i);
		return true;
	}
	if (scope == SHMFS_FIGURE_ZONE) {
		put(o, "{zone=\"");
		put_escaped(o, at->zone->conf.name);
		put(o, "\"");
		return true;
	}
	return false;
}

/* The sample of figure k for one record; an info's labels follow it. */
static void put_sample(struct out *o, const struct shmfs_figure_at *at,
		       size_t i, size_t k, size_t end)
{
	const struct shmfs_figure *f = &shmfs_figures[k];
	char buf[LABEL_MAX];
	bool open;

	put(o, "%s", f->metric);
	open = put_record_label(o, at, f->scope, i);
	for (size_t j = k + 1; f->type == SHMFS_FIGURE_INFO && j < end &&
			       shmfs_figures[j].type == SHMFS_FIGURE_LABEL;
	     j++) {
		put(o, "%s%s=\"", open ? "," : "{", shmfs_figures[j].name);
		put_escaped(o, shmfs_figure_text(&shmfs_figures[j], at, buf,
						 sizeof(buf)));
		put(o, "\"");
		open = true;
	}
	put(o, open ? "} " : " ");
	if (f->type == SHMFS_FIGURE_INFO)
		put(o, "1\n");
	else
		put_value(o, f, shmfs_figure_value(f, at));
}

/* Family by family: each announced once, then its sample of each record. */
static void render_prometheus(const struct shmfs_cycle *cycle, struct out *o)
{
	const struct shmfs_zonetab *tab = cycle->tab;
	struct shmfs_figure_at at = {.tab = tab};

	clock_gettime(CLOCK_REALTIME, &at.now);
	for (size_t k = 0; k < SHMFS_FIGURES; k++) {
		const struct shmfs_figure *f = &shmfs_figures[k];
		size_t end = shmfs_figure_run_end(k);

		if (f->type == SHMFS_FIGURE_LABEL)
			continue; /* in its info's samples */
		put_family(o, f);
		for (size_t i = 0; i < records(tab, f->scope); i++)
			if (select_record(&at, cycle, f->scope, i))
				put_sample(o, &at, i, k, end);
	}
}

/* ------------------------------------------------------------ the slots */

/*
 * The longest a snapshot can be, computed from the table so that a figure
 * added there is counted too: a snapshot that did not fit would be cut, and
 * a cut text read as a whole one (shmfs_statsfile_open refuses it instead).
 * Every number at 20 digits (and its decimals), every name and label value
 * escaped (twice its length in /.metrics). A label is its value now (the
 * object, fixed for the configuration) or a word that may change under it
 * (the mode, the cache mode), of at most LABEL_WORD bytes.
 */
#define NUMBER_MAX 20
#define LABEL_WORD 16

struct bound {
	size_t text, prom;
	size_t prefix, label; /* what the record adds to each line */
};

static size_t word_bound(const struct shmfs_figure *f,
			 const struct shmfs_figure_at *at)
{
	char buf[LABEL_MAX];
	size_t n = strlen(shmfs_figure_text(f, at, buf, sizeof(buf)));

	return n > LABEL_WORD ? n : LABEL_WORD;
}

/* The lines of the figures [k, end) of one record, in either file. */
static void add_lines(struct bound *b, const struct shmfs_figure_at *at,
		      size_t k, size_t end)
{
	for (size_t j = k; j < end; j++) {
		const struct shmfs_figure *f = &shmfs_figures[j];
		bool label = f->type == SHMFS_FIGURE_LABEL;
		size_t value = label ? word_bound(f, at)
				     : NUMBER_MAX + f->decimals + 1;

		if (f->name != NULL) /* "PREFIXNAME VALUE\n" */
			b->text += b->prefix + strlen(f->name) + value + 2;
		if (label)
			continue;
		/* "METRIC{LABEL,NAME="VALUE"...} VALUE\n" */
		b->prom += strlen(f->metric) + b->label + value + 3;
		for (size_t l = j + 1;
		     f->type == SHMFS_FIGURE_INFO && l < end &&
		     shmfs_figures[l].type == SHMFS_FIGURE_LABEL;
		     l++)
			b->prom += strlen(shmfs_figures[l].name) +
				   2 * word_bound(&shmfs_figures[l], at) + 4;
	}
}

static size_t snapshot_bound(const struct shmfs_zonetab *tab)
{
	struct shmfs_figure_at at = {.tab = tab};
	struct bound b = {0};

	for (size_t k = 0; k < SHMFS_FIGURES; k++) /* HELP and TYPE lines */
		if (shmfs_figures[k].type != SHMFS_FIGURE_LABEL)
			b.prom += 2 * strlen(shmfs_figures[k].metric) +
				  strlen(shmfs_figures[k].help) + 7 + 18;
	for (size_t k = 0, end; k < SHMFS_FIGURES; k = end) {
		enum shmfs_figure_scope scope = shmfs_figures[k].scope;

		end = shmfs_figure_run_end(k);
		for (size_t i = 0; i < records(tab, scope); i++) {
			select_record(&at, NULL, scope, i);
			b.prefix = b.label = 0;
			if (scope == SHMFS_FIGURE_WORKER) {
				b.prefix = sizeof("worker.255.") - 1;
				b.label = sizeof("{worker=\"255\"") - 1;
			} else if (scope == SHMFS_FIGURE_ZONE) {
				b.prefix =
					sizeof("zone..") - 1 + at.zone->namelen;
				b.label = sizeof("{zone=\"\"") - 1 +
					  2 * at.zone->namelen;
			}
			add_lines(&b, &at, k, end);
		}
	}
	/* The NUL that vsnprintf writes needs room too. */
	return (b.text > b.prom ? b.text : b.prom) + 1;
}

_Static_assert(SHMFS_WORKERS_MAX <= 256, "worker.255. is the longest prefix");

static size_t slot_size(const struct shmfs_zonetab *tab)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t size = sizeof(struct slot) + snapshot_bound(tab);

	return (size + page - 1) / page * page;
}

int shmfs_statsfile_restore(struct shmfs_statsfile *sf,
			    const struct shmfs_zonetab *tab, int fd)
{
	struct stat st;

	sf->slot_size = slot_size(tab);
	sf->addr = NULL;
	sf->fd = -1;
	if (fstat(fd, &st) < 0 ||
	    (uint64_t)st.st_size != SHMFS_STATSFILE_SLOTS * sf->slot_size) {
		close(fd);
		return -ESTALE;
	}
	sf->addr = mmap(NULL, SHMFS_STATSFILE_SLOTS * sf->slot_size,
			PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (sf->addr == MAP_FAILED) {
		close(fd);
		sf->addr = NULL;
		return -ESTALE;
	}
	sf->fd = fd;
	return 0;
}

int shmfs_statsfile_create(struct shmfs_statsfile *sf,
			   const struct shmfs_zonetab *tab)
{
	sf->fd = -1;
	sf->slot_size = slot_size(tab);
	sf->addr =
		mmap(NULL, SHMFS_STATSFILE_SLOTS * sf->slot_size,
		     PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sf->addr == MAP_FAILED) {
		int err = errno;

		shmfs_log_sys(
			LOG_ERR, err,
			"mmap(MAP_ANON|MAP_SHARED, %zu) of the /.stats and "
			"/.metrics snapshots (%d slots of %zu) failed",
			SHMFS_STATSFILE_SLOTS * sf->slot_size,
			SHMFS_STATSFILE_SLOTS, sf->slot_size);
		sf->addr = NULL;
		return -err;
	}
	/* Its file, for a successor to map (root: /proc/self/map_files). */
	struct shmfs_shm shm = {
		.addr = sf->addr,
		.size = SHMFS_STATSFILE_SLOTS * sf->slot_size,
	};
	sf->fd = shmfs_shm_memory_file(&shm);
	if (sf->fd < 0)
		sf->fd = -1; /* not root: a successor does without */
	return 0;
}

void shmfs_statsfile_destroy(struct shmfs_statsfile *sf)
{
	if (sf->addr != NULL &&
	    munmap(sf->addr, SHMFS_STATSFILE_SLOTS * sf->slot_size) < 0)
		shmfs_log_sys(LOG_ERR, errno,
			      "munmap(%p, %zu) of the /.stats snapshots failed",
			      sf->addr, SHMFS_STATSFILE_SLOTS * sf->slot_size);
	/* (A cycle that never made its arena has fd 0 from calloc.) */
	if (sf->addr != NULL && sf->fd >= 0)
		close(sf->fd);
	sf->addr = NULL;
	sf->fd = -1;
}

/* Slots uid holds now (a racing open of the same uid may pass by one). */
static unsigned held_by(struct shmfs_statsfile *sf, uid_t uid)
{
	unsigned n = 0;

	for (unsigned i = 0; i < SHMFS_STATSFILE_SLOTS; i++) {
		struct slot *s = slot_at(sf, i);

		n += atomic_load(&s->owner) != 0 && atomic_load(&s->uid) == uid;
	}
	return n;
}

int shmfs_statsfile_open(struct shmfs_statsfile *sf,
			 const struct shmfs_cycle *cycle,
			 enum shmfs_statsfile_format format, uid_t uid,
			 uint64_t *fh)
{
	unsigned slots = uid == 0
				 ? SHMFS_STATSFILE_SLOTS
				 : SHMFS_STATSFILE_SLOTS - SHMFS_STATSFILE_ROOT;

	if (uid != 0 && held_by(sf, uid) >= SHMFS_STATSFILE_PER_UID)
		return -EMFILE;
	for (unsigned i = 0; i < slots; i++) {
		struct slot *s = slot_at(sf, i);
		struct out o = {s->text, sf->slot_size - sizeof(*s), 0, false};
		pid_t free_slot = 0;

		if (!atomic_compare_exchange_strong(&s->owner, &free_slot,
						    getpid()))
			continue;
		atomic_store(&s->uid, uid);
		if (format == SHMFS_STATSFILE_PROMETHEUS)
			render_prometheus(cycle, &o);
		else
			render_text(cycle, &o);
		s->len = o.len;
		*fh = i;
		if (o.cut) { /* a cut text would be read as a whole one */
			shmfs_statsfile_release(sf, i);
			return -EOVERFLOW;
		}
		return 0;
	}
	return -ENFILE;
}

int shmfs_statsfile_read(struct shmfs_statsfile *sf, uint64_t fh, off_t off,
			 size_t size, const void **p, size_t *n)
{
	struct slot *s;

	if (fh >= SHMFS_STATSFILE_SLOTS || off < 0)
		return -EINVAL;
	s = slot_at(sf, fh);
	*p = s->text;
	*n = 0;
	if ((uint64_t)off < s->len) {
		*p = s->text + off;
		*n = s->len - off < size ? s->len - off : size;
	}
	return 0;
}

void shmfs_statsfile_release(struct shmfs_statsfile *sf, uint64_t fh)
{
	struct slot *s;

	if (fh >= SHMFS_STATSFILE_SLOTS)
		return;
	s = slot_at(sf, fh);
	s->len = 0;
	/* Give the text's pages back; the header page stays. */
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	if (sf->slot_size > page &&
	    madvise((char *)s + page, sf->slot_size - page, MADV_REMOVE) < 0) {
		static bool said; /* the pages stay: nothing else is lost */

		if (!said)
			shmfs_log_sys(LOG_WARNING, errno,
				      "madvise(%p, %zu, MADV_REMOVE) of a "
				      "/.stats snapshot failed",
				      (void *)((char *)s + page),
				      sf->slot_size - page);
		said = true;
	}
	atomic_store(&s->owner, 0);
}

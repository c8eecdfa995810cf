/* SPDX-License-Identifier: MIT */
/*
 * The text of /.stats into records, by the table of figures: a line's name
 * says the scope (worker.SLOT.NAME, zone.ZONE.NAME, or the daemon's NAME)
 * and the table the figure. A name the table does not have is skipped, so
 * a newer daemon's /.stats still reads.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "shmfs/figures.h"
#include "shmfs/status.h"

struct parse {
	struct shmfs_status *st;
	size_t cap_workers, cap_zones;
	int line;
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 2, 3))) static int perr(struct parse *p,
						      const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(p->err, p->errlen, "%d: ", p->line);

	if (n >= 0 && (size_t)n < p->errlen) {
		va_start(ap, fmt);
		vsnprintf(p->err + n, p->errlen - n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* Digits only, no sign, no blank, at most UINT64_MAX. */
static int number(const char *s, size_t len, uint64_t *v)
{
	uint64_t x = 0;

	if (len == 0 || len > 20)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		unsigned d = (unsigned char)s[i] - '0';

		if (d > 9 || x > (UINT64_MAX - d) / 10)
			return -EINVAL;
		x = x * 10 + d;
	}
	*v = x;
	return 0;
}

static void *grow(void *arr, size_t n, size_t *cap, size_t size)
{
	void *p;

	if (n < *cap)
		return arr;
	*cap = *cap ? *cap * 2 : 16;
	p = realloc(arr, *cap * size);
	if (p != NULL)
		memset((char *)p + n * size, 0, (*cap - n) * size);
	return p;
}

static struct shmfs_status_record *worker_at(struct parse *p, unsigned slot)
{
	struct shmfs_status *st = p->st;
	struct shmfs_status_record *w;

	/*
	 * The lines of one worker come together, so only the last can be
	 * this one. (Lines apart would make two records of one slot.)
	 */
	if (st->nworkers > 0 && st->workers[st->nworkers - 1].slot == slot)
		return &st->workers[st->nworkers - 1];
	w = grow(st->workers, st->nworkers, &p->cap_workers, sizeof(*w));
	if (w == NULL)
		return NULL;
	st->workers = w;
	w = &st->workers[st->nworkers++];
	w->slot = slot;
	return w;
}

static struct shmfs_status_record *zone_at(struct parse *p, const char *name,
					   size_t len)
{
	struct shmfs_status *st = p->st;
	struct shmfs_status_record *z;

	/* As for workers: a zone's lines come together (and the count of
	 * zones catches a text where they would not). */
	if (st->nzones > 0) {
		z = &st->zones[st->nzones - 1];
		if (strlen(z->name) == len && memcmp(z->name, name, len) == 0)
			return z;
	}
	z = grow(st->zones, st->nzones, &p->cap_zones, sizeof(*z));
	if (z == NULL)
		return NULL;
	st->zones = z;
	z = &st->zones[st->nzones];
	z->name = strndup(name, len);
	if (z->name == NULL)
		return NULL;
	st->nzones++;
	return z;
}

/* The value v (vlen bytes) of figure f into rec; key names the line. */
static int set(struct parse *p, struct shmfs_status_record *rec,
	       const struct shmfs_figure *f, const char *key, size_t klen,
	       const char *v, size_t vlen)
{
	size_t k = (size_t)(f - shmfs_figures);

	if (f->type == SHMFS_FIGURE_LABEL) {
		free(rec->text[k]);
		rec->text[k] = strndup(v, vlen);
		if (rec->text[k] == NULL)
			return -ENOMEM;
	} else if (number(v, vlen, &rec->value[k]) < 0) {
		return perr(p, "%.*s: \"%.*s\" is not a number", (int)klen, key,
			    (int)vlen, v);
	}
	rec->has[k] = true;
	return 0;
}

/* worker.SLOT.NAME */
static int worker_line(struct parse *p, const char *key, size_t klen,
		       const char *v, size_t vlen)
{
	const char *rest = key + 7, *dot = memchr(rest, '.', klen - 7);
	const struct shmfs_figure *f;
	uint64_t slot;

	if (dot == NULL || number(rest, dot - rest, &slot) < 0 || slot > 65535)
		return perr(p, "%.*s: not worker.SLOT.FIELD", (int)klen, key);
	f = shmfs_figure_find(SHMFS_FIGURE_WORKER, dot + 1,
			      key + klen - dot - 1);
	if (f == NULL)
		return 0;
	struct shmfs_status_record *w = worker_at(p, (unsigned)slot);
	if (w == NULL)
		return -ENOMEM;
	return set(p, w, f, key, klen, v, vlen);
}

/* zone.ZONE.NAME: the zone's name may hold dots; NAME is after the last. */
static int zone_line(struct parse *p, const char *key, size_t klen,
		     const char *v, size_t vlen)
{
	const char *name = key + 5, *dot = key + klen;
	const struct shmfs_figure *f;
	struct shmfs_status_record *z;

	while (dot > name && dot[-1] != '.')
		dot--;
	if (dot - 1 <= name)
		return perr(p, "%.*s: not zone.NAME.FIELD", (int)klen, key);
	f = shmfs_figure_find(SHMFS_FIGURE_ZONE, dot, key + klen - dot);
	if (f == NULL)
		return 0;
	z = zone_at(p, name, dot - 1 - name);
	if (z == NULL)
		return -ENOMEM;
	return set(p, z, f, key, klen, v, vlen);
}

static int parse_line(struct parse *p, const char *s, size_t len)
{
	const char *sp = memchr(s, ' ', len);
	const struct shmfs_figure *f;
	size_t klen;

	if (len == 0)
		return 0;
	if (sp == NULL || sp == s)
		return perr(p, "\"%.*s\" is not a \"name value\" line",
			    len > 60 ? 60 : (int)len, s);
	klen = sp - s;
	if (klen > 7 && memcmp(s, "worker.", 7) == 0)
		return worker_line(p, s, klen, sp + 1, len - klen - 1);
	if (klen > 5 && memcmp(s, "zone.", 5) == 0)
		return zone_line(p, s, klen, sp + 1, len - klen - 1);
	f = shmfs_figure_find(SHMFS_FIGURE_DAEMON, s, klen);
	if (f == NULL)
		return 0; /* a figure this version does not know */
	return set(p, &p->st->daemon, f, s, klen, sp + 1, len - klen - 1);
}

/* The figures a /.stats of shmfs always has, and the count of zones. */
static int check(struct parse *p)
{
	const struct shmfs_status *st = p->st;

	for (size_t k = 0; k < SHMFS_FIGURES; k++) {
		const struct shmfs_figure *f = &shmfs_figures[k];

		if (!(f->flags & SHMFS_FIGURE_REQUIRED))
			continue;
		if (f->scope == SHMFS_FIGURE_DAEMON && !st->daemon.has[k])
			return perr(p,
				    "no \"%s\" line: not the /.stats of shmfs",
				    f->name);
	}
	if (st->daemon.value[SHMFS_FIGURE_ZONES] != st->nzones)
		return perr(p, "\"zones %" PRIu64 "\" but %zu listed",
			    st->daemon.value[SHMFS_FIGURE_ZONES], st->nzones);
	for (size_t i = 0; i < st->nzones; i++)
		for (size_t k = 0; k < SHMFS_FIGURES; k++)
			if (shmfs_figures[k].scope == SHMFS_FIGURE_ZONE &&
			    (shmfs_figures[k].flags & SHMFS_FIGURE_REQUIRED) &&
			    !st->zones[i].has[k])
				return perr(p, "zone %s has no %s",
					    st->zones[i].name,
					    shmfs_figures[k].name);
	return 0;
}

int shmfs_status_parse(const char *text, size_t len, struct shmfs_status *st,
		       char *err, size_t errlen)
{
	struct parse p = {.st = st, .err = err, .errlen = errlen};
	const char *s = text, *end = text + len;
	int res;

	memset(st, 0, sizeof(*st));
	while (s < end) {
		const char *nl = memchr(s, '\n', end - s);
		size_t n = nl ? (size_t)(nl - s) : (size_t)(end - s);

		p.line++;
		res = parse_line(&p, s, n);
		if (res < 0) {
			if (res == -ENOMEM)
				snprintf(err, errlen, "%d: out of memory",
					 p.line);
			return res;
		}
		s += n + 1;
	}
	p.line++;
	return check(&p);
}

static void free_record(struct shmfs_status_record *rec)
{
	free(rec->name);
	for (size_t k = 0; k < SHMFS_FIGURES; k++)
		free(rec->text[k]);
}

void shmfs_status_free(struct shmfs_status *st)
{
	free_record(&st->daemon);
	for (size_t i = 0; i < st->nworkers; i++)
		free_record(&st->workers[i]);
	for (size_t i = 0; i < st->nzones; i++)
		free_record(&st->zones[i]);
	free(st->zones);
	free(st->workers);
	memset(st, 0, sizeof(*st));
}

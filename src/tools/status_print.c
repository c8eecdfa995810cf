/* SPDX-License-Identifier: MIT */
/*
 * The records of shmfs status onto a terminal (the zones as df would, the
 * workers) or into one JSON object. The summary line, the workers' columns
 * and the JSON's keys come from the table of figures (figures.h), so a
 * figure added there shows here too.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "shmfs/figures.h"
#include "shmfs/status.h"

/* ------------------------------------------------------------ the table */

char *shmfs_status_human(uint64_t bytes, char *buf, size_t cap)
{
	static const char units[] = "KMGTPE";
	uint64_t unit = 1024, q, r, tenths;
	unsigned u = 0;

	if (bytes < 1024) {
		snprintf(buf, cap, "%" PRIu64, bytes);
		return buf;
	}
	while (u < 5 && bytes / unit >= 1024) {
		unit <<= 10;
		u++;
	}
	q = bytes / unit;
	r = bytes % unit;
	/* r * 10 + unit < 11 * 2^60: no overflow. */
	tenths = q * 10 + (r * 10 + unit - 1) / unit;
	if (tenths < 100) {
		snprintf(buf, cap, "%" PRIu64 ".%" PRIu64 "%c", tenths / 10,
			 tenths % 10, units[u]);
		return buf;
	}
	q += r != 0;
	if (q >= 1024 && u < 5) /* 1023.5K is 1.0M, as df says */
		snprintf(buf, cap, "1.0%c", units[u + 1]);
	else
		snprintf(buf, cap, "%" PRIu64 "%c", q, units[u]);
	return buf;
}

uint64_t shmfs_status_zone_used(const struct shmfs_status_record *z)
{
	return z->has[SHMFS_FIGURE_ZONE_USED]
		       ? z->value[SHMFS_FIGURE_ZONE_USED]
		       : z->value[SHMFS_FIGURE_ZONE_LENGTH];
}

static uint64_t capacity(const struct shmfs_status_record *z)
{
	return z->value[SHMFS_FIGURE_ZONE_CAPACITY];
}

/* Percent used, rounded up as df does; -1 for no capacity. */
static int use_percent(const struct shmfs_status_record *z)
{
	uint64_t used = shmfs_status_zone_used(z);

	if (capacity(z) == 0)
		return -1;
	if (used >= capacity(z))
		return 100;
	return (int)((used * 100 + capacity(z) - 1) / capacity(z));
}

#define BAR 20

/* [####................]: cells rounded up, so any use shows. */
static void bar(const struct shmfs_status_record *z, char *buf)
{
	uint64_t used = shmfs_status_zone_used(z);
	unsigned full = 0;

	if (capacity(z) > 0)
		full = used >= capacity(z)
			       ? BAR
			       : (unsigned)((used * BAR + capacity(z) - 1) /
					    capacity(z));
	buf[0] = '[';
	for (unsigned i = 0; i < BAR; i++)
		buf[1 + i] = i < full ? '#' : '.';
	buf[BAR + 1] = ']';
	buf[BAR + 2] = '\0';
}

static const char *or_dash(const char *s)
{
	return s != NULL ? s : "-";
}

static int digits(uint64_t v)
{
	int n = 1;

	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

static void print_uptime(uint64_t s, FILE *out)
{
	if (s >= 86400)
		fprintf(out, "%" PRIu64 "d%02" PRIu64 "h", s / 86400,
			s % 86400 / 3600);
	else if (s >= 3600)
		fprintf(out, "%" PRIu64 "h%02" PRIu64 "m", s / 3600,
			s % 3600 / 60);
	else if (s >= 60)
		fprintf(out, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
	else
		fprintf(out, "%" PRIu64 "s", s);
}

static int max(int a, int b)
{
	return a > b ? a : b;
}

/*
 * Issue 18: a HUGE column where some zone asks for huge pages: the bytes
 * its master's mapping has in 2 MiB pages, "!" after them where that is
 * less than the zone asks (a fallback, or pages split since), "-" for a
 * zone that asks none.
 */
static bool any_huge(const struct shmfs_status *st)
{
	for (size_t i = 0; i < st->nzones; i++)
		if (st->zones[i].value[SHMFS_FIGURE_ZONE_HUGE_WANTED])
			return true;
	return false;
}

static const char *huge_cell(const struct shmfs_status_record *z, char *buf,
			     size_t cap)
{
	uint64_t huge = z->value[SHMFS_FIGURE_ZONE_HUGE_BYTES];
	uint64_t wanted = z->value[SHMFS_FIGURE_ZONE_HUGE_WANTED];
	char h[16];

	snprintf(buf, cap, " %-6s ",
		 wanted == 0 ? "-" : shmfs_status_human(huge, h, sizeof(h)));
	if (wanted && huge < wanted)
		buf[1 + strlen(h)] = '!';
	return buf;
}

static void print_zones(const struct shmfs_status *st, FILE *out)
{
	bool huge = any_huge(st);
	char hc[20];
	int wname = 4, wcache = 5, wmode = 4, wbackend = 7;
	char size[16], used[16], avail[16], b[BAR + 3];

	for (size_t i = 0; i < st->nzones; i++) {
		char *const *t = st->zones[i].text;

		wname = max(wname, (int)strlen(st->zones[i].name));
		wcache = max(wcache,
			     (int)strlen(or_dash(t[SHMFS_FIGURE_ZONE_CACHE])));
		wmode = max(wmode,
			    (int)strlen(or_dash(t[SHMFS_FIGURE_ZONE_MODE])));
		wbackend =
			max(wbackend,
			    (int)strlen(or_dash(t[SHMFS_FIGURE_ZONE_BACKEND])));
	}
	/* OBJECT last: a path of any length, never cut. */
	fprintf(out, "%-*s %5s %5s %5s %4s %-*s %-*s %-*s %-*s %s%s\n", wname,
		"ZONE", "SIZE", "USED", "AVAIL", "USE%", BAR + 2, "USAGE",
		wmode, "MODE", wcache, "CACHE", wbackend, "BACKEND",
		huge ? " HUGE   " : "", "OBJECT");
	for (size_t i = 0; i < st->nzones; i++) {
		const struct shmfs_status_record *z = &st->zones[i];
		char *const *t = z->text;
		uint64_t u = shmfs_status_zone_used(z), cap = capacity(z);

		bar(z, b);
		fprintf(out, "%-*s %5s %5s %5s %3d%% %s %-*s %-*s %-*s %s%s\n",
			wname, z->name, shmfs_status_human(cap, size, 16),
			shmfs_status_human(u, used, 16),
			shmfs_status_human(u < cap ? cap - u : 0, avail, 16),
			use_percent(z), b, wmode,
			or_dash(t[SHMFS_FIGURE_ZONE_MODE]), wcache,
			or_dash(t[SHMFS_FIGURE_ZONE_CACHE]), wbackend,
			or_dash(t[SHMFS_FIGURE_ZONE_BACKEND]),
			huge ? huge_cell(z, hc, sizeof(hc)) : "",
			or_dash(t[SHMFS_FIGURE_ZONE_OBJECT]));
	}
}

/* A column per worker figure with a heading: as wide as it or its values. */
static void print_workers(const struct shmfs_status *st, FILE *out)
{
	int width[SHMFS_FIGURES] = {0};

	fputs("WORKER", out);
	for (size_t k = 0; k < SHMFS_FIGURES; k++) {
		const struct shmfs_figure *f = &shmfs_figures[k];

		if (f->scope != SHMFS_FIGURE_WORKER || f->status == NULL)
			continue;
		width[k] = (int)strlen(f->status);
		for (size_t i = 0; i < st->nworkers; i++)
			width[k] =
				max(width[k], digits(st->workers[i].value[k]));
		fprintf(out, " %*s", width[k], f->status);
	}
	fputc('\n', out);
	for (size_t i = 0; i < st->nworkers; i++) {
		fprintf(out, "%6u", st->workers[i].slot);
		for (size_t k = 0; k < SHMFS_FIGURES; k++)
			if (width[k] > 0)
				fprintf(out, " %*" PRIu64, width[k],
					st->workers[i].value[k]);
		fputc('\n', out);
	}
}

/*
 * Whether status shows figure k of rec: not one that older daemons lack
 * where rec has none (a 0 there would be a guess).
 */
static bool shown(const struct shmfs_status_record *rec, size_t k)
{
	return rec->has[k] || !(shmfs_figures[k].flags & SHMFS_FIGURE_OPTIONAL);
}

/*
 * ", 1 reload, 2 respawns, generation 3": the daemon's figures that have
 * a word.
 */
static void print_counts(const struct shmfs_status *st, FILE *out)
{
	for (size_t k = 0; k < SHMFS_FIGURES; k++) {
		const struct shmfs_figure *f = &shmfs_figures[k];
		uint64_t v = st->daemon.value[k];

		if (f->scope != SHMFS_FIGURE_DAEMON || f->status == NULL ||
		    !shown(&st->daemon, k))
			continue;
		if (f->type ==
		    SHMFS_FIGURE_LABEL) /* "served through io_uring" */
			fprintf(out, ", %s %s", f->status,
				st->daemon.text[k] ? st->daemon.text[k] : "?");
		else if (f->flags & SHMFS_FIGURE_RANK)
			fprintf(out, ", %s %" PRIu64, f->status, v);
		else
			fprintf(out, ", %" PRIu64 " %s%s", v, f->status,
				v == 1 ? "" : "s");
	}
}

void shmfs_status_print(const struct shmfs_status *st, const char *mountpoint,
			FILE *out)
{
	uint64_t cap = 0, used = 0;
	char a[16], b[16];

	for (size_t i = 0; i < st->nzones; i++) {
		cap += capacity(&st->zones[i]);
		used += shmfs_status_zone_used(&st->zones[i]);
	}
	fprintf(out, "shmfs on %s: up ", mountpoint);
	print_uptime(st->daemon.value[SHMFS_FIGURE_UPTIME], out);
	fprintf(out, ", %zu zone%s, %s, %s used; %zu worker%s", st->nzones,
		st->nzones == 1 ? "" : "s",
		shmfs_status_human(cap, a, sizeof(a)),
		shmfs_status_human(used, b, sizeof(b)), st->nworkers,
		st->nworkers == 1 ? "" : "s");
	print_counts(st, out);
	fputs("\n\n", out);
	if (st->nzones > 0) {
		print_zones(st, out);
		fputc('\n', out);
	}
	print_workers(st, out);
}

/* ------------------------------------------------------------ JSON */

/* A JSON string: quote, backslash and control characters escaped. */
static void json_string(const char *s, FILE *out)
{
	fputc('"', out);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

/*
 * The figures of rec's scope as JSON members: the labels (the long ones
 * last, as in the table), then the numbers.
 */
static void json_members(const struct shmfs_status_record *rec,
			 enum shmfs_figure_scope scope, FILE *out)
{
	for (unsigned pass = 0; pass < 2; pass++)
		for (size_t k = 0; k < SHMFS_FIGURES; k++) {
			const struct shmfs_figure *f = &shmfs_figures[k];
			bool is_long = f->flags & SHMFS_FIGURE_LONG;

			if (f->scope != scope ||
			    f->type != SHMFS_FIGURE_LABEL || is_long != pass)
				continue;
			fprintf(out, ", \"%s\": ", f->name);
			if (rec->text[k] != NULL)
				json_string(rec->text[k], out);
			else
				fputs("null", out);
		}
	for (size_t k = 0; k < SHMFS_FIGURES; k++) {
		const struct shmfs_figure *f = &shmfs_figures[k];

		if (f->scope == scope && f->name != NULL &&
		    f->type != SHMFS_FIGURE_LABEL && shown(rec, k))
			fprintf(out, ", \"%s\": %" PRIu64, f->name,
				rec->value[k]);
	}
}

/* The daemon's figures, one a line; the counts are the arrays below. */
static void json_daemon(const struct shmfs_status_record *d, FILE *out)
{
	for (size_t k = 0; k < SHMFS_FIGURES; k++) {
		const struct shmfs_figure *f = &shmfs_figures[k];

		if (f->scope != SHMFS_FIGURE_DAEMON || f->name == NULL ||
		    (f->flags & SHMFS_FIGURE_COUNT) || !shown(d, k))
			continue;
		fprintf(out, ",\n  \"%s\": ", f->name);
		if (f->type != SHMFS_FIGURE_LABEL)
			fprintf(out, "%" PRIu64, d->value[k]);
		else if (d->text[k] != NULL)
			json_string(d->text[k], out);
		else
			fputs("null", out);
	}
}

void shmfs_status_print_json(const struct shmfs_status *st,
			     const char *mountpoint, FILE *out)
{
	fputs("{\n  \"mountpoint\": ", out);
	json_string(mountpoint, out);
	json_daemon(&st->daemon, out);
	fputs(",\n  \"zones\": [", out);
	for (size_t i = 0; i < st->nzones; i++) {
		const struct shmfs_status_record *z = &st->zones[i];

		fputs(i ? ",\n    {\"name\": " : "\n    {\"name\": ", out);
		json_string(z->name, out);
		json_members(z, SHMFS_FIGURE_ZONE, out);
		/* An older daemon's zone: its length stands for its use. */
		if (!z->has[SHMFS_FIGURE_ZONE_USED])
			fprintf(out, ", \"used\": %" PRIu64,
				shmfs_status_zone_used(z));
		fprintf(out, ", \"use_percent\": %d}", use_percent(z));
	}
	fputs(st->nzones ? "\n  ],\n  \"workers\": [" : "],\n  \"workers\": [",
	      out);
	for (size_t i = 0; i < st->nworkers; i++) {
		fprintf(out, "%s    {\"slot\": %u", i ? ",\n" : "\n",
			st->workers[i].slot);
		json_members(&st->workers[i], SHMFS_FIGURE_WORKER, out);
		fputc('}', out);
	}
	fputs(st->nworkers ? "\n  ]\n}\n" : "]\n}\n", out);
}

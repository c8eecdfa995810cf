/* SPDX-License-Identifier: MIT */
/*
 * The text of /.stats into a struct, and the struct onto a terminal (as df
 * would) or into JSON. Fields are tables of (name, offset), so a field that
 * /.stats gains is one row here; names it does not know are skipped.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "shmfs/status.h"

/* ------------------------------------------------------------ the fields */

struct field {
	const char *name;
	size_t offset;
	size_t has; /* offset of its bool has_NAME, or 0 */
};

#define NUM(type, f)                                                           \
	{                                                                      \
#f, offsetof(type, f), 0                                       \
	}
#define NUM_HAS(type, f)                                                       \
	{                                                                      \
#f, offsetof(type, f), offsetof(type, has_##f)                 \
	}
#define TEXT(type, f)                                                          \
	{                                                                      \
#f, offsetof(type, f), 0                                       \
	}

static const struct field worker_nums[] = {
	NUM(struct shmfs_status_worker, pid),
	NUM(struct shmfs_status_worker, requests),
	NUM(struct shmfs_status_worker, errors),
	NUM(struct shmfs_status_worker, bytes_in),
	NUM(struct shmfs_status_worker, bytes_out),
};

static const struct field zone_texts[] = {
	TEXT(struct shmfs_status_zone, backend),
	TEXT(struct shmfs_status_zone, cache),
	TEXT(struct shmfs_status_zone, mode),
	TEXT(struct shmfs_status_zone, object),
};

static const struct field zone_nums[] = {
	NUM_HAS(struct shmfs_status_zone, capacity),
	NUM(struct shmfs_status_zone, length),
	NUM_HAS(struct shmfs_status_zone, used),
	NUM(struct shmfs_status_zone, reads),
	NUM(struct shmfs_status_zone, writes),
	NUM(struct shmfs_status_zone, bytes_in),
	NUM(struct shmfs_status_zone, bytes_out),
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const struct field *find_field(const struct field *t, size_t n,
				      const char *name, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(t[i].name) == len &&
		    memcmp(t[i].name, name, len) == 0)
			return &t[i];
	return NULL;
}

/* ------------------------------------------------------------ parsing */

struct parser {
	struct shmfs_status *st;
	size_t cap_workers, cap_zones;
	int line;
	char *err;
	size_t errlen;
	bool has_uptime, has_zones;
	uint64_t workers_said, zones_said;
};

__attribute__((format(printf, 2, 3))) static int perr(struct parser *p,
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

static struct shmfs_status_worker *worker_at(struct parser *p, unsigned slot)
{
	struct shmfs_status *st = p->st;
	struct shmfs_status_worker *w;

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

static struct shmfs_status_zone *zone_at(struct parser *p, const char *name,
					 size_t len)
{
	struct shmfs_status *st = p->st;
	struct shmfs_status_zone *z;

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

static int set_num(struct parser *p, void *rec, const struct field *f,
		   const char *key, size_t klen, const char *v, size_t vlen)
{
	if (number(v, vlen, (uint64_t *)((char *)rec + f->offset)) < 0)
		return perr(p, "%.*s: \"%.*s\" is not a number", (int)klen, key,
			    (int)vlen, v);
	if (f->has)
		*(bool *)((char *)rec + f->has) = true;
	return 0;
}

/* worker.SLOT.FIELD */
static int worker_line(struct parser *p, const char *key, size_t klen,
		       const char *v, size_t vlen)
{
	const char *rest = key + 7, *dot = memchr(rest, '.', klen - 7);
	const struct field *f;
	uint64_t slot;

	if (dot == NULL || number(rest, dot - rest, &slot) < 0 || slot > 65535)
		return perr(p, "%.*s: not worker.SLOT.FIELD", (int)klen, key);
	f = find_field(worker_nums, COUNT(worker_nums), dot + 1,
		       key + klen - dot - 1);
	if (f == NULL)
		return 0;
	struct shmfs_status_worker *w = worker_at(p, (unsigned)slot);
	if (w == NULL)
		return -ENOMEM;
	return set_num(p, w, f, key, klen, v, vlen);
}

/* zone.NAME.FIELD: the name may hold dots; the field is after the last. */
static int zone_line(struct parser *p, const char *key, size_t klen,
		     const char *v, size_t vlen)
{
	const char *name = key + 5, *dot = key + klen;
	const struct field *num, *text;
	struct shmfs_status_zone *z;

	while (dot > name && dot[-1] != '.')
		dot--;
	if (dot - 1 <= name)
		return perr(p, "%.*s: not zone.NAME.FIELD", (int)klen, key);
	num = find_field(zone_nums, COUNT(zone_nums), dot, key + klen - dot);
	text = find_field(zone_texts, COUNT(zone_texts), dot, key + klen - dot);
	if (num == NULL && text == NULL)
		return 0;
	z = zone_at(p, name, dot - 1 - name);
	if (z == NULL)
		return -ENOMEM;
	if (num != NULL)
		return set_num(p, z, num, key, klen, v, vlen);
	char **slot = (char **)((char *)z + text->offset);
	free(*slot);
	*slot = strndup(v, vlen);
	return *slot == NULL ? -ENOMEM : 0;
}

static int global_line(struct parser *p, const char *key, size_t klen,
		       const char *v, size_t vlen)
{
	const struct {
		const char *name;
		uint64_t *dst;
	} globals[] = {
		{"uptime", &p->st->uptime},	{"reloads", &p->st->reloads},
		{"respawns", &p->st->respawns}, {"workers", &p->workers_said},
		{"zones", &p->zones_said},
	};

	for (size_t i = 0; i < COUNT(globals); i++) {
		if (strlen(globals[i].name) != klen ||
		    memcmp(globals[i].name, key, klen) != 0)
			continue;
		if (number(v, vlen, globals[i].dst) < 0)
			return perr(p, "%.*s: \"%.*s\" is not a number",
				    (int)klen, key, (int)vlen, v);
		p->has_uptime |= globals[i].dst == &p->st->uptime;
		p->has_zones |= globals[i].dst == &p->zones_said;
		return 0;
	}
	return 0; /* a figure this version does not know */
}

static int parse_line(struct parser *p, const char *s, size_t len)
{
	const char *sp = memchr(s, ' ', len);
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
	return global_line(p, s, klen, sp + 1, len - klen - 1);
}

int shmfs_status_parse(const char *text, size_t len, struct shmfs_status *st,
		       char *err, size_t errlen)
{
	struct parser p = {.st = st, .err = err, .errlen = errlen};
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
	if (!p.has_uptime || !p.has_zones)
		return perr(&p, "no \"%s\" line: not the /.stats of shmfs",
			    p.has_uptime ? "zones" : "uptime");
	if (p.zones_said != st->nzones)
		return perr(&p, "\"zones %" PRIu64 "\" but %zu listed",
			    p.zones_said, st->nzones);
	for (size_t i = 0; i < st->nzones; i++)
		if (!st->zones[i].has_capacity)
			return perr(&p, "zone %s has no capacity",
				    st->zones[i].name);
	return 0;
}

void shmfs_status_free(struct shmfs_status *st)
{
	for (size_t i = 0; i < st->nzones; i++) {
		free(st->zones[i].name);
		for (size_t k = 0; k < COUNT(zone_texts); k++)
			free(*(char **)((char *)&st->zones[i] +
					zone_texts[k].offset));
	}
	free(st->zones);
	free(st->workers);
	memset(st, 0, sizeof(*st));
}

/* ------------------------------------------------------------ printing */

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

uint64_t shmfs_status_zone_used(const struct shmfs_status_zone *z)
{
	return z->has_used ? z->used : z->length;
}

/* Percent used, rounded up as df does; -1 for no capacity. */
static int use_percent(const struct shmfs_status_zone *z)
{
	uint64_t used = shmfs_status_zone_used(z);

	if (z->capacity == 0)
		return -1;
	if (used >= z->capacity)
		return 100;
	return (int)((used * 100 + z->capacity - 1) / z->capacity);
}

#define BAR 20

/* [####................]: cells rounded up, so any use shows. */
static void bar(const struct shmfs_status_zone *z, char *buf)
{
	uint64_t used = shmfs_status_zone_used(z);
	unsigned full = 0;

	if (z->capacity > 0)
		full = used >= z->capacity
			       ? BAR
			       : (unsigned)((used * BAR + z->capacity - 1) /
					    z->capacity);
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

static void print_zones(const struct shmfs_status *st, FILE *out)
{
	int wname = 4, wcache = 5, wmode = 4, wbackend = 7;
	char size[16], used[16], avail[16], b[BAR + 3];

	for (size_t i = 0; i < st->nzones; i++) {
		const struct shmfs_status_zone *z = &st->zones[i];
		int n = (int)strlen(z->name);

		wname = n > wname ? n : wname;
		n = (int)strlen(or_dash(z->cache));
		wcache = n > wcache ? n : wcache;
		n = (int)strlen(or_dash(z->mode));
		wmode = n > wmode ? n : wmode;
		n = (int)strlen(or_dash(z->backend));
		wbackend = n > wbackend ? n : wbackend;
	}
	/* OBJECT last: a path of any length, never cut. */
	fprintf(out, "%-*s %5s %5s %5s %4s %-*s %-*s %-*s %-*s %s\n", wname,
		"ZONE", "SIZE", "USED", "AVAIL", "USE%", BAR + 2, "USAGE",
		wmode, "MODE", wcache, "CACHE", wbackend, "BACKEND", "OBJECT");
	for (size_t i = 0; i < st->nzones; i++) {
		const struct shmfs_status_zone *z = &st->zones[i];
		uint64_t u = shmfs_status_zone_used(z);

		bar(z, b);
		fprintf(out, "%-*s %5s %5s %5s %3d%% %s %-*s %-*s %-*s %s\n",
			wname, z->name,
			shmfs_status_human(z->capacity, size, 16),
			shmfs_status_human(u, used, 16),
			shmfs_status_human(u < z->capacity ? z->capacity - u
							   : 0,
					   avail, 16),
			use_percent(z), b, wmode, or_dash(z->mode), wcache,
			or_dash(z->cache), wbackend, or_dash(z->backend),
			or_dash(z->object));
	}
}

static void print_workers(const struct shmfs_status *st, FILE *out)
{
	int wpid = 3, wreq = 8, werr = 6;

	for (size_t i = 0; i < st->nworkers; i++) {
		const struct shmfs_status_worker *w = &st->workers[i];

		wpid = digits(w->pid) > wpid ? digits(w->pid) : wpid;
		wreq = digits(w->requests) > wreq ? digits(w->requests) : wreq;
		werr = digits(w->errors) > werr ? digits(w->errors) : werr;
	}
	fprintf(out, "WORKER %*s %*s %*s\n", wpid, "PID", wreq, "REQUESTS",
		werr, "ERRORS");
	for (size_t i = 0; i < st->nworkers; i++) {
		const struct shmfs_status_worker *w = &st->workers[i];

		fprintf(out, "%6u %*" PRIu64 " %*" PRIu64 " %*" PRIu64 "\n",
			w->slot, wpid, w->pid, wreq, w->requests, werr,
			w->errors);
	}
}

void shmfs_status_print(const struct shmfs_status *st, const char *mountpoint,
			FILE *out)
{
	uint64_t cap = 0, used = 0;
	char a[16], b[16];

	for (size_t i = 0; i < st->nzones; i++) {
		cap += st->zones[i].capacity;
		used += shmfs_status_zone_used(&st->zones[i]);
	}
	fprintf(out, "shmfs on %s: up ", mountpoint);
	print_uptime(st->uptime, out);
	fprintf(out,
		", %zu zone%s, %s, %s used; %zu worker%s, %" PRIu64
		" reload%s, %" PRIu64 " respawn%s\n\n",
		st->nzones, st->nzones == 1 ? "" : "s",
		shmfs_status_human(cap, a, sizeof(a)),
		shmfs_status_human(used, b, sizeof(b)), st->nworkers,
		st->nworkers == 1 ? "" : "s", st->reloads,
		st->reloads == 1 ? "" : "s", st->respawns,
		st->respawns == 1 ? "" : "s");
	if (st->nzones > 0) {
		print_zones(st, out);
		fputc('\n', out);
	}
	print_workers(st, out);
}

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

static void json_fields(const void *rec, const struct field *nums, size_t nn,
			const struct field *texts, size_t nt, FILE *out)
{
	for (size_t k = 0; k < nt; k++) {
		const char *v =
			*(char *const *)((const char *)rec + texts[k].offset);

		fprintf(out, ", \"%s\": ", texts[k].name);
		if (v != NULL)
			json_string(v, out);
		else
			fputs("null", out);
	}
	for (size_t k = 0; k < nn; k++) {
		if (nums[k].has &&
		    !*(const bool *)((const char *)rec + nums[k].has))
			continue;
		fprintf(out, ", \"%s\": %" PRIu64, nums[k].name,
			*(const uint64_t *)((const char *)rec +
					    nums[k].offset));
	}
}

void shmfs_status_print_json(const struct shmfs_status *st,
			     const char *mountpoint, FILE *out)
{
	fputs("{\n  \"mountpoint\": ", out);
	json_string(mountpoint, out);
	fprintf(out,
		",\n  \"uptime\": %" PRIu64 ",\n  \"reloads\": %" PRIu64
		",\n  \"respawns\": %" PRIu64 ",\n  \"zones\": [",
		st->uptime, st->reloads, st->respawns);
	for (size_t i = 0; i < st->nzones; i++) {
		const struct shmfs_status_zone *z = &st->zones[i];

		fputs(i ? ",\n    {\"name\": " : "\n    {\"name\": ", out);
		json_string(z->name, out);
		json_fields(z, zone_nums, COUNT(zone_nums), zone_texts,
			    COUNT(zone_texts), out);
		if (!z->has_used)
			fprintf(out, ", \"used\": %" PRIu64,
				shmfs_status_zone_used(z));
		fprintf(out, ", \"use_percent\": %d}", use_percent(z));
	}
	fputs(st->nzones ? "\n  ],\n  \"workers\": [" : "],\n  \"workers\": [",
	      out);
	for (size_t i = 0; i < st->nworkers; i++) {
		fprintf(out, "%s    {\"slot\": %u", i ? ",\n" : "\n",
			st->workers[i].slot);
		json_fields(&st->workers[i], worker_nums, COUNT(worker_nums),
			    NULL, 0, out);
		fputc('}', out);
	}
	fputs(st->nworkers ? "\n  ]\n}\n" : "]\n}\n", out);
}

/* SPDX-License-Identifier: MIT */
/*
 * The line reader that feeds inih. Debian's libinih gives its handler no
 * line number, never shows it a section header, cuts section names at 49
 * bytes and lines at 200, and joins indented lines to the previous value.
 * So we hand inih one line at a time and count them, take section headers
 * ourselves (inih gets "[INDEX]" of the zone), and refuse what inih would
 * mangle in silence: continuation lines, NUL bytes, lines too long.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_parser.h"
#include "shmfs/hash.h"

/* Longest name or value quoted back in a message. */
#define QUOTE_MAX 512

static int quote_len(size_t len)
{
	return (int)(len < QUOTE_MAX ? len : QUOTE_MAX);
}

void shmfs_config_fail(struct config_parser *p, int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->ret)
		return;
	p->ret = -EINVAL;
	if (!p->err || !p->errlen)
		return;
	n = snprintf(p->err, p->errlen, "%s:%d: ", p->file, line);
	if (n < 0 || (size_t)n >= p->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	/* Values are quoted back: a control byte must not reach a terminal. */
	for (char *c = p->err; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
}

void shmfs_config_fail_nomem(struct config_parser *p)
{
	if (p->ret)
		return;
	p->ret = -ENOMEM;
	if (p->err && p->errlen)
		snprintf(p->err, p->errlen, "%s: out of memory", p->file);
}

/* inih's notion of whitespace, minus the newline we never hand it. */
static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/*
 * The zone already called name, or NULL; else name's bucket is noted in
 * *bucket. A hash, so that 100,000 zones check in linear time.
 */
static struct shmfs_zone_config *find_zone(struct config_parser *p,
					   const char *name, size_t *bucket)
{
	size_t len = strlen(name);
	size_t b = shmfs_hash_name(name, len) & p->names_mask;

	for (uint32_t i; (i = p->names[b]) != 0; b = (b + 1) & p->names_mask)
		if (strcmp(p->cfg->zones[i - 1].name, name) == 0)
			return &p->cfg->zones[i - 1];
	*bucket = b;
	return NULL;
}

/* Keeps the name hash at most half full: rebuilt at twice the size. */
static int grow_names(struct config_parser *p)
{
	size_t n = p->names ? 2 * (p->names_mask + 1) : 64;
	uint32_t *names = calloc(n, sizeof(*names));

	if (names == NULL)
		return -1;
	free(p->names);
	p->names = names;
	p->names_mask = n - 1;
	for (size_t i = 0; i < p->cfg->nzones; i++) {
		size_t b;

		find_zone(p, p->cfg->zones[i].name, &b);
		p->names[b] = (uint32_t)i + 1;
	}
	return 0;
}

/* Records [zone:NAME]; returns its index or -1 after an error. */
static long add_zone(struct config_parser *p, const char *name, size_t len)
{
	static const char chars[] = "abcdefghijklmnopqrstuvwxyz"
				    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
	struct shmfs_config *cfg = p->cfg;
	struct shmfs_zone_config *z;
	struct config_section *sec;
	size_t bucket;

	if (2 * (cfg->nzones + 1) > (p->names ? p->names_mask + 1 : 0) &&
	    grow_names(p) < 0) {
		shmfs_config_fail_nomem(p);
		return -1;
	}
	if (p->cap == cfg->nzones) {
		p->cap = p->cap ? 2 * p->cap : 8;
		z = reallocarray(cfg->zones, p->cap, sizeof(*z));
		if (z)
			cfg->zones = z;
		sec = reallocarray(p->zones, p->cap, sizeof(*sec));
		if (sec)
			p->zones = sec;
		if (!z || !sec) {
			shmfs_config_fail_nomem(p);
			return -1;
		}
	}
	z = memset(&cfg->zones[cfg->nzones], 0, sizeof(*z));
	if (len < 1 || len > SHMFS_NAME_MAX || name[0] == '.' ||
	    strspn(memcpy(z->name, name, len), chars) != len) {
		shmfs_config_fail(
			p, p->line,
			"invalid zone name \"%.*s\" (1..255 bytes of A-Z a-z "
			"0-9 . _ -, not starting with '.')",
			quote_len(len), name);
		return -1;
	}
	z->name[len] = '\0';
	const struct shmfs_zone_config *dup = find_zone(p, z->name, &bucket);
	if (dup) {
		shmfs_config_fail(p, p->line,
				  "zone \"%s\" already defined at line %d",
				  z->name, dup->line);
		return -1;
	}
	p->names[bucket] = (uint32_t)cfg->nzones + 1;
	z->line = p->line;
	memset(&p->zones[cfg->nzones], 0, sizeof(*sec));
	p->zones[cfg->nzones].line = p->line;
	return (long)cfg->nzones++;
}

/*
 * Checks the section header at s (its '[') and writes the line for inih into
 * str: "[shmfs]", or "[INDEX]" of a zone, since inih would cut a long name.
 */
static int add_section(struct config_parser *p, const char *s, const char *end,
		       char *str, int num)
{
	const char *close = memchr(s, ']', (size_t)(end - s));
	const char *name = s + 1, *rest;
	size_t len;
	long zone;

	for (rest = close ? close + 1 : end; rest < end && is_space(*rest);)
		rest++;
	if (!close || (rest < end && *rest != ';' && *rest != '#')) {
		shmfs_config_fail(p, p->line, "malformed section header");
		return -1;
	}
	len = (size_t)(close - name);
	if (len == 5 && memcmp(name, "shmfs", 5) == 0) {
		if (p->global.line) {
			shmfs_config_fail(
				p, p->line,
				"section [shmfs] already defined at line %d",
				p->global.line);
			return -1;
		}
		p->global.line = p->line;
		snprintf(str, (size_t)num, "[shmfs]\n");
	} else if (len >= 5 && memcmp(name, "zone:", 5) == 0) {
		zone = add_zone(p, name + 5, len - 5);
		if (zone < 0)
			return -1;
		snprintf(str, (size_t)num, "[%ld]\n", zone);
	} else {
		shmfs_config_fail(p, p->line, "unknown section [%.*s]",
				  quote_len(len), name);
		return -1;
	}
	return 0;
}

/* Where inih would see an inline comment: ';' after whitespace. */
static const char *strip_comment(const char *s, const char *end)
{
	const char *c;

	for (c = s + 1; c < end; c++) {
		if (*c == ';' && is_space(c[-1]))
			return c;
	}
	return end;
}

/*
 * The ini_reader: hands inih one line per call, a section header rewritten
 * by add_section, a blank or comment line as "\n". Returns NULL at the end
 * of the text or after the first error.
 */
char *shmfs_config_read_line(char *str, int num, void *stream)
{
	struct config_parser *p = stream;
	const char *s, *end, *nl, *lead;
	size_t n;

	/* inih took the last key line as malformed: no '=' or ':'. */
	if (p->pending)
		shmfs_config_fail(p, p->line, "malformed line");
	if (p->ret || p->pos >= p->len)
		return NULL;
	s = p->text + p->pos;
	nl = memchr(s, '\n', p->len - p->pos);
	end = nl ? nl : p->text + p->len;
	p->pos = (size_t)(end - p->text) + (nl ? 1 : 0);
	p->line++;
	if (memchr(s, '\0', (size_t)(end - s))) {
		shmfs_config_fail(p, p->line, "line contains a NUL byte");
		return NULL;
	}
	if (p->line == 1 && end - s >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
		s += 3;
	while (end > s && is_space(end[-1]))
		end--;
	for (lead = s; lead < end && is_space(*lead);)
		lead++;
	if (lead == end || *lead == ';' || *lead == '#')
		return strcpy(str, "\n");
	if (*lead == '[')
		return add_section(p, lead, end, str, num) ? NULL : str;
	/* inih would append an indented line to the previous value. */
	if (lead > s) {
		shmfs_config_fail(p, p->line,
				  "line starts with whitespace (continuation "
				  "lines are not "
				  "supported)");
		return NULL;
	}
	end = strip_comment(s, end);
	while (end > s && is_space(end[-1]))
		end--;
	n = (size_t)(end - s);
	if (n + 2 > (size_t)num) {
		shmfs_config_fail(p, p->line, "line too long (max %d bytes)",
				  num - 2);
		return NULL;
	}
	memcpy(str, s, n);
	memcpy(str + n, "\n", 2);
	p->pending = true;
	return str;
}

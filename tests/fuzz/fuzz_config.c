/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the configuration parser. Each input is parsed as an
 * ini file; whatever the bytes, the parser must return 0, -EINVAL or -ENOMEM,
 * report a mistake as one "FILE:LINE: ..." line that points into the input,
 * accept only zones that "shmfs -t" and the zone table can trust, and leave
 * nothing allocated. A broken promise is an abort(), which libFuzzer saves as
 * a crash input; ASan catches memory errors and leaks.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shmfs/config.h"
#include "shmfs/limits.h"
#include "shmfs/parse.h"

#define FILE_NAME "fuzz.ini"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Says which promise broke, then aborts: the message is in the crash log. */
static void check(bool ok, const char *what, const char *text)
{
	if (ok)
		return;
	fprintf(stderr, "fuzz_config: invariant broken: %s\n", what);
	if (text)
		fprintf(stderr, "fuzz_config: error message: \"%s\"\n", text);
	abort();
}

/* Lines as the parser numbers them: a last line without '\n' counts. */
static unsigned long count_lines(const char *text)
{
	unsigned long n = 0;
	const char *s;

	for (s = text; *s; s++)
		n += *s == '\n';
	if (s > text && s[-1] != '\n')
		n++;
	return n;
}

static void check_error(const char *text, const char *err)
{
	const size_t flen = strlen(FILE_NAME);
	unsigned long line;
	char *end;

	check(err[0] != '\0', "-EINVAL without a message", err);
	check(strchr(err, '\n') == NULL, "message is not one line", err);
	check(strncmp(err, FILE_NAME ":", flen + 1) == 0,
	      "message does not start with the file name", err);
	check(err[flen + 1] >= '1' && err[flen + 1] <= '9',
	      "message has no line number", err);
	errno = 0;
	line = strtoul(err + flen + 1, &end, 10);
	check(errno == 0 && *end == ':', "line number is not followed by ':'",
	      err);
	check(line >= 1 && line <= count_lines(text) + 1,
	      "line number is past the end of the input", err);
}

static bool valid_name(const char *name)
{
	static const char chars[] = "abcdefghijklmnopqrstuvwxyz"
				    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
	size_t len = strnlen(name, SHMFS_NAME_MAX + 1);

	return len >= 1 && len <= SHMFS_NAME_MAX && name[0] != '.' &&
	       strspn(name, chars) == len;
}

static void check_config(const struct shmfs_config *cfg)
{
	static char out[1 << 20];
	long page = sysconf(_SC_PAGESIZE);
	uint64_t total = 0;
	size_t i, j;
	FILE *f;

	check(cfg->file && strcmp(cfg->file, FILE_NAME) == 0,
	      "file name not kept", NULL);
	check(cfg->workers <= SHMFS_WORKERS_MAX, "workers out of range", NULL);
	check((cfg->mode & ~(mode_t)07777) == 0, "mode out of range", NULL);
	check(cfg->ncpus <= SHMFS_CPUS_MAX, "too many CPUs", NULL);
	check(!cfg->log || strcmp(cfg->log, "stderr") == 0 ||
		      strcmp(cfg->log, "syslog") == 0 || cfg->log[0] == '/',
	      "bad log", cfg->log);
	check(!cfg->pid || cfg->pid[0] == '/', "bad pid file", cfg->pid);
	check(cfg->nzones == 0 || cfg->zones, "zones missing", NULL);
	for (i = 0; i < cfg->nzones; i++) {
		const struct shmfs_zone_config *z = &cfg->zones[i];

		check(valid_name(z->name), "invalid zone name accepted",
		      z->name);
		for (j = 0; j < i; j++)
			check(strcmp(cfg->zones[j].name, z->name) != 0,
			      "duplicate zone accepted", z->name);
		/*
		 * A shared object's size is exact, and 0 where it is left
		 * out (the existing object's); private memory is whole pages.
		 */
		if (shmfs_zone_config_shared(z)) {
			check(z->capacity == 0 || z->capacity == z->requested,
			      "shared object's size is not as written",
			      z->name);
			check(z->capacity != 0 ||
				      z->backend != SHMFS_BACKEND_POSIX ||
				      z->attach,
			      "posix zone to create without a size", z->name);
			check(z->cache == SHMFS_CACHE_DIRECT,
			      "shared object not in direct mode", z->name);
			check(z->object != NULL ||
				      z->backend == SHMFS_BACKEND_SYSV,
			      "shared object without a name or path", z->name);
		} else {
			check(z->capacity > 0, "zone of size 0 accepted",
			      z->name);
			check(page <= 0 || z->capacity % (uint64_t)page == 0,
			      "size is not a page multiple", z->name);
		}
		check(z->capacity <= SHMFS_SIZE_MAX, "zone too large", z->name);
		total += z->capacity;
		check(total <= SHMFS_SIZE_MAX, "zones too large in total",
		      z->name);
		check((z->mode & ~(mode_t)07777) == 0, "zone mode out of range",
		      z->name);
		check(z->line >= 1, "zone has no line", z->name);
	}

	/* Like /dev/null, but the table is written for real. */
	f = fmemopen(out, sizeof(out), "w");
	check(f != NULL, "fmemopen failed", NULL);
	shmfs_config_print(cfg, NULL, NULL, f);
	fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct shmfs_config cfg;
	char err[1024];
	char *text;
	int ret;

	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	memset(err, 'x', sizeof(err) - 1);
	err[sizeof(err) - 1] = '\0';

	ret = shmfs_config_parse_string(text, FILE_NAME, &cfg, err,
					sizeof(err));
	check(ret == 0 || ret == -EINVAL || ret == -ENOMEM,
	      "return value is not 0, -EINVAL or -ENOMEM", NULL);
	if (ret == 0) {
		check(err[0] == '\0', "success with a message", err);
		check_config(&cfg);
	} else {
		if (ret == -EINVAL)
			check_error(text, err);
		check(!cfg.file && !cfg.zones && !cfg.log && !cfg.pid &&
			      cfg.nzones == 0,
		      "config not left empty after an error", NULL);
	}
	shmfs_config_free(&cfg);
	free(text);
	return 0;
}

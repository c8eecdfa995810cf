/* SPDX-License-Identifier: MIT */
/*
 * The keys of the ini file: the table made of config_keys.def, the parser
 * of each kind of value, and inih's handler, which finds a line's key in
 * the table and hands its value to the key's parser, so that every
 * message names the key, the value and the line.
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config_parser.h"
#include "shmfs/limits.h"
#include "shmfs/parse.h"
#include "shmfs/process.h"

_Static_assert(SHMFS_SIZE_MAX == (uint64_t)64 << 40, "messages say 64T");
_Static_assert(SHMFS_WORKERS_MAX == 256, "messages say 1..256");
_Static_assert(SHMFS_BACKEND_COUNT == 7, "messages name seven backends");

static const char *const cache_names[] = {
	[SHMFS_CACHE_PAGE] = "page",
	[SHMFS_CACHE_DIRECT] = "direct",
	[SHMFS_CACHE_PASSTHROUGH] = "passthrough",
};

const char *shmfs_config_cache_name(enum shmfs_cache cache)
{
	return cache <= SHMFS_CACHE_PASSTHROUGH ? cache_names[cache] : "?";
}

static int parse_cache(struct config_parser *p, void *field, const char *value)
{
	(void)p;
	for (size_t i = 0; i < sizeof(cache_names) / sizeof(*cache_names);
	     i++) {
		if (strcmp(value, cache_names[i]) == 0) {
			*(enum shmfs_cache *)field = (enum shmfs_cache)i;
			return 0;
		}
	}
	return -EINVAL;
}

static const char *const io_uring_names[] = {
	[SHMFS_IO_URING_AUTO] = "auto",
	[SHMFS_IO_URING_ON] = "on",
	[SHMFS_IO_URING_OFF] = "off",
};

const char *shmfs_config_io_uring_name(enum shmfs_io_uring mode)
{
	return mode <= SHMFS_IO_URING_OFF ? io_uring_names[mode] : "?";
}

static int parse_io_uring(struct config_parser *p, void *field,
			  const char *value)
{
	(void)p;
	for (size_t i = 0; i < sizeof(io_uring_names) / sizeof(*io_uring_names);
	     i++) {
		if (strcmp(value, io_uring_names[i]) == 0) {
			*(enum shmfs_io_uring *)field = (enum shmfs_io_uring)i;
			return 0;
		}
	}
	return -EINVAL;
}

static int parse_backend(struct config_parser *p, void *field,
			 const char *value)
{
	(void)p;
	return shmfs_backend_parse(value, field);
}

static int parse_workers(struct config_parser *p, void *field,
			 const char *value)
{
	(void)p;
	return shmfs_parse_workers(value, field);
}

static int parse_log_level(struct config_parser *p, void *field,
			   const char *value)
{
	(void)p;
	return shmfs_parse_log_level(value, field);
}

static int parse_uid(struct config_parser *p, void *field, const char *value)
{
	(void)p;
	return shmfs_parse_uid(value, field);
}

static int parse_gid(struct config_parser *p, void *field, const char *value)
{
	(void)p;
	return shmfs_parse_gid(value, field);
}

static int parse_bool(struct config_parser *p, void *field, const char *value)
{
	(void)p;
	return shmfs_parse_bool(value, field);
}

static int parse_mode(struct config_parser *p, void *field, const char *value)
{
	mode_t *mode = field;
	int ret = shmfs_parse_mode(value, mode);

	if (ret == 0 && (*mode & (S_ISUID | S_ISGID))) {
		shmfs_config_fail(p, p->line,
				  "mode: \"%s\" sets setuid or setgid: zone "
				  "files hold data, not programs",
				  value);
		return -EINVAL;
	}
	return ret;
}

static int parse_cpus(struct config_parser *p, void *field, const char *value)
{
	struct shmfs_config *cfg = field;

	(void)p;
	return shmfs_parse_cpus(value, cfg->cpus, SHMFS_CPUS_MAX, &cfg->ncpus);
}

/* A copy of value in *field, which owns it (freed with the config). */
static int keep_copy(void *field, const char *value)
{
	char **copy = field;

	*copy = strdup(value);
	return *copy ? 0 : -ENOMEM;
}

static int parse_absolute_path(struct config_parser *p, void *field,
			       const char *value)
{
	(void)p;
	return value[0] == '/' ? keep_copy(field, value) : -EINVAL;
}

static int parse_log(struct config_parser *p, void *field, const char *value)
{
	struct shmfs_config *cfg = field;

	cfg->log_line = p->line;
	if (strcmp(value, "stderr") && strcmp(value, "syslog") &&
	    value[0] != '/')
		return -EINVAL;
	return keep_copy(&cfg->log, value);
}

/*
 * The workers' user. A name without a passwd entry is kept for
 * shmfs_config_check_user, not refused here. Its group is the user's own
 * unless group = says otherwise, before or after it.
 */
static int parse_user(struct config_parser *p, void *field, const char *value)
{
	struct shmfs_config *cfg = field;
	gid_t group;
	int ret = shmfs_parse_user(value, &cfg->user, &group);

	cfg->user_unknown = ret == -ENOENT;
	cfg->user_set = ret == 0;
	cfg->user_line = p->line;
	if (ret == 0 && !p->global.key_line[KEY_GROUP])
		cfg->group = group;
	if (ret == -ENOENT)
		ret = 0;
	return ret == 0 ? keep_copy(&cfg->user_name, value) : ret;
}

/* A zone's capacity: whole pages, but a shared object's is exact. */
static int parse_size(struct config_parser *p, void *field, const char *value)
{
	struct shmfs_zone_config *z = field;
	int ret = shmfs_parse_size(value, &z->requested);

	if (ret == 0 && z->requested == 0) {
		shmfs_config_fail(p, p->line, "size: must be greater than 0");
		return -EINVAL;
	}
	/* SHMFS_SIZE_MAX is a multiple of any page: no overflow. */
	z->requested_line = p->line;
	z->capacity = (z->requested + p->page - 1) / p->page * p->page;
	return ret;
}

/* name =, key = PATH:PROJ and path = each name the zone's one object. */
static int named_twice(struct config_parser *p, const char *object)
{
	if (object == NULL)
		return 0;
	shmfs_config_fail(p, p->line,
			  "%s: name, key = PATH:PROJ and path exclude each "
			  "other",
			  shmfs_config_keys[p->key].name);
	return -EINVAL;
}

/* A posix shared memory name: "/NAME", as shm_open(3) wants it. */
static int parse_posix_name(struct config_parser *p, void *field,
			    const char *value)
{
	size_t len = strlen(value);

	if (named_twice(p, *(char **)field))
		return -EINVAL;
	if (value[0] != '/' || len < 2 || len > 1 + 255 ||
	    strchr(value + 1, '/') || strcmp(value, "/.") == 0 ||
	    strcmp(value, "/..") == 0)
		return -EINVAL;
	return keep_copy(field, value);
}

/* A file's path: absolute, its last component not empty, "." or "..". */
static int parse_file_path(struct config_parser *p, void *field,
			   const char *value)
{
	const char *name = strrchr(value, '/');

	if (named_twice(p, *(char **)field))
		return -EINVAL;
	if (value[0] != '/' || name[1] == '\0' || strcmp(name, "/.") == 0 ||
	    strcmp(name, "/..") == 0)
		return -EINVAL;
	return keep_copy(field, value);
}

/* A sysv key: a number (0x.. and 0.. too), or "/PATH:PROJ" for ftok(3). */
static int parse_key(struct config_parser *p, void *field, const char *value)
{
	struct shmfs_zone_config *z = field;
	const char *colon = strrchr(value, ':');
	char *end;

	if (named_twice(p, z->object))
		return -EINVAL;
	if (value[0] == '/') {
		if (colon == NULL || colon == value + 1)
			return -EINVAL;
		errno = 0;
		long proj = strtol(colon + 1, &end, 10);
		if (colon[1] == '\0' || *end != '\0' || errno || proj < 1 ||
		    proj > 255)
			return -EINVAL;
		z->proj = (int)proj;
		z->object = strndup(value, colon - value);
		return z->object ? 0 : -ENOMEM;
	}
	if (value[0] < '0' || value[0] > '9')
		return -EINVAL;
	errno = 0;
	unsigned long long key = strtoull(value, &end, 0);
	if (*end != '\0')
		return -EINVAL;
	if (errno || key == 0 || key > 0xffffffffULL)
		return -ERANGE;
	z->key = (key_t)(uint32_t)key;
	return 0;
}

/*
 * Issue 18's keys (huge.h): huge_pages, numa, numa_node; populate is a
 * plain yes or no.
 */
static int parse_huge_pages(struct config_parser *p, void *field,
			    const char *value)
{
	for (int m = SHMFS_HUGE_OFF; m <= SHMFS_HUGE_ON; m++) {
		if (strcmp(value, shmfs_huge_mode_name(m)) == 0) {
			*(enum shmfs_huge_mode *)field = m;
			return 0;
		}
	}
	if (strcmp(value, "hugetlb") == 0) {
		shmfs_config_fail(p, p->line,
				  "huge_pages: \"hugetlb\" is not supported: "
				  "shmfs collapses a zone's shmem into 2 MiB "
				  "pages (off, try, on) and never uses a "
				  "hugetlb pool, whose memory write(2) cannot "
				  "store into (no passthrough zone, no page "
				  "cache)");
		return -EINVAL;
	}
	return -EINVAL;
}

static int parse_numa(struct config_parser *p, void *field, const char *value)
{
	(void)p;
	if (strcmp(value, "default") == 0)
		*(enum shmfs_numa_policy *)field = SHMFS_NUMA_DEFAULT;
	else if (strcmp(value, "interleave") == 0)
		*(enum shmfs_numa_policy *)field = SHMFS_NUMA_INTERLEAVE;
	else
		return -EINVAL;
	return 0;
}

static int parse_numa_node(struct config_parser *p, void *field,
			   const char *value)
{
	char *end;
	long node;

	(void)p;
	if (strcmp(value, "none") == 0) {
		*(int *)field = -1;
		return 0;
	}
	if (value[0] < '0' || value[0] > '9')
		return -EINVAL;
	errno = 0;
	node = strtol(value, &end, 10);
	if (*end != '\0')
		return -EINVAL;
	if (errno || node >= SHMFS_NUMA_NODES_MAX ||
	    !shmfs_numa_node_exists("/sys", (int)node))
		return -ERANGE;
	*(int *)field = (int)node;
	return 0;
}

/* ---- backend = process (issue 19) ---- */

/* process =: a pid file's absolute path, or a process id (1..2^22). */
static int parse_process(struct config_parser *p, void *field,
			 const char *value)
{
	char *end;

	if (named_twice(p, *(char **)field))
		return -EINVAL;
	if (value[0] == '/')
		return parse_file_path(p, field, value);
	if (value[0] < '1' || value[0] > '9')
		return -EINVAL;
	errno = 0;
	unsigned long pid = strtoul(value, &end, 10);
	if (*end != '\0' || errno || pid > 4194304)
		return -EINVAL;
	return keep_copy(field, value);
}

static int parse_match(struct config_parser *p, void *field, const char *value)
{
	(void)p;
	if (strlen(value) > SHMFS_MATCH_MAX)
		return -EINVAL;
	memcpy(field, value, strlen(value) + 1);
	return 0;
}

/* address = START-END, hexadecimal as /proc/PID/maps writes it. */
static int parse_address(struct config_parser *p, void *field,
			 const char *value)
{
	struct shmfs_zone_config *z = field;
	uint64_t start, end;

	(void)p;
	if (shmfs_process_parse_range(value, &start, &end) < 0)
		return -EINVAL;
	z->map_start = start;
	z->map_end = end;
	return 0;
}

/* ---- end of backend = process ---- */

static void show_backend(const void *field, const char *no_passthrough,
			 char *buf, size_t len)
{
	(void)no_passthrough;
	snprintf(buf, len, "%s",
		 shmfs_backend_name(*(const enum shmfs_backend *)field));
}

/* The mode the zone will run in: "page*" where passthrough cannot be had. */
static void show_cache(const void *field, const char *no_passthrough, char *buf,
		       size_t len)
{
	enum shmfs_cache cache = *(const enum shmfs_cache *)field;

	if (cache == SHMFS_CACHE_PASSTHROUGH && no_passthrough)
		snprintf(buf, len, "page*");
	else
		snprintf(buf, len, "%s", shmfs_config_cache_name(cache));
}

static void show_capacity(const void *field, const char *no_passthrough,
			  char *buf, size_t len)
{
	(void)no_passthrough;
	snprintf(buf, len, "%" PRIu64,
		 ((const struct shmfs_zone_config *)field)->capacity);
}

static void show_mode(const void *field, const char *no_passthrough, char *buf,
		      size_t len)
{
	(void)no_passthrough;
	snprintf(buf, len, "%04o", (unsigned)(*(const mode_t *)field & 07777));
}

/* A uid or a gid: both are 32-bit ids. */
static void show_id(const void *field, const char *no_passthrough, char *buf,
		    size_t len)
{
	_Static_assert(sizeof(uid_t) == 4 && sizeof(gid_t) == 4, "32-bit ids");
	(void)no_passthrough;
	snprintf(buf, len, "%u", *(const unsigned *)field);
}

/* The field and column specs of config_keys.def. */
/* clang-format off */
#define OF_GLOBAL(f) offsetof(struct shmfs_config, f)
#define OF_ZONE(f) offsetof(struct shmfs_zone_config, f)
#define GLOBAL(f) .at = {OF_GLOBAL(f), NOWHERE}
#define ZONE(f) .at = {NOWHERE, OF_ZONE(f)}
#define BOTH(f) .at = {OF_GLOBAL(f), OF_ZONE(f)}, \
		.size = sizeof(((struct shmfs_config *)0)->f)
#define GLOBAL_RECORD .at = {0, NOWHERE}
#define ZONE_RECORD .at = {NOWHERE, 0}
#define COLUMN(h, w, align, fn) \
	{.header = h, .width = w, .right = align, .show = fn}
#define NO_COLUMN {.header = NULL}
#define LEFT false
#define RIGHT true
/* clang-format on */

const struct config_key shmfs_config_keys[KEY_COUNT] = {
#define KEY(id, name_, field, parser, fallback_, column_, man_, invalid_,      \
	    range_)                                                            \
	[KEY_##id] = {.name = name_,                                           \
		      field,                                                   \
		      .parse = parser,                                         \
		      .fallback = fallback_,                                   \
		      .column = column_,                                       \
		      .man = man_,                                             \
		      .invalid = invalid_,                                     \
		      .range = range_},
#include "config_keys.def"
#undef KEY
};

static void value_error(struct config_parser *p, const struct config_key *key,
			const char *value, int ret)
{
	const char *what = NULL;

	if (ret == -ENOMEM) {
		shmfs_config_fail_nomem(p);
		return;
	}
	if (ret == -EINVAL || ret == -ENOENT)
		what = key->invalid;
	else if (ret == -ERANGE)
		what = key->range;
	if (what)
		shmfs_config_fail(p, p->line, "%s: \"%s\" %s", key->name, value,
				  what);
	else
		shmfs_config_fail(p, p->line, "%s: cannot look up \"%s\" (%s)",
				  key->name, value, strerror(-ret));
}

/* Parses value into record, the section's (where); an error is recorded. */
static void set_value(struct config_parser *p, void *record,
		      enum config_where where, enum config_key_id id,
		      const char *value)
{
	const struct config_key *key = &shmfs_config_keys[id];
	int ret;

	p->key = id;
	ret = key->parse(p, (char *)record + key->at[where], value);
	if (ret < 0)
		value_error(p, key, value, ret);
}

void shmfs_config_set_default(struct config_parser *p, void *record,
			      enum config_where where, enum config_key_id key)
{
	if (shmfs_config_keys[key].fallback)
		set_value(p, record, where, key,
			  shmfs_config_keys[key].fallback);
}

/* The key called name in that section; KEY_COUNT if there is none. */
static enum config_key_id find_key(const char *name, enum config_where where)
{
	int key;

	for (key = 0; key < KEY_COUNT; key++)
		if (shmfs_config_keys[key].at[where] != NOWHERE &&
		    strcmp(name, shmfs_config_keys[key].name) == 0)
			break;
	return (enum config_key_id)key;
}

/* The line's key in its section: checked, and its value parsed. */
static void handle_key(struct config_parser *p, struct shmfs_zone_config *z,
		       struct config_section *sec, const char *name,
		       const char *value)
{
	enum config_where where = z ? IN_ZONE : IN_GLOBAL;
	enum config_key_id key = find_key(name, where);

	if (key == KEY_COUNT && z)
		shmfs_config_fail(p, p->line, "unknown key \"%s\" in [zone:%s]",
				  name, z->name);
	else if (key == KEY_COUNT)
		shmfs_config_fail(p, p->line, "unknown key \"%s\" in [shmfs]",
				  name);
	else if (sec->key_line[key])
		shmfs_config_fail(p, p->line,
				  "key \"%s\" given twice (first at line %d)",
				  name, sec->key_line[key]);
	else if (*value == '\0')
		shmfs_config_fail(p, p->line, "%s: value is empty", name);
	if (p->ret)
		return;
	sec->key_line[key] = p->line;
	set_value(p, z ? (void *)z : (void *)p->cfg, where, key, value);
}

/* Name and value are at most a line long: see config_reader.c. */
int shmfs_config_handle(void *user, const char *section, const char *name,
			const char *value)
{
	struct config_parser *p = user;
	size_t zone;

	p->pending = false;
	if (p->ret)
		return 0;
	if (*section == '\0')
		shmfs_config_fail(p, p->line,
				  "key \"%s\" is outside any section", name);
	else if (*name == '\0')
		shmfs_config_fail(p, p->line, "malformed line");
	if (p->ret)
		return 0;
	/* The reader rewrote a zone's header to "[INDEX]". */
	if (strcmp(section, "shmfs") == 0) {
		handle_key(p, NULL, &p->global, name, value);
	} else {
		zone = strtoul(section, NULL, 10);
		handle_key(p, &p->cfg->zones[zone], &p->zones[zone], name,
			   value);
	}
	return p->ret == 0;
}

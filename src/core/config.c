/* SPDX-License-Identifier: MIT */
/*
 * The configuration file: what each key means and accepts, the defaults that
 * zones take from [shmfs] (wherever [shmfs] stands in the file), and the
 * checks that need the whole file. inih splits "key = value" lines, fed by
 * config_reader.c one line at a time, so every message names its line.
 */
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "config_parser.h"
#include "shmfs/shm.h"
#include "shmfs/limits.h"
#include "shmfs/parse.h"

/* Nobody writes a configuration this big; /dev/zero would never end. */
#define FILE_MAX (16 * 1024 * 1024)

_Static_assert(SHMFS_SIZE_MAX == (uint64_t)64 << 40, "messages say 64T");
_Static_assert(SHMFS_WORKERS_MAX == 256, "messages say 1..256");
_Static_assert(SHMFS_BACKEND_COUNT == 6, "messages name six backends");

#define IN_GLOBAL 1u
#define IN_ZONE 2u

static const struct {
	const char *name;
	unsigned where;
	const char *invalid; /* says what a malformed value is not */
	const char *range;
} keys[KEY_COUNT] = {
	[KEY_WORKERS] = {"workers", IN_GLOBAL,
			 "is not a number (1..256 or auto)",
			 "is out of range (1..256 or auto)"},
	[KEY_BACKEND] =
		{"backend", IN_GLOBAL | IN_ZONE,
		 "is not a backend (anon, devzero, sysv, memfd, posix, file)",
		 NULL},
	[KEY_MODE] = {"mode", IN_GLOBAL | IN_ZONE, "is not an octal mode",
		      "is out of range (max 07777)"},
	[KEY_UID] = {"uid", IN_GLOBAL | IN_ZONE, "is not a user",
		     "is out of range (0..4294967294)"},
	[KEY_GID] = {"gid", IN_GLOBAL | IN_ZONE, "is not a group",
		     "is out of range (0..4294967294)"},
	[KEY_LOG_LEVEL] = {"log_level", IN_GLOBAL,
			   "is not a log level (debug, info, notice, warn, "
			   "error, alert)",
			   NULL},
	[KEY_LOG] = {"log", IN_GLOBAL,
		     "is not stderr, syslog or an absolute path", NULL},
	[KEY_PID] = {"pid", IN_GLOBAL, "is not an absolute path", NULL},
	[KEY_CACHE] = {"cache", IN_GLOBAL | IN_ZONE,
		       "is not a cache mode (page, direct, passthrough)", NULL},
	[KEY_CPU_AFFINITY] = {"cpu_affinity", IN_GLOBAL,
			      "is not off, auto or a list of CPU numbers",
			      "names a CPU that is not online, or twice"},
	[KEY_USER] = {"user", IN_GLOBAL, "is not a user",
		      "is out of range (0..4294967294)"},
	[KEY_GROUP] = {"group", IN_GLOBAL, "is not a group",
		       "is out of range (0..4294967294)"},
	[KEY_SIZE] = {"size", IN_ZONE, "is not a size",
		      "is too large (max 64T)"},
	[KEY_NAME] = {"name", IN_ZONE,
		      "is not a posix name (/NAME, one slash, 255 bytes at "
		      "most)",
		      NULL},
	[KEY_KEY] = {"key", IN_ZONE,
		     "is not a key (a number other than 0, or "
		     "/PATH:PROJ with PROJ 1..255)",
		     "is out of range (1..0xffffffff)"},
	[KEY_PATH] = {"path", IN_ZONE, "is not an absolute path to a file",
		      NULL},
	[KEY_ATTACH] = {"attach", IN_ZONE, "is not yes or no", NULL},
	[KEY_KEEP] = {"keep", IN_ZONE, "is not yes or no", NULL},
	[KEY_OBJECT_OWNER] = {"object_owner", IN_ZONE, "is not a user",
			      "is out of range (0..4294967294)"},
};

static const char *const cache_names[] = {
	[SHMFS_CACHE_PAGE] = "page",
	[SHMFS_CACHE_DIRECT] = "direct",
	[SHMFS_CACHE_PASSTHROUGH] = "passthrough",
};

const char *shmfs_config_cache_name(enum shmfs_cache cache)
{
	return cache <= SHMFS_CACHE_PASSTHROUGH ? cache_names[cache] : "?";
}

static int parse_cache(const char *value, enum shmfs_cache *cache)
{
	for (size_t i = 0; i < sizeof(cache_names) / sizeof(*cache_names);
	     i++) {
		if (strcmp(value, cache_names[i]) == 0) {
			*cache = (enum shmfs_cache)i;
			return 0;
		}
	}
	return -EINVAL;
}

static int parse_bool(const char *value, bool *out)
{
	if (strcmp(value, "yes") == 0 || strcmp(value, "true") == 0 ||
	    strcmp(value, "on") == 0)
		*out = true;
	else if (strcmp(value, "no") == 0 || strcmp(value, "false") == 0 ||
		 strcmp(value, "off") == 0)
		*out = false;
	else
		return -EINVAL;
	return 0;
}

/* A posix shared memory name: "/NAME", as shm_open(3) wants it. */
static int parse_posix_name(const char *value, char **out)
{
	size_t len = strlen(value);

	if (value[0] != '/' || len < 2 || len > 1 + 255 ||
	    strchr(value + 1, '/') || strcmp(value, "/.") == 0 ||
	    strcmp(value, "/..") == 0)
		return -EINVAL;
	*out = strdup(value);
	return *out ? 0 : -ENOMEM;
}

/* A sysv key: a number (0x.. and 0.. too), or "/PATH:PROJ" for ftok(3). */
static int parse_key(const char *value, struct shmfs_zone_config *z)
{
	const char *colon = strrchr(value, ':');
	char *end;

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

/* The last component of a file's path: not empty, "." or "..". */
static bool is_file_name(const char *name)
{
	return *name && strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

static void value_error(struct parser *p, enum key key, const char *value,
			int ret)
{
	const char *what = NULL;

	if (ret == -ENOMEM) {
		shmfs_config_fail_nomem(p);
		return;
	}
	if (ret == -EINVAL || ret == -ENOENT)
		what = keys[key].invalid;
	else if (ret == -ERANGE)
		what = keys[key].range;
	if (what)
		shmfs_config_fail(p, p->line, "%s: \"%s\" %s", keys[key].name,
				  value, what);
	else
		shmfs_config_fail(p, p->line, "%s: cannot look up \"%s\" (%s)",
				  keys[key].name, value, strerror(-ret));
}

/* Parses the value of key into the zone z, or into the globals. */
static void set_value(struct parser *p, struct shmfs_zone_config *z,
		      enum key key, const char *value)
{
	struct shmfs_config *cfg = p->cfg;
	int ret = 0;

	switch (key) {
	case KEY_WORKERS:
		ret = shmfs_parse_workers(value, &cfg->workers);
		break;
	case KEY_BACKEND:
		ret = shmfs_backend_parse(value,
					      z ? &z->backend : &cfg->backend);
		break;
	case KEY_MODE:
		ret = shmfs_parse_mode(value, z ? &z->mode : &cfg->mode);
		if (ret == 0 &&
		    ((z ? z->mode : cfg->mode) & (S_ISUID | S_ISGID))) {
			shmfs_config_fail(p, p->line,
					  "mode: \"%s\" sets setuid or setgid: "
					  "zone files hold data, not programs",
					  value);
			return;
		}
		break;
	case KEY_UID:
		ret = shmfs_parse_uid(value, z ? &z->uid : &cfg->uid);
		break;
	case KEY_GID:
		ret = shmfs_parse_gid(value, z ? &z->gid : &cfg->gid);
		break;
	case KEY_LOG_LEVEL:
		ret = shmfs_parse_log_level(value, &cfg->log_level);
		break;
	case KEY_LOG:
		if (strcmp(value, "stderr") && strcmp(value, "syslog") &&
		    value[0] != '/')
			ret = -EINVAL;
		else if (!(cfg->log = strdup(value)))
			ret = -ENOMEM;
		cfg->log_line = p->line;
		break;
	case KEY_CPU_AFFINITY:
		ret = shmfs_parse_cpus(value, cfg->cpus, SHMFS_CPUS_MAX,
				       &cfg->ncpus);
		break;
	case KEY_PID:
		if (value[0] != '/')
			ret = -EINVAL;
		else if (!(cfg->pid = strdup(value)))
			ret = -ENOMEM;
		break;
	case KEY_USER:
		ret = shmfs_parse_user(value, &cfg->user, &cfg->group);
		cfg->user_unknown = ret == -ENOENT; /* see check_user */
		cfg->user_set = ret == 0;
		if (cfg->user_unknown)
			ret = 0;
		cfg->user_line = p->line;
		if (ret == 0 && !(cfg->user_name = strdup(value)))
			ret = -ENOMEM;
		break;
	case KEY_GROUP:
		ret = shmfs_parse_gid(value, &p->group);
		break;
	case KEY_CACHE:
		ret = parse_cache(value, z ? &z->cache : &cfg->cache);
		break;
	case KEY_SIZE:
		ret = shmfs_parse_size(value, &z->size);
		if (ret == 0 && z->size == 0) {
			shmfs_config_fail(p, p->line,
					  "size: must be greater than 0");
			return;
		}
		/* SHMFS_SIZE_MAX is a multiple of any page: no overflow. */
		z->requested = z->size;
		z->size_line = p->line;
		z->size = (z->size + p->page - 1) / p->page * p->page;
		break;
	case KEY_NAME:
		ret = parse_posix_name(value, &z->object);
		break;
	case KEY_KEY:
		ret = parse_key(value, z);
		break;
	case KEY_PATH:
		if (value[0] != '/' || !is_file_name(strrchr(value, '/') + 1))
			ret = -EINVAL;
		else if (!(z->object = strdup(value)))
			ret = -ENOMEM;
		break;
	case KEY_ATTACH:
		ret = parse_bool(value, &z->attach);
		break;
	case KEY_KEEP:
		ret = parse_bool(value, &z->keep);
		break;
	case KEY_OBJECT_OWNER:
		ret = shmfs_parse_uid(value, &z->object_owner);
		break;
	case KEY_COUNT:
		break;
	}
	if (ret < 0)
		value_error(p, key, value, ret);
}

/* inih's handler: name and value are at most a line long, see reader. */
static int handler(void *user, const char *section, const char *name,
		   const char *value)
{
	struct parser *p = user;
	struct shmfs_zone_config *z = NULL;
	struct section *sec = &p->global;
	int key;

	p->pending = false;
	if (p->ret)
		return 0;
	if (*section == '\0') {
		shmfs_config_fail(p, p->line,
				  "key \"%s\" is outside any section", name);
		return 0;
	}
	if (strcmp(section, "shmfs") != 0) {
		size_t i = strtoul(section, NULL, 10);

		z = &p->cfg->zones[i];
		sec = &p->zones[i];
	}
	if (*name == '\0') {
		shmfs_config_fail(p, p->line, "malformed line");
		return 0;
	}
	for (key = 0; key < KEY_COUNT; key++) {
		if ((keys[key].where & (z ? IN_ZONE : IN_GLOBAL)) &&
		    strcmp(name, keys[key].name) == 0)
			break;
	}
	if (key == KEY_COUNT) {
		if (z)
			shmfs_config_fail(p, p->line,
					  "unknown key \"%s\" in [zone:%s]",
					  name, z->name);
		else
			shmfs_config_fail(p, p->line,
					  "unknown key \"%s\" in [shmfs]",
					  name);
		return 0;
	}
	if (sec->key_line[key])
		shmfs_config_fail(p, p->line,
				  "key \"%s\" given twice (first at line %d)",
				  name, sec->key_line[key]);
	else if (*value == '\0')
		shmfs_config_fail(p, p->line, "%s: value is empty", name);
	else if ((key == KEY_NAME || key == KEY_KEY || key == KEY_PATH) &&
		 z->object)
		shmfs_config_fail(p, p->line,
				  "%s: name, key = PATH:PROJ and path exclude "
				  "each other",
				  name);
	if (p->ret)
		return 0;
	sec->key_line[key] = p->line;
	set_value(p, z, (enum key)key, value);
	return p->ret == 0;
}

/* user = and group = : the workers' ids. */
static void resolve_user(struct parser *p)
{
	struct shmfs_config *cfg = p->cfg;
	const int *line = p->global.key_line;

	if (line[KEY_GROUP] && !line[KEY_USER])
		shmfs_config_fail(p, line[KEY_GROUP], "group: needs user =");
	else if (line[KEY_GROUP])
		cfg->group = p->group;
	else if (line[KEY_USER] && cfg->user_set && cfg->group == (gid_t)-1)
		shmfs_config_fail(p, line[KEY_USER],
				  "user: uid %u has no passwd entry: give "
				  "group = too",
				  (unsigned)cfg->user);
}

/*
 * Passthrough needs a backing object that cannot grow past the zone: the
 * kernel writes it for clients and would extend it past the end unseen. Of
 * the backends only a memfd can be sealed against that, so a passthrough
 * zone is a memfd. A backend named beside its cache mode (in the zone, or
 * in [shmfs] when the zone takes both from there) must be memfd; the
 * [shmfs] default backend does not apply to a zone that asks for
 * passthrough itself.
 */
static void resolve_passthrough(struct parser *p, struct shmfs_zone_config *z,
				const int *line)
{
	int at = line[KEY_BACKEND] ? line[KEY_BACKEND]
		 : line[KEY_CACHE] ? 0
				   : p->global.key_line[KEY_BACKEND];

	if (z->cache != SHMFS_CACHE_PASSTHROUGH)
		return;
	if (!at)
		z->backend = SHMFS_BACKEND_MEMFD;
	else if (z->backend != SHMFS_BACKEND_MEMFD)
		shmfs_config_fail(
			p, at,
			"[zone:%s]: cache = passthrough needs backend "
			"= memfd (only a memfd can be sealed so that "
			"a write past the end cannot grow the zone)",
			z->name);
}

/*
 * Where a zone's bytes are an object other programs reach (posix, file,
 * keyed sysv): the keys that name it, its size (the object's: exact, and
 * left out for one that exists), and its default name.
 */
static void resolve_object(struct parser *p, struct shmfs_zone_config *z,
			   const int *line)
{
	bool posix = z->backend == SHMFS_BACKEND_POSIX;
	bool file = z->backend == SHMFS_BACKEND_FILE;
	bool keyed = z->backend == SHMFS_BACKEND_SYSV && line[KEY_KEY];

	if (line[KEY_NAME] && !posix)
		shmfs_config_fail(p, line[KEY_NAME],
				  "name: only for backend = posix");
	else if (line[KEY_KEY] && !keyed)
		shmfs_config_fail(p, line[KEY_KEY],
				  "key: only for backend = sysv");
	else if (line[KEY_PATH] && !file)
		shmfs_config_fail(p, line[KEY_PATH],
				  "path: only for backend = file");
	else if (file && !line[KEY_PATH])
		shmfs_config_fail(
			p, z->line,
			"[zone:%s]: backend = file needs path =", z->name);
	else if (line[KEY_ATTACH] && !posix && !keyed)
		shmfs_config_fail(p, line[KEY_ATTACH],
				  "attach: only for backend = posix, or sysv "
				  "with key =");
	else if (line[KEY_KEEP] && !posix && !keyed)
		shmfs_config_fail(p, line[KEY_KEEP],
				  "keep: only for backend = posix, or sysv "
				  "with key = (a file is always kept)");
	else if (line[KEY_OBJECT_OWNER] && !file && !z->attach)
		shmfs_config_fail(p, line[KEY_OBJECT_OWNER],
				  "object_owner: only for backend = file, or "
				  "with attach = yes (shmfs owns what it "
				  "creates)");
	if (p->ret)
		return;
	if (posix && !z->object) {
		char name[2 * SHMFS_NAME_MAX];

		snprintf(name, sizeof(name), "/shmfs.%s", z->name);
		if (strlen(name) > 1 + 255) {
			shmfs_config_fail(p, z->line,
					  "[zone:%s]: %s is too long for a "
					  "posix name: give name =",
					  z->name, name);
			return;
		}
		z->object = strdup(name);
		if (z->object == NULL) {
			shmfs_config_fail_nomem(p);
			return;
		}
	}
	if (line[KEY_SIZE] && shmfs_zone_config_shared(z))
		z->size = z->requested; /* the object's, not rounded */
	else if (!line[KEY_SIZE] && posix && !z->attach)
		shmfs_config_fail(p, z->line,
				  "[zone:%s]: size is required to create "
				  "posix object %s (or attach = yes)",
				  z->name, z->object);
	else if (!line[KEY_SIZE] && keyed && !z->attach)
		shmfs_config_fail(p, z->line,
				  "[zone:%s]: size is required to create "
				  "the segment with key = (or attach = yes)",
				  z->name);
	else if (!line[KEY_SIZE] && !shmfs_zone_config_shared(z))
		shmfs_config_fail(p, z->line, "[zone:%s]: size is required",
				  z->name);
}

/*
 * Other programs write a shared object behind the kernel's page cache of
 * the zone file, which would then serve stale bytes: such zones run direct
 * (every read reaches the memory). Passthrough needs a sealed memfd (see
 * resolve_passthrough). The [shmfs] default does not apply to them.
 */
static void resolve_cache(struct parser *p, struct shmfs_zone_config *z,
			  const int *line)
{
	if (!shmfs_zone_config_shared(z))
		return;
	if (!line[KEY_CACHE])
		z->cache = SHMFS_CACHE_DIRECT;
	else if (z->cache != SHMFS_CACHE_DIRECT)
		shmfs_config_fail(
			p, line[KEY_CACHE],
			"[zone:%s]: cache = %s cannot show what other "
			"programs write into a %s object: use cache = direct%s",
			z->name, shmfs_config_cache_name(z->cache),
			shmfs_backend_name(z->backend),
			z->cache == SHMFS_CACHE_PAGE
				? " (the kernel's page cache of the zone file "
				  "would serve stale bytes)"
				: " (passthrough needs a memfd, which only "
				  "the daemon maps)");
}

/* Two zones over one object would each think the bytes their own. */
static void check_objects(struct parser *p)
{
	struct shmfs_config *cfg = p->cfg;

	for (size_t i = 0; i < cfg->nzones && !p->ret; i++) {
		if (!shmfs_zone_config_shared(&cfg->zones[i]))
			continue;
		for (size_t j = 0; j < i; j++) {
			if (!shmfs_zone_config_same_object(&cfg->zones[i],
							   &cfg->zones[j]))
				continue;
			shmfs_config_fail(p, cfg->zones[i].line,
					  "[zone:%s]: same object as "
					  "[zone:%s] (line %d)",
					  cfg->zones[i].name,
					  cfg->zones[j].name,
					  cfg->zones[j].line);
			break;
		}
	}
}

/* Fills in zone defaults from [shmfs] and checks what needs every zone. */
static void resolve(struct parser *p)
{
	struct shmfs_config *cfg = p->cfg;
	uint64_t total = 0;
	size_t i;

	resolve_user(p);
	for (i = 0; i < cfg->nzones && !p->ret; i++) {
		struct shmfs_zone_config *z = &cfg->zones[i];
		const int *line = p->zones[i].key_line;

		/* A zone asking for passthrough itself is a memfd (below). */
		if (!line[KEY_BACKEND] &&
		    !(line[KEY_CACHE] && z->cache == SHMFS_CACHE_PASSTHROUGH))
			z->backend = cfg->backend;
		if (!line[KEY_MODE])
			z->mode = cfg->mode;
		if (!line[KEY_UID])
			z->uid = cfg->uid;
		if (!line[KEY_GID])
			z->gid = cfg->gid;
		if (!line[KEY_CACHE])
			z->cache = cfg->cache;
		resolve_object(p, z, line);
		if (p->ret)
			break;
		total += z->size;
		if (total > SHMFS_SIZE_MAX)
			shmfs_config_fail(p, line[KEY_SIZE],
					  "size: total of all zones is too "
					  "large (max 64T)");
		resolve_cache(p, z, line);
		if (!p->ret)
			resolve_passthrough(p, z, line);
	}
	if (!p->ret)
		check_objects(p);
}

/*
 * With pid set, a failed parse still hands out the pid = read before the
 * mistake (see shmfs_config_load_pid); *pid is NULL otherwise.
 */
static int parse(const char *text, size_t len, const char *file,
		 struct shmfs_config *cfg, char *err, size_t errlen, char **pid)
{
	struct parser p = {
		.text = text,
		.len = len,
		.file = file,
		.cfg = cfg,
		.err = err,
		.errlen = errlen,
	};
	long page = sysconf(_SC_PAGESIZE);
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	if (err && errlen)
		err[0] = '\0';
	p.page = page > 0 ? (uint64_t)page : 4096;
	cfg->backend = SHMFS_BACKEND_ANON;
	cfg->mode = 0600;
	cfg->uid = geteuid();
	cfg->gid = getegid();
	cfg->log_level = LOG_NOTICE;
	cfg->file = strdup(file);
	if (!cfg->file)
		shmfs_config_fail_nomem(&p);
	ret = p.ret ? 0
		    : ini_parse_stream(shmfs_config_read_line, &p, handler, &p);
	if (ret > 0)
		shmfs_config_fail(&p, ret, "malformed line");
	else if (ret < 0)
		shmfs_config_fail_nomem(&p);
	if (!p.ret)
		resolve(&p);
	free(p.zones);
	free(p.names);
	if (p.ret && pid) {
		*pid = cfg->pid;
		cfg->pid = NULL;
	}
	if (p.ret)
		shmfs_config_free(cfg);
	return p.ret;
}

int shmfs_config_parse_string(const char *text, const char *file,
			      struct shmfs_config *cfg, char *err,
			      size_t errlen)
{
	return parse(text, strlen(text), file, cfg, err, errlen, NULL);
}

/* The whole file in memory, so that it parses exactly like a string. */
static int read_file(const char *path, char **out, size_t *outlen)
{
	size_t len = 0, cap = 0;
	char *buf = NULL, *nbuf;
	ssize_t n;
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : 4096;
			nbuf = cap <= FILE_MAX ? realloc(buf, cap) : NULL;
			if (!nbuf) {
				ret = cap <= FILE_MAX ? -ENOMEM : -EFBIG;
				break;
			}
			buf = nbuf;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (ret < 0) {
		free(buf);
		return ret;
	}
	*out = buf;
	*outlen = len;
	return 0;
}

static int load(const char *path, struct shmfs_config *cfg, char *err,
		size_t errlen, char **pid)
{
	char *text = NULL;
	size_t len = 0;
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	ret = read_file(path, &text, &len);
	if (ret < 0) {
		if (err && errlen)
			snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	ret = parse(text ? text : "", len, path, cfg, err, errlen, pid);
	free(text);
	return ret;
}

int shmfs_config_load(const char *path, struct shmfs_config *cfg, char *err,
		      size_t errlen)
{
	return load(path, cfg, err, errlen, NULL);
}

const char *shmfs_config_default_path(void)
{
	const char *env = getenv("SHMFS_CONFIG");

	return env && *env ? env : SHMFS_CONFIG_PATH;
}

static int load_default(const char *path, struct shmfs_config *cfg, char *err,
			size_t errlen, char **pid)
{
	const char *def = shmfs_config_default_path();

	if (pid)
		*pid = NULL;
	if (path != NULL)
		return load(path, cfg, err, errlen, pid);
	if (access(def, F_OK) == 0)
		return load(def, cfg, err, errlen, pid);
	return parse(shmfs_default_ini, strlen(shmfs_default_ini), "<built-in>",
		     cfg, err, errlen, pid);
}

int shmfs_config_load_default(const char *path, struct shmfs_config *cfg,
			      char *err, size_t errlen)
{
	return load_default(path, cfg, err, errlen, NULL);
}

int shmfs_config_load_pid(const char *path, char **pid, char *err,
			  size_t errlen)
{
	struct shmfs_config cfg;
	int ret = load_default(path, &cfg, err, errlen, pid);

	if (ret == 0) {
		*pid = cfg.pid;
		cfg.pid = NULL;
		shmfs_config_free(&cfg);
	}
	return ret;
}

int shmfs_config_check_user(const struct shmfs_config *cfg, char *err,
			    size_t errlen)
{
	if (!cfg->user_unknown)
		return 0;
	snprintf(err, errlen,
		 "%s:%d: user: \"%s\" is not a user (workers need one of "
		 "their own: adduser --system --group --no-create-home %s)",
		 cfg->file, cfg->user_line, cfg->user_name, cfg->user_name);
	return -EINVAL;
}

void shmfs_config_free(struct shmfs_config *cfg)
{
	for (size_t i = 0; cfg->zones && i < cfg->nzones; i++)
		free(cfg->zones[i].object);
	free(cfg->file);
	free(cfg->log);
	free(cfg->pid);
	free(cfg->user_name);
	free(cfg->zones);
	memset(cfg, 0, sizeof(*cfg));
}

static int wider(int width, uint64_t v)
{
	int n = snprintf(NULL, 0, "%" PRIu64, v);

	return n > width ? n : width;
}

/* The cache mode a zone will run in, as -t shows it. */
static const char *run_mode(const struct shmfs_zone_config *z,
			    const char *no_passthrough)
{
	if (z->cache == SHMFS_CACHE_PASSTHROUGH && no_passthrough)
		return "page*";
	return shmfs_config_cache_name(z->cache);
}

void shmfs_zone_config_shm(const struct shmfs_zone_config *z,
			   struct shmfs_shm *shm)
{
	*shm = (struct shmfs_shm){
		.size = z->size,
		.backend = z->backend,
		.label = z->name,
		.object = z->object,
		.key = z->key,
		.proj = z->proj,
		.attach = z->attach,
		.keep = z->keep,
		.mode = z->mode,
		.uid = z->uid,
		.gid = z->gid,
		.object_owner = z->object_owner,
		.fd = -1,
	};
}

void shmfs_config_print(const struct shmfs_config *cfg,
			const char *no_passthrough, FILE *out)
{
	size_t fallback = 0, shared = 0;
	struct shmfs_shm shm;
	char object[PATH_MAX + 64];

	int wname = 4, wbackend = 7, wcache = 6, wbytes = 5, wuid = 3, wgid = 3;
	int n;
	const struct shmfs_zone_config *z;
	uint64_t total = 0;

	/* Indexes, not pointer bounds: zones is NULL when there are none. */
	for (size_t i = 0; i < cfg->nzones; i++) {
		z = &cfg->zones[i];
		n = (int)strlen(z->name);
		wname = n > wname ? n : wname;
		n = (int)strlen(shmfs_backend_name(z->backend));
		wbackend = n > wbackend ? n : wbackend;
		n = (int)strlen(run_mode(z, no_passthrough));
		fallback += z->cache == SHMFS_CACHE_PASSTHROUGH;
		wcache = n > wcache ? n : wcache;
		wbytes = wider(wbytes, z->size);
		wuid = wider(wuid, z->uid);
		wgid = wider(wgid, z->gid);
		total += z->size;
		shared += shmfs_zone_config_shared(z);
	}
	/* The OBJECT column only where some zone names one. */
	fprintf(out, "%-*s %-*s %-*s %*s MODE %*s %*s%s\n", wname, "NAME",
		wbackend, "BACKEND", wcache, "CACHE", wbytes, "BYTES", wuid,
		"UID", wgid, "GID", shared ? " OBJECT" : "");
	for (size_t i = 0; i < cfg->nzones; i++) {
		z = &cfg->zones[i];
		shmfs_zone_config_shm(z, &shm);
		shmfs_shm_describe(&shm, object, sizeof(object));
		fprintf(out, "%-*s %-*s %-*s %*" PRIu64 " %04o %*u %*u%s%s\n",
			wname, z->name, wbackend,
			shmfs_backend_name(z->backend), wcache,
			run_mode(z, no_passthrough), wbytes, z->size,
			(unsigned)(z->mode & 07777), wuid, (unsigned)z->uid,
			wgid, (unsigned)z->gid, shared ? " " : "",
			shared ? object : "");
	}
	fprintf(out, "%zu zone%s, %" PRIu64 " bytes, workers ", cfg->nzones,
		cfg->nzones == 1 ? "" : "s", total);
	if (cfg->workers)
		fprintf(out, "%u\n", cfg->workers);
	else
		fprintf(out, "auto\n");
	if (fallback > 0 && no_passthrough)
		fprintf(out,
			"* passthrough unavailable here (%s): these zones "
			"run in page mode, fixed size kept\n",
			no_passthrough);
}

/* SPDX-License-Identifier: MIT */
/*
 * The configuration file. inih splits "key = value" lines, but it is fed by
 * a reader of our own that hands it one line at a time: so we always know
 * the line number, we see every section header (inih as Debian builds it
 * shows neither), and we refuse what inih would accept or mangle in silence:
 * continuation lines, lines longer than its buffer, section names longer than
 * its 50 bytes. Values are checked as they come; zones take their defaults
 * from [shmfs] at the end, wherever [shmfs] stood in the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "shmfs/config.h"
#include "shmfs/value.h"

/* Nobody writes a configuration this big; /dev/zero would never end. */
#define FILE_MAX (16 * 1024 * 1024)

/* Longest name or value quoted back in a message. */
#define QUOTE_MAX 512

_Static_assert(SHMFS_SIZE_MAX == (uint64_t)64 << 40, "messages say 64T");
_Static_assert(SHMFS_WORKERS_MAX == 256, "messages say 1..256");
_Static_assert(SHMFS_BACKEND_COUNT == 3, "messages name three backends");

enum key {
	KEY_WORKERS,
	KEY_BACKEND,
	KEY_MODE,
	KEY_UID,
	KEY_GID,
	KEY_LOG_LEVEL,
	KEY_LOG,
	KEY_SIZE,
	KEY_CACHE,
	KEY_CPU_AFFINITY,
	KEY_PID,
	KEY_COUNT
};

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
	[KEY_BACKEND] = {"backend", IN_GLOBAL | IN_ZONE,
			 "is not a backend (anon, devzero, sysv)", NULL},
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
		       "is not a cache mode (page, direct)", NULL},
	[KEY_CPU_AFFINITY] = {"cpu_affinity", IN_GLOBAL,
			      "is not off, auto or a list of CPU numbers",
			      "names a CPU that is not online, or twice"},
	[KEY_SIZE] = {"size", IN_ZONE, "is not a size",
		      "is too large (max 64T)"},
};

struct section {
	int line;		 /* of the header; 0 while [shmfs] is unseen */
	int key_line[KEY_COUNT]; /* 0: key not given */
};

struct parser {
	const char *text;
	size_t len;
	size_t pos;
	const char *file;
	int line;     /* of the line last handed to inih */
	bool pending; /* a key line went to inih, the handler has not seen it */
	uint64_t page;
	struct section global;
	struct section *zones; /* parallel to cfg->zones */
	size_t cap;
	struct shmfs_config *cfg;
	int ret; /* the first error; later ones would only be its echoes */
	char *err;
	size_t errlen;
};

static int quote_len(size_t len)
{
	return (int)(len < QUOTE_MAX ? len : QUOTE_MAX);
}

static void fail(struct parser *p, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail(struct parser *p, int line, const char *fmt, ...)
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

static void fail_nomem(struct parser *p)
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

/* Records [zone:NAME]; returns its index or -1 after an error. */
static long add_zone(struct parser *p, const char *name, size_t len)
{
	static const char chars[] = "abcdefghijklmnopqrstuvwxyz"
				    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
	struct shmfs_config *cfg = p->cfg;
	struct shmfs_zone_config *z;
	struct section *sec;
	size_t i;

	if (p->cap == cfg->nzones) {
		p->cap = p->cap ? 2 * p->cap : 8;
		z = reallocarray(cfg->zones, p->cap, sizeof(*z));
		if (z)
			cfg->zones = z;
		sec = reallocarray(p->zones, p->cap, sizeof(*sec));
		if (sec)
			p->zones = sec;
		if (!z || !sec) {
			fail_nomem(p);
			return -1;
		}
	}
	z = memset(&cfg->zones[cfg->nzones], 0, sizeof(*z));
	if (len < 1 || len > SHMFS_NAME_MAX || name[0] == '.' ||
	    strspn(memcpy(z->name, name, len), chars) != len) {
		fail(p, p->line,
		     "invalid zone name \"%.*s\" (1..255 bytes of A-Z a-z "
		     "0-9 . _ -, not starting with '.')",
		     quote_len(len), name);
		return -1;
	}
	for (i = 0; i < cfg->nzones; i++) {
		if (strcmp(cfg->zones[i].name, z->name) == 0) {
			fail(p, p->line,
			     "zone \"%s\" already defined at line %d", z->name,
			     cfg->zones[i].line);
			return -1;
		}
	}
	z->line = p->line;
	memset(&p->zones[cfg->nzones], 0, sizeof(*sec));
	p->zones[cfg->nzones].line = p->line;
	return (long)cfg->nzones++;
}

/*
 * Checks the section header at s (its '[') and writes the line for inih into
 * str: "[shmfs]", or "[INDEX]" of a zone, since inih would cut a long name.
 */
static int add_section(struct parser *p, const char *s, const char *end,
		       char *str, int num)
{
	const char *close = memchr(s, ']', (size_t)(end - s));
	const char *name = s + 1, *rest;
	size_t len;
	long zone;

	for (rest = close ? close + 1 : end; rest < end && is_space(*rest);)
		rest++;
	if (!close || (rest < end && *rest != ';' && *rest != '#')) {
		fail(p, p->line, "malformed section header");
		return -1;
	}
	len = (size_t)(close - name);
	if (len == 5 && memcmp(name, "shmfs", 5) == 0) {
		if (p->global.line) {
			fail(p, p->line,
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
		fail(p, p->line, "unknown section [%.*s]", quote_len(len),
		     name);
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
static char *reader(char *str, int num, void *stream)
{
	struct parser *p = stream;
	const char *s, *end, *nl, *lead;
	size_t n;

	/* inih took the last key line as malformed: no '=' or ':'. */
	if (p->pending)
		fail(p, p->line, "malformed line");
	if (p->ret || p->pos >= p->len)
		return NULL;
	s = p->text + p->pos;
	nl = memchr(s, '\n', p->len - p->pos);
	end = nl ? nl : p->text + p->len;
	p->pos = (size_t)(end - p->text) + (nl ? 1 : 0);
	p->line++;
	if (memchr(s, '\0', (size_t)(end - s))) {
		fail(p, p->line, "line contains a NUL byte");
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
		fail(p, p->line,
		     "line starts with whitespace (continuation lines are not "
		     "supported)");
		return NULL;
	}
	end = strip_comment(s, end);
	while (end > s && is_space(end[-1]))
		end--;
	n = (size_t)(end - s);
	if (n + 2 > (size_t)num) {
		fail(p, p->line, "line too long (max %d bytes)", num - 2);
		return NULL;
	}
	memcpy(str, s, n);
	memcpy(str + n, "\n", 2);
	p->pending = true;
	return str;
}

static const char *const cache_names[] = {
	[SHMFS_CACHE_PAGE] = "page",
	[SHMFS_CACHE_DIRECT] = "direct",
};

const char *shmfs_config_cache_name(enum shmfs_cache cache)
{
	return cache <= SHMFS_CACHE_DIRECT ? cache_names[cache] : "?";
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

static void value_error(struct parser *p, enum key key, const char *value,
			int ret)
{
	const char *what = NULL;

	if (ret == -ENOMEM) {
		fail_nomem(p);
		return;
	}
	if (ret == -EINVAL || ret == -ENOENT)
		what = keys[key].invalid;
	else if (ret == -ERANGE)
		what = keys[key].range;
	if (what)
		fail(p, p->line, "%s: \"%s\" %s", keys[key].name, value, what);
	else
		fail(p, p->line, "%s: cannot look up \"%s\" (%s)",
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
		ret = shmfs_value_workers(value, &cfg->workers);
		break;
	case KEY_BACKEND:
		ret = shmfs_shm_backend_parse(value,
					      z ? &z->backend : &cfg->backend);
		break;
	case KEY_MODE:
		ret = shmfs_value_mode(value, z ? &z->mode : &cfg->mode);
		break;
	case KEY_UID:
		ret = shmfs_value_uid(value, z ? &z->uid : &cfg->uid);
		break;
	case KEY_GID:
		ret = shmfs_value_gid(value, z ? &z->gid : &cfg->gid);
		break;
	case KEY_LOG_LEVEL:
		ret = shmfs_value_log_level(value, &cfg->log_level);
		break;
	case KEY_LOG:
		if (strcmp(value, "stderr") && strcmp(value, "syslog") &&
		    value[0] != '/')
			ret = -EINVAL;
		else if (!(cfg->log = strdup(value)))
			ret = -ENOMEM;
		break;
	case KEY_CPU_AFFINITY:
		ret = shmfs_value_cpus(value, cfg->cpus, SHMFS_CPUS_MAX,
				       &cfg->ncpus);
		break;
	case KEY_PID:
		if (value[0] != '/')
			ret = -EINVAL;
		else if (!(cfg->pid = strdup(value)))
			ret = -ENOMEM;
		break;
	case KEY_CACHE:
		ret = parse_cache(value, z ? &z->cache : &cfg->cache);
		break;
	case KEY_SIZE:
		ret = shmfs_value_size(value, &z->size);
		if (ret == 0 && z->size == 0) {
			fail(p, p->line, "size: must be greater than 0");
			return;
		}
		/* SHMFS_SIZE_MAX is a multiple of any page: no overflow. */
		z->size = (z->size + p->page - 1) / p->page * p->page;
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
		fail(p, p->line, "key \"%s\" is outside any section", name);
		return 0;
	}
	if (strcmp(section, "shmfs") != 0) {
		size_t i = strtoul(section, NULL, 10);

		z = &p->cfg->zones[i];
		sec = &p->zones[i];
	}
	if (*name == '\0') {
		fail(p, p->line, "malformed line");
		return 0;
	}
	for (key = 0; key < KEY_COUNT; key++) {
		if ((keys[key].where & (z ? IN_ZONE : IN_GLOBAL)) &&
		    strcmp(name, keys[key].name) == 0)
			break;
	}
	if (key == KEY_COUNT) {
		if (z)
			fail(p, p->line, "unknown key \"%s\" in [zone:%s]",
			     name, z->name);
		else
			fail(p, p->line, "unknown key \"%s\" in [shmfs]", name);
		return 0;
	}
	if (sec->key_line[key])
		fail(p, p->line, "key \"%s\" given twice (first at line %d)",
		     name, sec->key_line[key]);
	else if (*value == '\0')
		fail(p, p->line, "%s: value is empty", name);
	if (p->ret)
		return 0;
	sec->key_line[key] = p->line;
	set_value(p, z, (enum key)key, value);
	return p->ret == 0;
}

/* Fills in zone defaults from [shmfs] and checks what needs every zone. */
static void resolve(struct parser *p)
{
	struct shmfs_config *cfg = p->cfg;
	uint64_t total = 0;
	size_t i;

	for (i = 0; i < cfg->nzones && !p->ret; i++) {
		struct shmfs_zone_config *z = &cfg->zones[i];
		const int *line = p->zones[i].key_line;

		if (!line[KEY_SIZE]) {
			fail(p, z->line, "[zone:%s]: size is required",
			     z->name);
			break;
		}
		total += z->size;
		if (total > SHMFS_SIZE_MAX)
			fail(p, line[KEY_SIZE],
			     "size: total of all zones is too large (max 64T)");
		if (!line[KEY_BACKEND])
			z->backend = cfg->backend;
		if (!line[KEY_MODE])
			z->mode = cfg->mode;
		if (!line[KEY_UID])
			z->uid = cfg->uid;
		if (!line[KEY_GID])
			z->gid = cfg->gid;
		if (!line[KEY_CACHE])
			z->cache = cfg->cache;
	}
}

static int parse(const char *text, size_t len, const char *file,
		 struct shmfs_config *cfg, char *err, size_t errlen)
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
		fail_nomem(&p);
	ret = p.ret ? 0 : ini_parse_stream(reader, &p, handler, &p);
	if (ret > 0)
		fail(&p, ret, "malformed line");
	else if (ret < 0)
		fail_nomem(&p);
	if (!p.ret)
		resolve(&p);
	free(p.zones);
	if (p.ret)
		shmfs_config_free(cfg);
	return p.ret;
}

int shmfs_config_parse_string(const char *text, const char *file,
			      struct shmfs_config *cfg, char *err,
			      size_t errlen)
{
	return parse(text, strlen(text), file, cfg, err, errlen);
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

int shmfs_config_load(const char *path, struct shmfs_config *cfg, char *err,
		      size_t errlen)
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
	ret = parse(text ? text : "", len, path, cfg, err, errlen);
	free(text);
	return ret;
}

int shmfs_config_load_default(const char *path, struct shmfs_config *cfg,
			      char *err, size_t errlen)
{
	if (path != NULL)
		return shmfs_config_load(path, cfg, err, errlen);
	if (access(SHMFS_CONFIG_PATH, F_OK) == 0)
		return shmfs_config_load(SHMFS_CONFIG_PATH, cfg, err, errlen);
	return shmfs_config_parse_string(shmfs_default_ini, "<built-in>", cfg,
					 err, errlen);
}

void shmfs_config_free(struct shmfs_config *cfg)
{
	free(cfg->file);
	free(cfg->log);
	free(cfg->pid);
	free(cfg->zones);
	memset(cfg, 0, sizeof(*cfg));
}

static int wider(int width, uint64_t v)
{
	int n = snprintf(NULL, 0, "%" PRIu64, v);

	return n > width ? n : width;
}

void shmfs_config_print(const struct shmfs_config *cfg, FILE *out)
{
	int wname = 4, wbackend = 7, wbytes = 5, wuid = 3, wgid = 3, n;
	const struct shmfs_zone_config *z;
	uint64_t total = 0;

	/* Indexes, not pointer bounds: zones is NULL when there are none. */
	for (size_t i = 0; i < cfg->nzones; i++) {
		z = &cfg->zones[i];
		n = (int)strlen(z->name);
		wname = n > wname ? n : wname;
		n = (int)strlen(shmfs_shm_backend_name(z->backend));
		wbackend = n > wbackend ? n : wbackend;
		wbytes = wider(wbytes, z->size);
		wuid = wider(wuid, z->uid);
		wgid = wider(wgid, z->gid);
		total += z->size;
	}
	fprintf(out, "%-*s %-*s %-6s %*s MODE %*s %*s\n", wname, "NAME",
		wbackend, "BACKEND", "CACHE", wbytes, "BYTES", wuid, "UID",
		wgid, "GID");
	for (size_t i = 0; i < cfg->nzones; i++) {
		z = &cfg->zones[i];
		fprintf(out, "%-*s %-*s %-6s %*" PRIu64 " %04o %*u %*u\n",
			wname, z->name, wbackend,
			shmfs_shm_backend_name(z->backend),
			shmfs_config_cache_name(z->cache), wbytes, z->size,
			(unsigned)(z->mode & 07777), wuid, (unsigned)z->uid,
			wgid, (unsigned)z->gid);
	}
	fprintf(out, "%zu zone%s, %" PRIu64 " bytes, workers ", cfg->nzones,
		cfg->nzones == 1 ? "" : "s", total);
	if (cfg->workers)
		fprintf(out, "%u\n", cfg->workers);
	else
		fprintf(out, "auto\n");
}

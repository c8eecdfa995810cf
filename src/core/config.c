/* SPDX-License-Identifier: MIT */
/*
 * Loading a configuration: the file read whole (or the built-in one when
 * there is none), parsed by inih one line at a time (config_reader.c)
 * with every key handed to the key table (config_keys.c), then checked
 * as a whole (config_resolve.c). Every program reads its configuration
 * here: the daemon at the start and on reload, -t, and -s for pid =.
 */
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_parser.h"
#include "shmfs/log.h"
#include "shmfs/shm.h"

/* Nobody writes a configuration this big; /dev/zero would never end. */
#define FILE_MAX (16 * 1024 * 1024)

/* [shmfs]'s defaults: the key table's, and the daemon's own ids. */
static void set_defaults(struct config_parser *p)
{
	struct shmfs_config *cfg = p->cfg;

	for (int key = 0; key < KEY_COUNT; key++)
		if (shmfs_config_keys[key].at[IN_GLOBAL] != NOWHERE)
			shmfs_config_set_default(p, cfg, IN_GLOBAL, key);
	cfg->uid = geteuid();
	cfg->gid = getegid();
}

/*
 * With pid set, a failed parse still hands out the pid = read before the
 * mistake (see shmfs_config_load_pid); *pid is NULL otherwise.
 */
static int parse(const char *text, size_t len, const char *file,
		 struct shmfs_config *cfg, char *err, size_t errlen, char **pid)
{
	struct config_parser p = {
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
	set_defaults(&p);
	cfg->file = strdup(file);
	if (!cfg->file)
		shmfs_config_fail_nomem(&p);
	ret = p.ret ? 0
		    : ini_parse_stream(shmfs_config_read_line, &p,
				       shmfs_config_handle, &p);
	if (ret > 0)
		shmfs_config_fail(&p, ret, "malformed line");
	else if (ret < 0)
		shmfs_config_fail_nomem(&p);
	if (!p.ret)
		shmfs_config_resolve(&p);
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
	if (ret == 0 && text) { /* kept as a string: NUL-terminated */
		char *t = realloc(text, len + 1);

		if (t == NULL) {
			free(text);
			shmfs_config_free(cfg);
			return -ENOMEM;
		}
		text = t;
		text[len] = '\0';
	}
	if (ret == 0) {
		cfg->text = text;
		cfg->text_len = len;
	} else {
		free(text);
	}
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
	int ret = parse(shmfs_default_ini, strlen(shmfs_default_ini),
			"<built-in>", cfg, err, errlen, pid);

	if (ret == 0 && (cfg->text = strdup(shmfs_default_ini)) == NULL) {
		shmfs_config_free(cfg);
		return -ENOMEM;
	}
	cfg->text_len = ret == 0 ? strlen(shmfs_default_ini) : 0;
	return ret;
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

int shmfs_config_check_process(const struct shmfs_config *cfg, char *err,
			       size_t errlen)
{
	for (size_t i = 0; i < cfg->nzones; i++) {
		const struct shmfs_zone_config *z = &cfg->zones[i];

		if (z->backend != SHMFS_BACKEND_PROCESS)
			continue;
		snprintf(err, errlen,
			 "%s:%d: [zone:%s]: backend = process needs root: "
			 "/proc/PID/map_files, through which a program's "
			 "memory is opened, needs CAP_SYS_ADMIN",
			 cfg->file, z->line, z->name);
		return -EPERM;
	}
	return 0;
}

int shmfs_config_copy(const struct shmfs_config *from, struct shmfs_config *to)
{
	const char *text = from->text ? from->text : "";
	char err[1024];
	int res = parse(text, strlen(text), from->file, to, err, sizeof(err),
			NULL);

	if (res < 0) {
		shmfs_log_error("%s", err);
		return res;
	}
	if (from->text && (to->text = strdup(from->text)) == NULL) {
		shmfs_config_free(to);
		shmfs_log_sys(LOG_ERR, ENOMEM, "strdup of the configuration");
		return -ENOMEM;
	}
	to->text_len = from->text ? from->text_len : 0;
	return 0;
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
	free(cfg->text);
	memset(cfg, 0, sizeof(*cfg));
}

void shmfs_zone_config_shm(const struct shmfs_zone_config *z,
			   struct shmfs_shm *shm)
{
	*shm = (struct shmfs_shm){
		.size = z->capacity,
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
		.place = {.huge = z->huge_pages,
			  .populate = z->populate,
			  .numa = z->numa,
			  .node = z->numa_node,
			  .huge_line = z->huge_line,
			  .numa_line = z->numa_line},
		.match = z->match,
		.map_start = z->map_start,
		.map_end = z->map_end,
		.writable = z->writable,
		.pidfd = -1,
	};
}

int shmfs_config_load_command(const char *path, const char *pidfile,
			      struct shmfs_config *cfg)
{
	char err[1024];
	int res = shmfs_config_load_default(path, cfg, err, sizeof(err));

	if (res < 0) {
		shmfs_log_error("%s", err);
		return res;
	}
	/* user = matters to a root master only (shmfs_config_check_user). */
	if (geteuid() == 0)
		res = shmfs_config_check_user(cfg, err, sizeof(err));
	else
		res = shmfs_config_check_process(cfg, err, sizeof(err));
	if (res < 0) {
		shmfs_log_error("%s", err);
	} else if (pidfile) {
		free(cfg->pid);
		cfg->pid = strdup(pidfile);
		if (cfg->pid == NULL) {
			shmfs_log_sys(LOG_ERR, ENOMEM, "strdup(\"%s\") failed",
				      pidfile);
			res = -ENOMEM;
		}
	}
	if (res < 0)
		shmfs_config_free(cfg);
	return res;
}

/* SPDX-License-Identifier: MIT */
/*
 * The configuration: the [shmfs] section and one [zone:NAME] section per
 * zone, read with inih. Parsing and validation are strict: every mistake is
 * reported as "FILE:LINE: ..." and nothing is guessed. Each key is defined
 * once, in src/core/config_keys.def: its field here, parser, default,
 * messages, -t column and man-page synopsis.
 */
#ifndef SHMFS_CONFIG_H
#define SHMFS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "shmfs/backend.h"
#include "shmfs/huge.h"

struct shmfs_shm;

/* Zone names: 1..255 bytes of [A-Za-z0-9._-], not starting with '.'. */
#define SHMFS_NAME_MAX 255

/* The longest match = of a process zone, in bytes. */
#define SHMFS_MATCH_MAX 127

/* The most CPUs a cpu_affinity list names. */
#define SHMFS_CPUS_MAX 256

/*
 * The default configuration file, read when -c is not given. meson passes
 * SYSCONFDIR/shmfs/shmfs.ini, where "meson install" puts shmfs.ini; the
 * fallback serves a compiler run by hand.
 */
#ifndef SHMFS_CONFIG_PATH
#define SHMFS_CONFIG_PATH "/etc/shmfs/shmfs.ini"
#endif

/*
 * The workers' own system user, which the shipped shmfs.ini names: the
 * Debian package and scripts/build.sh create it.
 */
#define SHMFS_DEFAULT_USER "_shmfs"

/* The repository's shmfs.ini, compiled in. */
extern const char shmfs_default_ini[];

/* How the kernel caches a zone file (the "cache" key). */
enum shmfs_cache {
	/* The page cache: re-reads stay in the kernel, mmap works. */
	SHMFS_CACHE_PAGE,
	/* Direct I/O: every read and write reaches a worker. */
	SHMFS_CACHE_DIRECT,
	/* The kernel serves I/O and mmap from the zone's memfd itself. */
	SHMFS_CACHE_PASSTHROUGH,
};

/* The cache mode's name as written in the ini file. */
const char *shmfs_config_cache_name(enum shmfs_cache cache);

/*
 * The io_uring key: whether the pool would serve FUSE over io_uring
 * (docs/io_uring.md). This build serves /dev/fuse only: auto says why
 * in one line at the start, on refuses to start, off says nothing.
 */
enum shmfs_io_uring {
	SHMFS_IO_URING_AUTO,
	SHMFS_IO_URING_ON,
	SHMFS_IO_URING_OFF,
};

/* The io_uring value's name as written in the ini file. */
const char *shmfs_config_io_uring_name(enum shmfs_io_uring mode);

/*
 * One word for each size, everywhere: a zone's capacity is what it can
 * hold (the bytes mapped: struct shmfs_shm's size, a mapping that need
 * not be a zone's); its length is what was written (zone.h); requested is
 * the size = as the file writes it. "size" is the ini key, "bytes" only
 * a unit (the BYTES column of -t, the figures of /.stats).
 */
struct shmfs_zone_config {
	char name[SHMFS_NAME_MAX + 1];
	/*
	 * Rounded up to a page. A shared object's is exact (the object's,
	 * which other programs see) and 0 where size = is left out: the
	 * existing object's.
	 */
	uint64_t capacity;
	uint64_t requested; /* size = as written, before the rounding */
	int requested_line; /* of size =; 0: not given */
	enum shmfs_backend backend;
	enum shmfs_cache cache;
	mode_t mode; /* permission bits only */
	uid_t uid;
	gid_t gid;
	int line; /* of the section header */
	/*
	 * Shared objects (see struct shmfs_shm): the posix name, the file's
	 * path, or sysv's ftok path (owned, freed with the config); the sysv
	 * key or ftok's proj; attach = and keep =.
	 */
	char *object;
	key_t key;
	int proj;
	bool attach, keep;
	uid_t object_owner; /* object_owner =; 0 when not given */
	/*
	 * Huge pages and placement (issue 18, huge.h): huge_pages =,
	 * populate = (set by huge_pages = try|on), numa = and numa_node =
	 * (-1: none); the lines that gave huge_pages and the policy, the
	 * zone's or [shmfs]'s, for the messages of the start.
	 */
	enum shmfs_huge_mode huge_pages;
	bool populate;
	enum shmfs_numa_policy numa;
	int numa_node;
	int huge_line, numa_line;
	/*
	 * backend = process (shm_process.c): object is process =, a pid
	 * file's path or a pid; which of its shared mappings is match = (a
	 * string near its start; "" for none), address = (map_start and
	 * map_end, 0 for none) or size = (capacity); writable = yes lets
	 * writes through (the zone is read-only otherwise).
	 */
	char match[SHMFS_MATCH_MAX + 1];
	uint64_t map_start, map_end;
	bool writable;
};

/* Whether other programs map the zone's object (see backend.h). */
static inline bool shmfs_zone_config_shared(const struct shmfs_zone_config *z)
{
	return shmfs_backend_shared(z->backend, z->key != 0 || z->proj != 0);
}

/*
 * Whether two zones name the same shared object (backend, key, proj and
 * name or path). Two private zones of one backend compare equal too: call
 * it on shared zones, or with the capacity compared besides.
 */
static inline bool
shmfs_zone_config_same_object(const struct shmfs_zone_config *a,
			      const struct shmfs_zone_config *b)
{
	return a->backend == b->backend && a->key == b->key &&
	       a->proj == b->proj && strcmp(a->match, b->match) == 0 &&
	       a->map_start == b->map_start && a->map_end == b->map_end &&
	       (a->backend != SHMFS_BACKEND_PROCESS ||
		a->capacity == b->capacity) &&
	       (a->object == b->object ||
		(a->object && b->object && strcmp(a->object, b->object) == 0));
}

/*
 * Fixed-size zones: the length (st_size) is the capacity from the start,
 * because bytes reach them without the daemon (passthrough, or other
 * programs writing a shared object), so there is no length of what was
 * written to keep.
 */
static inline bool shmfs_zone_config_fixed(const struct shmfs_zone_config *z)
{
	return z->cache == SHMFS_CACHE_PASSTHROUGH ||
	       shmfs_zone_config_shared(z);
}

struct shmfs_config {
	char *file;	  /* as named in messages ("shmfs.ini", "<built-in>") */
	unsigned workers; /* 0: auto, one per online CPU */
	enum shmfs_backend backend;
	enum shmfs_cache cache;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	int log_level; /* syslog priority */
	/*
	 * cpu_affinity: ncpus 0 is "off" (the scheduler places workers);
	 * otherwise worker i is pinned to cpus[i % ncpus]. "auto" lists the
	 * online CPUs.
	 */
	unsigned ncpus;
	unsigned short cpus[SHMFS_CPUS_MAX];
	enum shmfs_io_uring io_uring;
	/* [shmfs]'s defaults of the zones' keys of issue 18 (huge.h). */
	enum shmfs_huge_mode huge_pages;
	bool populate;
	enum shmfs_numa_policy numa;
	int numa_node;
	char *log;    /* NULL: stderr in the foreground, syslog detached */
	int log_line; /* of log =, for messages about the file */
	char *pid;    /* the pid file; NULL: none */
	/*
	 * user = and group =: the ids workers run as once they hold the
	 * device. Without user =, workers keep the master's ids, with no
	 * capabilities. A name with no passwd entry is no error here (only a
	 * master running as root uses it: see shmfs_config_check_user):
	 * user_unknown is set and user_set is not.
	 */
	bool user_set;
	bool user_unknown;
	uid_t user;
	gid_t group;
	int user_line;	 /* of user =; 0: none */
	char *user_name; /* as written, for messages */
	size_t nzones;
	struct shmfs_zone_config *zones;
	/*
	 * The text parsed, as loaded (NULL from shmfs_config_parse_string):
	 * a restarted master rebuilds the dead one's configuration from it,
	 * and tells by it whether the file changed since.
	 */
	char *text;
	size_t text_len;
};

/*
 * Parses ini text. file names the source in messages. On success fills *cfg
 * (free it with shmfs_config_free) and returns 0. On a mistake returns
 * -EINVAL and writes one line, "FILE:LINE: what is wrong" without a newline,
 * into err; *cfg is left empty. -ENOMEM if memory runs out.
 */
int shmfs_config_parse_string(const char *text, const char *file,
			      struct shmfs_config *cfg, char *err,
			      size_t errlen);

/*
 * Reads and parses the file at path, like shmfs_config_parse_string. If the
 * file cannot be opened returns -errno with "PATH: strerror" in err.
 */
int shmfs_config_load(const char *path, struct shmfs_config *cfg, char *err,
		      size_t errlen);

/*
 * The file read when no -c is given: $SHMFS_CONFIG if set and not empty,
 * else SHMFS_CONFIG_PATH.
 */
const char *shmfs_config_default_path(void);

/*
 * Loads path, or without one the default path if it exists, else the
 * built-in shmfs_default_ini ("<built-in>"). As shmfs_config_load.
 */
int shmfs_config_load_default(const char *path, struct shmfs_config *cfg,
			      char *err, size_t errlen);

/*
 * The pid = of the configuration that shmfs_config_load_default(path)
 * reads, through the same parser, for "shmfs -s". Returns 0 and sets *pid
 * (malloc'd; NULL when there is no pid =). On a mistake returns what
 * shmfs_config_load_default returns, with its message in err, and *pid is
 * still the pid = read before the mistake, if any: a file broken since the
 * start must not keep anyone from stopping the daemon that read it.
 */
int shmfs_config_load_pid(const char *path, char **pid, char *err,
			  size_t errlen);

/*
 * The configuration a command runs with (the daemon, -t): path loaded as
 * shmfs_config_load_default does, user = checked where it takes effect
 * (a process running as root: shmfs_config_check_user), and pid =
 * replaced by pidfile (-p) when given. Returns 0, or -errno with the
 * message logged and *cfg left empty.
 */
int shmfs_config_load_command(const char *path, const char *pidfile,
			      struct shmfs_config *cfg);

/*
 * For a master that runs as root, where "user =" takes effect: returns
 * -EINVAL with "FILE:LINE: user: \"NAME\" is not a user ..." in err if the
 * name has no passwd entry, else 0. (A master that is not root cannot
 * switch users and ignores user =, so that a configuration naming a
 * system user the machine lacks still serves an unprivileged user.)
 */
int shmfs_config_check_user(const struct shmfs_config *cfg, char *err,
			    size_t errlen);

/*
 * For a command that does not run as root: -EPERM with "FILE:LINE:
 * [zone:NAME]: backend = process needs root ..." in err for the first
 * process zone (map_files needs CAP_SYS_ADMIN), else 0.
 */
int shmfs_config_check_process(const struct shmfs_config *cfg, char *err,
			       size_t errlen);

/*
 * The running configuration again, parsed from its text (as loaded, not
 * the file as it is now), for a cycle rebuilt with nothing changed but
 * what its zones find (backend = process). Returns 0, or -errno with the
 * message logged.
 */
int shmfs_config_copy(const struct shmfs_config *from, struct shmfs_config *to);

/* Frees what a successful parse allocated; safe on a zeroed config. */
void shmfs_config_free(struct shmfs_config *cfg);

/* The backend request for zone z: what shmfs_shm_alloc takes. */
void shmfs_zone_config_shm(const struct shmfs_zone_config *z,
			   struct shmfs_shm *shm);

/*
 * The zone table printed by "shmfs -t", with the mode each zone will run
 * in: where no_passthrough says why passthrough cannot be had here,
 * passthrough zones show "page*" and a last line gives the reason. The
 * summary line ends with the transport (NULL: "/dev/fuse"). Where
 * a zone is a shared object, an OBJECT column names it (as
 * shmfs_shm_describe does); a size left out shows as 0 unless the caller
 * filled in the object's.
 */
void shmfs_config_print(const struct shmfs_config *cfg,
			const char *no_passthrough, const char *transport,
			FILE *out);

#endif /* SHMFS_CONFIG_H */

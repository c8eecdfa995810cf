/* SPDX-License-Identifier: MIT */
/*
 * A process zone: one of a running program's anonymous shared mappings
 * (nginx's zones, PostgreSQL's main segment), found by a string near its
 * start, its address or its size, and mapped here through
 * /proc/PID/map_files (root only: CAP_SYS_ADMIN), read-only unless the
 * zone is writable. The zone holds a pidfd of the process: once it
 * exits, the master rebuilds the zone detached, so that no dead
 * program's memory stays pinned here; a process that appears later is
 * attached at the next rebuild (master.c).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shm_backend.h"
#include "shmfs/process.h"

/* ------------------------------------------------------------ pure parts */

int shmfs_process_parse_maps(char *line, struct shmfs_maps_entry *e)
{
	unsigned long long start, end, offset, inode;
	unsigned major, minor;
	char perms[5];
	int used = 0;
	size_t len;

	if (sscanf(line, "%llx-%llx %4s %llx %x:%x %llu%n", &start, &end, perms,
		   &offset, &major, &minor, &inode, &used) != 7 ||
	    start >= end || strlen(perms) != 4)
		return -EINVAL;
	e->start = start;
	e->end = end;
	e->offset = offset;
	memcpy(e->perms, perms, sizeof(perms));
	e->inode = inode;
	line += used;
	while (*line == ' ' || *line == '\t')
		line++;
	len = strlen(line);
	if (len > 0 && line[len - 1] == '\n')
		line[--len] = '\0';
	e->path = line;
	return 0;
}

bool shmfs_process_candidate(const struct shmfs_maps_entry *e)
{
	return e->perms[3] == 's' &&
	       (strcmp(e->path, "/dev/zero (deleted)") == 0 ||
		strncmp(e->path, "/SYSV", 5) == 0 ||
		strncmp(e->path, "/memfd:", 7) == 0);
}

int shmfs_process_parse_range(const char *s, uint64_t *start, uint64_t *end)
{
	unsigned long long a, b;
	char *p;

	if (!isxdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	a = strtoull(s, &p, 16);
	if (errno || *p != '-' || !isxdigit((unsigned char)p[1]))
		return -EINVAL;
	b = strtoull(p + 1, &p, 16);
	if (errno || *p != '\0' || a >= b)
		return -EINVAL;
	*start = a;
	*end = b;
	return 0;
}

static bool name_byte(unsigned char c)
{
	return c >= 0x20 && c < 0x7f;
}

bool shmfs_process_name(const unsigned char *buf, size_t n, char *out,
			size_t len)
{
	static const char tag[] = "zone \"";
	const unsigned char *p = memmem(buf, n, tag, sizeof(tag) - 1);
	size_t run = 0, k;

	out[0] = '\0';
	if (len == 0)
		return false;
	if (p != NULL) { /* nginx: " in limit_req zone \"NAME\"" */
		p += sizeof(tag) - 1;
		for (k = 0; p + k < buf + n && p[k] != '"' && name_byte(p[k]);
		     k++)
			;
		if (k > 0 && p + k < buf + n && p[k] == '"') {
			k = k < len - 1 ? k : len - 1;
			memcpy(out, p, k);
			out[k] = '\0';
			return true;
		}
	}
	for (size_t i = 0; i < n; i++) {
		run = name_byte(buf[i]) ? run + 1 : 0;
		if (run < 6 || (i + 1 < n && name_byte(buf[i + 1])))
			continue;
		/* The run ends at i: at most len - 1 bytes of it. */
		k = run < len - 1 ? run : len - 1;
		memcpy(out, buf + i + 1 - run, k);
		out[k] = '\0';
		return true;
	}
	return false;
}

long shmfs_process_select(const struct shmfs_process_candidate *c, size_t n,
			  const struct shmfs_process_want *want, size_t *count)
{
	long found = -ENOENT;

	*count = 0;
	for (size_t i = 0; i < n; i++) {
		if (want->match && want->match[0] && !c[i].matched)
			continue;
		if (want->size && c[i].end - c[i].start != want->size)
			continue;
		if (want->start &&
		    (c[i].start != want->start || c[i].end != want->end))
			continue;
		if (++*count == 1)
			found = (long)i;
	}
	return *count > 1 ? -ENOTUNIQ : found;
}

void shmfs_process_candidate_text(const struct shmfs_process_candidate *c,
				  char *buf, size_t len)
{
	snprintf(buf, len, "%" PRIx64 "-%" PRIx64 " %" PRIu64 " bytes%s%s%s",
		 c->start, c->end, c->end - c->start, c->name[0] ? " \"" : "",
		 c->name, c->name[0] ? "\"" : "");
}

/* ------------------------------------------------------------ the process */

/* Why a zone is detached, for the log and -t. */
#define WHY_MAX 160

/*
 * The process the zone names: a pid, or the pid in a pid file that root,
 * the daemon's user, the zone's uid or object_owner owns (anyone else
 * could point the zone at any process's memory). Returns the pid; 0 when
 * there is none to attach to now (no pid file, not a pid in it: why says
 * so); -errno for a pid file that is refused (logged).
 */
static pid_t read_pid(const struct shmfs_shm *shm, char *why, size_t len,
		      bool quiet)
{
	char text[32];
	struct stat st;
	ssize_t n;
	char *end;
	long pid;
	int fd;

	if (shm->object[0] != '/') {
		pid = strtol(shm->object, NULL, 10);
	} else {
		fd = open(shm->object, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			snprintf(why, len, "pid file %s: %s", shm->object,
				 strerror(errno));
			return 0;
		}
		if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
			close(fd);
			if (!quiet)
				shm_refuse(shm,
					   "pid file %s is not a regular "
					   "file: refused",
					   shm->object);
			return -EPERM;
		}
		if (!shmfs_shm_owner_trusted(shm, st.st_uid)) {
			close(fd);
			if (!quiet)
				shm_refuse(shm,
					   "pid file %s is owned by uid "
					   "%u, " UNTRUSTED,
					   shm->object, (unsigned)st.st_uid,
					   (unsigned)st.st_uid);
			return -EPERM;
		}
		n = read(fd, text, sizeof(text) - 1);
		close(fd);
		text[n > 0 ? n : 0] = '\0';
		errno = 0;
		pid = strtol(text, &end, 10);
		if (n <= 0 || end == text || (*end != '\n' && *end != '\0') ||
		    errno || pid <= 0 || pid > 4194304) {
			snprintf(why, len, "pid file %s holds no pid",
				 shm->object);
			return 0;
		}
	}
	if (kill((pid_t)pid, 0) < 0 && errno == ESRCH) {
		snprintf(why, len, "process %ld is not running", pid);
		return 0;
	}
	return (pid_t)pid;
}

static int pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* The mapping start-end of pid's, opened through map_files; -errno. */
static int open_mapping(pid_t pid, uint64_t start, uint64_t end, int flags)
{
	char path[96];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64,
		 (int)pid, start, end);
	fd = open(path, flags | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* What a candidate is: its name, and whether match = is near its start. */
static void look_into(const struct shmfs_shm *shm, pid_t pid,
		      struct shmfs_process_candidate *c, unsigned char *buf)
{
	uint64_t len = c->end - c->start;
	size_t want =
		len < SHMFS_PROCESS_SEARCH ? (size_t)len : SHMFS_PROCESS_SEARCH;
	int fd = open_mapping(pid, c->start, c->end, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : pread(fd, buf, want, (off_t)c->offset);

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return;
	shmfs_process_name(buf, (size_t)n, c->name, sizeof(c->name));
	c->matched = shm->match && shm->match[0] &&
		     memmem(buf, (size_t)n, shm->match, strlen(shm->match));
}

/*
 * The process's anonymous shared mappings, at most
 * SHMFS_PROCESS_CANDIDATES_MAX, each looked into. Returns the count, or
 * -errno (logged).
 */
static long scan(const struct shmfs_shm *shm, pid_t pid,
		 struct shmfs_process_candidate *c)
{
	char path[64], *line = NULL;
	size_t cap = 0, n = 0;
	unsigned char *buf;
	FILE *maps;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	maps = fopen(path, "re");
	if (maps == NULL) {
		int err = errno;
		shm_fail(shm, err, "fopen(\"%s\") failed", path);
		return -err;
	}
	buf = malloc(SHMFS_PROCESS_SEARCH);
	if (buf == NULL) {
		fclose(maps);
		shm_fail(shm, ENOMEM, "malloc(%u) failed",
			 SHMFS_PROCESS_SEARCH);
		return -ENOMEM;
	}
	while (n < SHMFS_PROCESS_CANDIDATES_MAX &&
	       getline(&line, &cap, maps) > 0) {
		struct shmfs_maps_entry e;

		if (shmfs_process_parse_maps(line, &e) < 0 ||
		    !shmfs_process_candidate(&e))
			continue;
		c[n] = (struct shmfs_process_candidate){
			.start = e.start, .end = e.end, .offset = e.offset};
		look_into(shm, pid, &c[n], buf);
		n++;
	}
	free(line);
	free(buf);
	fclose(maps);
	return (long)n;
}

/* What the selectors ask, for messages: `match "zone \"one\""`. */
static void asked(const struct shmfs_shm *shm, char *buf, size_t len)
{
	int n = 0;

	buf[0] = '\0';
	if (shm->match && shm->match[0])
		n += snprintf(buf + n, len - n, " match \"%s\"", shm->match);
	if (shm->map_start && n >= 0 && (size_t)n < len)
		n += snprintf(buf + n, len - n, " address %" PRIx64 "-%" PRIx64,
			      shm->map_start, shm->map_end);
	if (shm->size && n >= 0 && (size_t)n < len)
		snprintf(buf + n, len - n, " size %zu", shm->size);
}

/* No mapping, or several, meet the selectors: said with every candidate. */
static void say_candidates(const struct shmfs_shm *shm, pid_t pid,
			   const struct shmfs_process_candidate *c, size_t n,
			   long res, size_t count)
{
	char list[SHMFS_PROCESS_CANDIDATES_MAX * 96], one[128], want[256];
	size_t used = 0;

	list[0] = '\0';
	for (size_t i = 0; i < n && used < sizeof(list); i++) {
		shmfs_process_candidate_text(&c[i], one, sizeof(one));
		used += (size_t)snprintf(list + used, sizeof(list) - used,
					 "%s%s", i ? "; " : "", one);
	}
	asked(shm, want, sizeof(want));
	shm_refuse(shm,
		   "process %d (%s): %s of its %zu shared mapping%s%s "
		   "has%s: %s",
		   (int)pid, shm->object,
		   res == -ENOTUNIQ ? "more than one" : "none", n,
		   n == 1 ? "" : "s", n ? "" : " (none)", want,
		   n ? list : "nothing to pick from");
	(void)count;
}

/* Detached: no memory, said once (why); the zone answers ENXIO. */
static int detach(struct shmfs_shm *shm, pid_t tried, const char *why,
		  bool probe)
{
	shm->detached = true;
	shm->addr = NULL;
	shm->size = 0;
	shm->pid = 0;
	shm->tried = tried;
	shmfs_log_notice("zone \"%s\": %s: %s%s", shm->label ? shm->label : "?",
			 probe ? "would start detached" : "detached", why,
			 probe ? "" : " (attached once it runs)");
	return 0;
}

/* Maps the mapping found, c, of pid (open as fd), as the zone asks. */
static int map_found(struct shmfs_shm *shm, int fd,
		     const struct shmfs_process_candidate *c)
{
	size_t len = (size_t)(c->end - c->start);
	int prot = PROT_READ | (shm->writable ? PROT_WRITE : 0);
	void *p = mmap(NULL, len, prot, MAP_SHARED, fd, (off_t)c->offset);

	if (p == MAP_FAILED) {
		int err = errno;
		shm_fail(shm, err,
			 "mmap(map_files %" PRIx64 "-%" PRIx64 ", %s, "
			 "MAP_SHARED, %zu) failed",
			 c->start, c->end,
			 shm->writable ? "PROT_READ|PROT_WRITE" : "PROT_READ",
			 len);
		return -err;
	}
	shm->addr = p;
	shm->size = len;
	shm->fd = fd;
	return 0;
}

/* Attaches to the one mapping of pid the zone picks (or probes it). */
static int attach(struct shmfs_shm *shm, pid_t pid, bool probe)
{
	struct shmfs_process_candidate c[SHMFS_PROCESS_CANDIDATES_MAX];
	struct shmfs_process_want want = {
		.match = shm->match,
		.size = shm->size,
		.start = shm->map_start,
		.end = shm->map_end,
	};
	size_t count;
	long n = scan(shm, pid, c), at;
	int fd, err;

	if (n < 0)
		return (int)n;
	at = shmfs_process_select(c, (size_t)n, &want, &count);
	if (at < 0) {
		say_candidates(shm, pid, c, (size_t)n, at, count);
		return (int)at;
	}
	fd = open_mapping(pid, c[at].start, c[at].end,
			  shm->writable ? O_RDWR : O_RDONLY);
	if (fd < 0) {
		shm_fail(shm, -fd,
			 "open(\"/proc/%d/map_files/%" PRIx64 "-%" PRIx64
			 "\") failed%s",
			 (int)pid, c[at].start, c[at].end,
			 fd == -EPERM || fd == -EACCES
				 ? " (map_files needs CAP_SYS_ADMIN: run the "
				   "daemon as root)"
				 : "");
		return fd;
	}
	shm->pid = shm->tried = pid;
	shm->start = c[at].start;
	shm->end = c[at].end;
	if (probe) {
		close(fd);
		shm->size = (size_t)(c[at].end - c[at].start);
		shmfs_log_notice(
			"zone \"%s\": would attach to process %d's "
			"mapping %" PRIx64 "-%" PRIx64 " (%zu bytes%s%s%s)",
			shm->label ? shm->label : "?", (int)pid, shm->start,
			shm->end, shm->size, c[at].name[0] ? ", named \"" : "",
			c[at].name, c[at].name[0] ? "\"" : "");
		return 0;
	}
	err = map_found(shm, fd, &c[at]);
	if (err) {
		close(fd);
		return err;
	}
	shmfs_log_notice("zone \"%s\": attached to process %d's mapping "
			 "%" PRIx64 "-%" PRIx64 " (%zu bytes%s%s%s)",
			 shm->label ? shm->label : "?", (int)pid, shm->start,
			 shm->end, shm->size, c[at].name[0] ? ", named \"" : "",
			 c[at].name, c[at].name[0] ? "\"" : "");
	return 0;
}

static int process_open(struct shmfs_shm *shm, bool probe)
{
	char why[WHY_MAX];
	pid_t pid;
	int err;

	shm->pidfd = -1;
	shm->detached = false;
	pid = read_pid(shm, why, sizeof(why), false);
	if (pid < 0)
		return shm->strict || probe
			       ? (int)pid
			       : detach(shm, 0, "pid file refused", probe);
	if (pid == 0)
		return detach(shm, 0, why, probe);
	if (!probe) {
		shm->pidfd = pidfd_open(pid);
		if (shm->pidfd < 0 && errno == ESRCH) {
			snprintf(why, sizeof(why), "process %d is not running",
				 (int)pid);
			return detach(shm, 0, why, probe);
		}
		if (shm->pidfd < 0) {
			err = errno;
			shm_fail(shm, err, "pidfd_open(%d) failed", (int)pid);
			return -err;
		}
	}
	err = attach(shm, pid, probe);
	if (err == 0)
		return 0;
	if (shm->pidfd >= 0)
		close(shm->pidfd);
	shm->pidfd = -1;
	if (shm->strict || probe)
		return err;
	snprintf(why, sizeof(why), "no mapping of process %d picked (above)",
		 (int)pid);
	return detach(shm, pid, why, probe);
}

int shmfs_shm_process_alloc(struct shmfs_shm *shm)
{
	return process_open(shm, false);
}

int shmfs_shm_process_probe(struct shmfs_shm *shm)
{
	return process_open(shm, true);
}

void shmfs_shm_process_free(struct shmfs_shm *shm)
{
	if (shm->addr != NULL)
		shmfs_shm_unmap(shm);
	shm->addr = NULL;
	if (shm->fd >= 0)
		shmfs_shm_close(shm, shm->fd, "the process's mapping");
	shm->fd = -1;
	if (shm->pidfd >= 0)
		shmfs_shm_close(shm, shm->pidfd, "the process's pidfd");
	shm->pidfd = -1;
}

int shmfs_shm_process_describe(const struct shmfs_shm *shm, char *buf,
			       size_t len)
{
	const char *rw = shm->writable ? " writable" : "";

	if (shm->addr != NULL)
		return snprintf(buf, len,
				"%s pid %d %" PRIx64 "-%" PRIx64 " attached%s",
				shm->object, (int)shm->pid, shm->start,
				shm->end, rw);
	if (shm->detached)
		return snprintf(buf, len, "%s detached%s", shm->object, rw);
	return snprintf(buf, len, "%s%s", shm->object, rw);
}

int shmfs_shm_process_pidfd(const struct shmfs_shm *shm)
{
	return shm->backend == SHMFS_BACKEND_PROCESS && shm->addr != NULL
		       ? shm->pidfd
		       : -1;
}

bool shmfs_shm_process_appeared(const struct shmfs_shm *shm)
{
	char why[WHY_MAX];
	pid_t pid;

	if (shm->backend != SHMFS_BACKEND_PROCESS || !shm->detached)
		return false;
	pid = read_pid(shm, why, sizeof(why), true);
	return pid > 0 && pid != shm->tried;
}

/* SPDX-License-Identifier: MIT */
/*
 * The state record in a sealed memfd (see record.h). Sealed so that the
 * record a restarted master reads is the one its predecessor wrote whole:
 * a master that dies while writing leaves an unsealed file it never
 * stored. Read with every length checked against the file's size, since
 * what comes back from a store is only as good as the build that wrote it.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "shmfs/hash.h"
#include "shmfs/log.h"
#include "shmfs/record.h"
#include "shmfs/region.h"
#include "shmfs/zone.h"

#define SEALS (F_SEAL_SEAL | F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK)

/* No padding: every byte of a record is a field the writer set. */
_Static_assert(sizeof(struct shmfs_record_zone) ==
		       SHMFS_NAME_MAX + 1 + SHMFS_FDNAME_MAX + 1 + 2 * 8 +
			       4 * 4 + 8,
	       "struct shmfs_record_zone has padding");
_Static_assert(sizeof(struct shmfs_record) ==
		       16 + 7 * 8 + 6 * 4 + 2 * SHMFS_RECORD_INIT_MAX +
			       PATH_MAX + 1024,
	       "struct shmfs_record has padding");

/* The sizes that another build may change, mixed (FNV-1a, folded). */
static uint32_t layout(void)
{
	const uint64_t sizes[] = {
		sizeof(struct shmfs_region),
		sizeof(struct shmfs_worker_slot),
		sizeof(struct shmfs_zone_meta),
		sizeof(pthread_mutex_t),
		sizeof(struct shmfs_record),
		sizeof(struct shmfs_record_zone),
		SHMFS_WORKERS_MAX,
		SHMFS_RECORD_VERSION,
	};
	uint64_t h = shmfs_hash_name((const char *)sizes, sizeof(sizes));

	return (uint32_t)(h ^ (h >> 32));
}

static int write_all(int fd, struct iovec *iov, int n)
{
	while (n > 0) {
		ssize_t w = writev(fd, iov, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		for (; n > 0 && (size_t)w >= iov->iov_len; iov++, n--)
			w -= (ssize_t)iov->iov_len;
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

int shmfs_record_write(const struct shmfs_record *head,
		       const struct shmfs_record_zone *zones,
		       const char *config, int *fd)
{
	struct shmfs_record h = *head;
	struct iovec iov[3];
	int mfd, res;

	if (h.init_in_len > SHMFS_RECORD_INIT_MAX ||
	    h.init_out_len > SHMFS_RECORD_INIT_MAX)
		return -EINVAL;
	memcpy(h.magic, SHMFS_RECORD_MAGIC, sizeof(h.magic));
	h.version = SHMFS_RECORD_VERSION;
	h.layout = layout();
	h.config_len = config ? (uint32_t)strlen(config) : 0;
	h.reserved = 0;
	iov[0] = (struct iovec){&h, sizeof(h)};
	iov[1] = (struct iovec){(void *)zones, h.nzones * sizeof(*zones)};
	iov[2] = (struct iovec){(void *)config, h.config_len};
	mfd = memfd_create("shmfs:state", MFD_ALLOW_SEALING | MFD_CLOEXEC);
	if (mfd < 0) {
		res = -errno;
		shmfs_log_sys(LOG_ERR, -res,
			      "memfd_create(shmfs:state) failed");
		return res;
	}
	res = write_all(mfd, iov, 3);
	if (res < 0)
		shmfs_log_sys(LOG_ERR, -res,
			      "writing the state record (%zu bytes) failed",
			      sizeof(h) + iov[1].iov_len + h.config_len);
	else if (fcntl(mfd, F_ADD_SEALS, SEALS) < 0) {
		res = -errno;
		shmfs_log_sys(LOG_ERR, -res,
			      "fcntl(F_ADD_SEALS) of the state record failed");
	}
	if (res < 0) {
		close(mfd);
		return res;
	}
	*fd = mfd;
	return 0;
}

static int read_at(int fd, void *buf, size_t len, off_t at)
{
	while (len > 0) {
		ssize_t r = pread(fd, buf, len, at);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EPROTO; /* shorter than fstat said */
		buf = (char *)buf + r;
		len -= (size_t)r;
		at += r;
	}
	return 0;
}

static bool terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

static char why_buf[96];

/* The header's own checks; NULL if it is fine, else why not. */
static const char *check_head(const struct shmfs_record *h, off_t size)
{
	uint64_t want;

	if (memcmp(h->magic, SHMFS_RECORD_MAGIC, sizeof(h->magic)) != 0)
		return "not a state record (bad magic)";
	if (h->version != SHMFS_RECORD_VERSION) {
		snprintf(why_buf, sizeof(why_buf), "a record of version %u",
			 h->version);
		return why_buf;
	}
	if (h->layout != layout())
		return "layout differs: another build";
	if (h->init_in_len > SHMFS_RECORD_INIT_MAX ||
	    h->init_out_len > SHMFS_RECORD_INIT_MAX)
		return "a recorded INIT longer than its field";
	if (!terminated(h->mountpoint, sizeof(h->mountpoint)) ||
	    !terminated(h->fuse_opts, sizeof(h->fuse_opts)))
		return "an unterminated string in the header";
	want = sizeof(*h) +
	       (uint64_t)h->nzones * sizeof(struct shmfs_record_zone) +
	       h->config_len;
	if (want != (uint64_t)size) {
		snprintf(why_buf, sizeof(why_buf),
			 "%u zones and %u bytes of configuration in a file "
			 "of %lld bytes",
			 h->nzones, h->config_len, (long long)size);
		return why_buf;
	}
	return NULL;
}

/* Reads what follows a good header; NULL if it is fine, else why not. */
static const char *read_body(int fd, const struct shmfs_record *h,
			     struct shmfs_record_zone *zones, char *config,
			     int *res)
{
	size_t zlen = h->nzones * sizeof(*zones);

	*res = read_at(fd, zones, zlen, sizeof(*h));
	if (*res == 0)
		*res = read_at(fd, config, h->config_len,
			       (off_t)(sizeof(*h) + zlen));
	if (*res < 0)
		return *res == -EPROTO ? "truncated while read" : "unreadable";
	for (uint32_t i = 0; i < h->nzones; i++)
		if (!terminated(zones[i].name, sizeof(zones[i].name)) ||
		    !terminated(zones[i].fdname, sizeof(zones[i].fdname))) {
			*res = -EPROTO;
			return "an unterminated string in a zone";
		}
	config[h->config_len] = '\0';
	if (strlen(config) != h->config_len) {
		*res = -EPROTO;
		return "a NUL inside the configuration";
	}
	return NULL;
}

int shmfs_record_read(int fd, struct shmfs_record *head,
		      struct shmfs_record_zone **zones, char **config,
		      const char **why)
{
	struct stat st;
	int seals, res;

	*zones = NULL;
	*config = NULL;
	*why = "unreadable";
	if (fstat(fd, &st) < 0)
		return -errno;
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0 || (seals & SEALS) != SEALS) {
		*why = "not sealed";
		return -EPROTO;
	}
	if (st.st_size < (off_t)sizeof(*head)) {
		snprintf(why_buf, sizeof(why_buf), "truncated: %lld bytes",
			 (long long)st.st_size);
		*why = why_buf;
		return -EPROTO;
	}
	res = read_at(fd, head, sizeof(*head), 0);
	if (res < 0)
		return res;
	*why = check_head(head, st.st_size);
	if (*why != NULL)
		return -EPROTO;
	*zones = calloc(head->nzones ? head->nzones : 1, sizeof(**zones));
	*config = malloc((size_t)head->config_len + 1);
	if (*zones == NULL || *config == NULL) {
		res = -ENOMEM;
		*why = "out of memory";
	} else {
		*why = read_body(fd, head, *zones, *config, &res);
	}
	if (res < 0) {
		free(*zones);
		free(*config);
		*zones = NULL;
		*config = NULL;
	}
	return res;
}

uint64_t shmfs_record_start_time(pid_t pid)
{
	char path[64], buf[2048], *p;
	unsigned long long start;
	ssize_t n;
	int fd;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* comm (field 2) may hold spaces and ')': fields 3.. follow the last */
	p = strrchr(buf, ')');
	if (p == NULL || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X')
		return 0;
	p += 2;
	for (int field = 3; field < 22; field++) {
		p = strchr(p, ' ');
		if (p == NULL)
			return 0;
		p++;
	}
	if (sscanf(p, "%llu", &start) != 1)
		return 0;
	return start;
}

bool shmfs_record_alive(pid_t pid, uint64_t start)
{
	return start != 0 && shmfs_record_start_time(pid) == start;
}

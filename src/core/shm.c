/* SPDX-License-Identifier: MIT */
/*
 * The backends' table (what each backend is, and its alloc and free),
 * the calls every zone goes through, and the private backends: anonymous
 * memory, /dev/zero, a memfd. The shared objects other programs map too
 * are in shm_object.c (posix, sysv) and shm_file.c (a regular file).
 * Every mapping is made before fork(), so it is shared by the master and
 * all workers; each failing call is logged once, where it fails.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shm_backend.h"

/* memfd_create(2): names are at most 249 bytes (and a NUL). */
#define MFD_NAME_MAX 250

void shmfs_shm_unmap(struct shmfs_shm *shm)
{
	if (munmap(shm->addr, shm->size) < 0)
		shmfs_log_sys(LOG_ALERT, errno, "munmap(%p, %zu) failed",
			      shm->addr, shm->size);
}

int shmfs_shm_place(const struct shmfs_shm *shm, size_t size,
		    struct shm_place *pl)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	*pl = (struct shm_place){0};
	if (shm->place.huge == SHMFS_HUGE_OFF)
		return 0;
	pl->len = shmfs_huge_reserve_len(size, SHMFS_HUGE_SIZE, page);
	pl->base = mmap(NULL, pl->len, PROT_NONE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (pl->base == MAP_FAILED) {
		int err = errno;
		pl->base = NULL;
		shm_fail(shm, err,
			 "mmap(PROT_NONE, %zu) of a 2 MiB aligned place failed",
			 pl->len);
		return -err;
	}
	pl->at = (void *)shmfs_huge_aligned_in((uintptr_t)pl->base,
					       SHMFS_HUGE_SIZE);
	return 0;
}

void shmfs_shm_placed(struct shm_place *pl, const void *p, size_t size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	char *base = pl->base, *at = pl->at, *end, *tail;

	if (base == NULL)
		return;
	end = base + pl->len;
	tail = at + shmfs_huge_align_up(size, page);
	if (p == MAP_FAILED || p != at) { /* nothing of it is used */
		munmap(base, pl->len);
	} else {
		if (at > base)
			munmap(base, (size_t)(at - base));
		if (end > tail)
			munmap(tail, (size_t)(end - tail));
	}
	pl->base = NULL;
}

void shmfs_shm_close(const struct shmfs_shm *shm, int fd, const char *what)
{
	if (close(fd) < 0)
		shm_fail(shm, errno, "close(%d) of %s failed", fd, what);
}

/*
 * The shmem file behind a shared mapping, for lseek(SEEK_DATA) and fstat:
 * reading a hole through the mapping would allocate the page, reading the
 * file's holes tells where not to. /proc/self/map_files needs
 * CAP_SYS_ADMIN (or CAP_CHECKPOINT_RESTORE); without it there is none,
 * and the zone does without (-1), as it does where the size differs.
 */
static int memory_file(const struct shmfs_shm *shm)
{
	int fd = shmfs_shm_memory_file(shm);

	if (fd >= 0 && lseek(fd, 0, SEEK_END) != (off_t)shm->size) {
		shmfs_shm_close(shm, fd, "the mapping's file");
		fd = -1;
	}
	return fd < 0 ? -1 : fd;
}

int shmfs_shm_memory_file(const struct shmfs_shm *shm)
{
	unsigned long page = (unsigned long)sysconf(_SC_PAGESIZE);
	unsigned long end = (unsigned long)shm->addr + shm->size;
	char path[64];
	int fd;

	/* The mapping ends on a page, whatever size it was asked for. */
	end = (end + page - 1) / page * page;
	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx",
		 (unsigned long)shm->addr, end);
	fd = open(path, O_RDWR | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* Whether shm's mapping is of the file st describes. */
static bool same_file(const struct shmfs_shm *shm, const struct stat *st)
{
	struct stat now;
	int fd = shmfs_shm_memory_file(shm);
	bool same = fd >= 0 && fstat(fd, &now) == 0 &&
		    now.st_dev == st->st_dev && now.st_ino == st->st_ino;

	if (fd >= 0)
		close(fd);
	return same;
}

void shmfs_shm_huge_again(struct shmfs_shm *shm)
{
	struct shmfs_placement pl = shm->place;

	if (pl.huge == SHMFS_HUGE_OFF)
		return;
	pl.huge = SHMFS_HUGE_TRY;
	pl.numa = SHMFS_NUMA_DEFAULT;
	pl.node = -1;
	(void)shmfs_huge_prepare(shm->addr, shm->size, shm->label, &pl,
				 &shm->huge);
}

/* A keyed segment attached again where its zone goes (huge: aligned). */
static void *sysv_attach_again(const struct shmfs_shm *shm, size_t size)
{
	struct shm_place pl;
	void *p;

	if (shmfs_shm_place(shm, size, &pl) < 0)
		return NULL;
	p = shmat(shm->id, pl.at, pl.at ? SHM_REMAP : 0);
	shmfs_shm_placed(&pl, p == (void *)-1 ? MAP_FAILED : p, size);
	return p == (void *)-1 ? NULL : p;
}

int shmfs_shm_map_stored(struct shmfs_shm *shm, int fd, size_t size)
{
	struct stat st;
	void *p;
	int err;

	if (fstat(fd, &st) < 0) {
		err = errno;
		shm_fail(shm, err, "fstat of its stored descriptor failed%s",
			 "");
		goto fail;
	}
	if (st.st_size < 0 || (uint64_t)st.st_size < size) {
		err = EIO;
		shm_fail(shm, err,
			 "its stored memory is %lld bytes, %zu expected",
			 (long long)st.st_size, size);
		goto fail;
	}
	/*
	 * A keyed segment is attached again, so that its attach count says
	 * it is in use (see shm_leftover.c); a keyless one is gone from the
	 * table (removed at once), and only its file holds the pages.
	 */
	if (shm->backend == SHMFS_BACKEND_SYSV && shmfs_shm_shared(shm) &&
	    shm->id >= 0 && (p = sysv_attach_again(shm, size)) != NULL) {
		shm->addr = p;
		shm->size = size;
		if (same_file(shm, &st)) { /* not an id given again since */
			close(fd);
			shmfs_shm_huge_again(shm);
			return 0;
		}
		shmdt(p);
	}
	struct shm_place pl;
	err = -shmfs_shm_place(shm, size, &pl);
	if (err)
		goto fail;
	p = mmap(pl.at, size, PROT_READ | PROT_WRITE,
		 MAP_SHARED | shm_place_flags(&pl), fd, 0);
	err = errno;
	shmfs_shm_placed(&pl, p, size);
	if (p == MAP_FAILED) {
		shm_fail(shm, err, "mmap(stored, MAP_SHARED, %zu) failed",
			 size);
		goto fail;
	}
	shm->addr = p;
	shm->size = size;
	shm->fd = fd;
	shm->mapped = true;
	shmfs_shm_huge_again(shm);
	return 0;
fail:
	close(fd);
	return -err;
}

static int anon_alloc(struct shmfs_shm *shm)
{
	struct shm_place pl;
	int err = shmfs_shm_place(shm, shm->size, &pl);
	if (err)
		return err;

	void *p =
		mmap(pl.at, shm->size, PROT_READ | PROT_WRITE,
		     MAP_ANONYMOUS | MAP_SHARED | shm_place_flags(&pl), -1, 0);
	err = errno;
	shmfs_shm_placed(&pl, p, shm->size);
	if (p == MAP_FAILED) {
		shm_fail(shm, err, "mmap(MAP_ANON|MAP_SHARED, %zu) failed",
			 shm->size);
		return -err;
	}
	shm->addr = p;
	return 0;
}

static int devzero_alloc(struct shmfs_shm *shm)
{
	int fd = open("/dev/zero", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int err = errno;
		shm_fail(shm, err, "open(\"%s\") failed", "/dev/zero");
		return -err;
	}

	struct shm_place pl;
	int err = shmfs_shm_place(shm, shm->size, &pl);
	if (err) {
		shmfs_shm_close(shm, fd, "/dev/zero");
		return err;
	}

	void *p = mmap(pl.at, shm->size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | shm_place_flags(&pl), fd, 0);
	err = errno;
	shmfs_shm_placed(&pl, p, shm->size);
	shmfs_shm_close(shm, fd, "/dev/zero"); /* the mapping keeps it */
	if (p == MAP_FAILED) {
		shm_fail(shm, err, "mmap(/dev/zero, MAP_SHARED, %zu) failed",
			 shm->size);
		return -err;
	}
	shm->addr = p;
	return 0;
}

/*
 * A memfd can be sealed: F_SEAL_GROW makes a write past the end fail (EPERM)
 * even when the kernel writes it for a client (passthrough), where the
 * daemon never sees the write to refuse it.
 */
static int memfd_alloc(struct shmfs_shm *shm)
{
	char name[MFD_NAME_MAX];
	int fd, err;

	snprintf(name, sizeof(name), "shmfs:%s",
		 shm->label ? shm->label : "zone");
	fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0) {
		err = errno;
		shm_fail(shm, err, "memfd_create(\"%s\") failed", name);
		return -err;
	}
	if (ftruncate(fd, shm->size) < 0) {
		err = errno;
		shm_fail(shm, err, "ftruncate(memfd, %zu) failed", shm->size);
		goto fail;
	}
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) <
	    0) {
		err = errno;
		shm_fail(shm, err, "fcntl(memfd, F_ADD_SEALS) failed%s", "");
		goto fail;
	}
	struct shm_place pl;
	err = -shmfs_shm_place(shm, shm->size, &pl);
	if (err)
		goto fail;
	void *p = mmap(pl.at, shm->size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | shm_place_flags(&pl), fd, 0);
	err = errno;
	shmfs_shm_placed(&pl, p, shm->size);
	if (p == MAP_FAILED) {
		shm_fail(shm, err, "mmap(memfd, MAP_SHARED, %zu) failed",
			 shm->size);
		goto fail;
	}
	shm->addr = p;
	shm->fd = fd;
	return 0;
fail:
	shmfs_shm_close(shm, fd, "the memfd");
	return -err;
}

/*
 * Every backend, one row each: what it is (read by the configuration, the
 * zone table and the sizing checks through shmfs_backend_info) and how
 * its memory is had. A backend without probe has nothing to find before
 * the start.
 */
static const struct backend {
	struct shmfs_backend_info info;
	int (*alloc)(struct shmfs_shm *shm);
	void (*free)(struct shmfs_shm *shm);
	int (*probe)(struct shmfs_shm *shm);
} backends[SHMFS_BACKEND_COUNT] = {
	[SHMFS_BACKEND_ANON] =
		{
			.info = {.name = "anon", .holes = true},
			.alloc = anon_alloc,
			.free = shmfs_shm_unmap,
		},
	[SHMFS_BACKEND_DEVZERO] =
		{
			.info = {.name = "devzero", .holes = true},
			.alloc = devzero_alloc,
			.free = shmfs_shm_unmap,
		},
	[SHMFS_BACKEND_SYSV] =
		{
			.info = {.name = "sysv",
				 .sharing = SHMFS_SHARING_WITH_KEY,
				 .object_key = "key"},
			.alloc = shmfs_shm_sysv_alloc,
			.free = shmfs_shm_sysv_free,
			.probe = shmfs_shm_sysv_probe,
		},
	[SHMFS_BACKEND_MEMFD] =
		{
			.info = {.name = "memfd",
				 .sealable = true,
				 .holes = true,
				 .needs_fd = true},
			.alloc = memfd_alloc,
			.free = shmfs_shm_unmap,
		},
	[SHMFS_BACKEND_POSIX] =
		{
			.info = {.name = "posix",
				 .sharing = SHMFS_SHARING_ALWAYS,
				 .object_key = "name",
				 .holes = true,
				 .needs_fd = true,
				 .file_object = true},
			.alloc = shmfs_shm_posix_alloc,
			.free = shmfs_shm_posix_free,
			.probe = shmfs_shm_posix_probe,
		},
	[SHMFS_BACKEND_FILE] =
		{
			.info = {.name = "file",
				 .sharing = SHMFS_SHARING_ALWAYS,
				 .object_key = "path",
				 .holes = true,
				 .needs_fd = true,
				 .file_object = true},
			.alloc = shmfs_shm_file_alloc,
			.free = shmfs_shm_file_free,
			.probe = shmfs_shm_file_probe,
		},
	/* A running program's: no holes asked (its own file answers). */
	[SHMFS_BACKEND_PROCESS] =
		{
			.info = {.name = "process",
				 .sharing = SHMFS_SHARING_ALWAYS,
				 .object_key = "process",
				 .needs_fd = true},
			.alloc = shmfs_shm_process_alloc,
			.free = shmfs_shm_process_free,
			.probe = shmfs_shm_process_probe,
		},
};

const struct shmfs_backend_info *shmfs_backend_info(enum shmfs_backend backend)
{
	return (unsigned)backend < SHMFS_BACKEND_COUNT ? &backends[backend].info
						       : NULL;
}

const char *shmfs_backend_name(enum shmfs_backend backend)
{
	return (unsigned)backend < SHMFS_BACKEND_COUNT
		       ? backends[backend].info.name
		       : "?";
}

int shmfs_backend_parse(const char *name, enum shmfs_backend *backend)
{
	for (int i = 0; i < SHMFS_BACKEND_COUNT; i++) {
		if (strcmp(name, backends[i].info.name) == 0) {
			*backend = i;
			return 0;
		}
	}
	return -EINVAL;
}

bool shmfs_backend_shared(enum shmfs_backend backend, bool keyed)
{
	const struct shmfs_backend_info *info = shmfs_backend_info(backend);

	return info && (info->sharing == SHMFS_SHARING_ALWAYS ||
			(info->sharing == SHMFS_SHARING_WITH_KEY && keyed));
}

bool shmfs_shm_shared(const struct shmfs_shm *shm)
{
	return shmfs_backend_shared(shm->backend,
				    shm->key != IPC_PRIVATE || shm->proj != 0);
}

int shmfs_shm_alloc(struct shmfs_shm *shm)
{
	const struct backend *b;
	int err;

	shm->fd = -1;
	shm->pidfd = -1;
	shm->created = shm->adopted = false;
	if ((unsigned)shm->backend >= SHMFS_BACKEND_COUNT) {
		shm_refuse(shm, "no backend numbered %d", (int)shm->backend);
		return -EINVAL;
	}
	b = &backends[shm->backend];
	if (shm->size == 0 && !shmfs_shm_shared(shm)) {
		shm_refuse(shm, "no size to map with backend %s", b->info.name);
		return -EINVAL;
	}
	err = b->alloc(shm);
	if (err == 0 && shm->fd < 0 && b->info.holes)
		shm->fd = memory_file(shm);
	if (err == 0 && shmfs_placement_any(&shm->place)) {
		err = shmfs_huge_prepare(shm->addr, shm->size, shm->label,
					 &shm->place, &shm->huge);
		if (err)
			shmfs_shm_free(shm);
	}
	return err;
}

int shmfs_shm_probe(struct shmfs_shm *shm)
{
	const struct backend *b;

	shm->created = shm->adopted = false;
	if ((unsigned)shm->backend >= SHMFS_BACKEND_COUNT) {
		shm_refuse(shm, "no backend numbered %d", (int)shm->backend);
		return -EINVAL;
	}
	b = &backends[shm->backend];
	return b->probe ? b->probe(shm) : 0;
}

void shmfs_shm_describe(const struct shmfs_shm *shm, char *buf, size_t len)
{
	int n = 0;

	if (shm->backend == SHMFS_BACKEND_PROCESS)
		n = shmfs_shm_process_describe(shm, buf, len);
	else if (!shmfs_shm_shared(shm))
		n = snprintf(buf, len, "-");
	else if (shm->backend == SHMFS_BACKEND_SYSV && shm->proj)
		n = snprintf(buf, len, "key %s:%d", shm->object, shm->proj);
	else if (shm->backend == SHMFS_BACKEND_SYSV)
		n = snprintf(buf, len, "key %#x", (unsigned)shm->key);
	else
		n = snprintf(buf, len, "%s", shm->object);
	if (n >= 0 && (size_t)n < len && shm->attach)
		n += snprintf(buf + n, len - n, " attach");
	if (n >= 0 && (size_t)n < len && shm->keep)
		n += snprintf(buf + n, len - n, " keep");
	if (n >= 0 && (size_t)n < len && shm->object_owner != 0 &&
	    shm->backend != SHMFS_BACKEND_PROCESS)
		snprintf(buf + n, len - n, " object_owner %u",
			 (unsigned)shm->object_owner);
}

void shmfs_shm_free(struct shmfs_shm *shm)
{
	if (shm->backend == SHMFS_BACKEND_PROCESS) {
		shmfs_shm_process_free(shm); /* detached too: its pidfd */
		return;
	}
	if (shm->addr == NULL)
		return;
	backends[shm->backend].free(shm);
	shm->addr = NULL;
	if (shm->fd >= 0)
		shmfs_shm_close(shm, shm->fd, "the zone's file");
	shm->fd = -1;
}

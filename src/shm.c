/* SPDX-License-Identifier: MIT */
/*
 * The three ways nginx's ngx_shm_alloc gets shared memory, behind one
 * alloc/free pair. Every mapping is made before fork(), so it is shared by
 * the master and all workers; each failing call is logged once, here.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <unistd.h>

#include "shmfs/log.h"
#include "shmfs/shm.h"

/* memfd_create(2): names are at most 249 bytes (and a NUL). */
#define MFD_NAME_MAX 250

/* One line per failure: the zone, the call, the size and errno. */
#define shm_fail(shm, err, fmt, ...)                                           \
	shmfs_log_sys(LOG_ERR, err, "%s%s%s" fmt,                              \
		      (shm)->label ? "zone \"" : "",                           \
		      (shm)->label ? (shm)->label : "",                        \
		      (shm)->label ? "\": " : "", __VA_ARGS__)

struct backend {
	const char *name;
	int (*alloc)(struct shmfs_shm *shm);
	void (*free)(struct shmfs_shm *shm);
};

/*
 * The shmem file behind a shared mapping, for lseek(SEEK_DATA) and fstat:
 * reading a hole through the mapping would allocate the page, reading the
 * file's holes tells where not to. /proc/self/map_files needs
 * CAP_SYS_ADMIN (or CAP_CHECKPOINT_RESTORE); without it there is none. A
 * SysV segment's file answers lseek with noop_llseek (always 0), so the
 * size check refuses it rather than have every byte look like a hole.
 */
static int object_fd(const struct shmfs_shm *shm)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx",
		 (unsigned long)shm->addr,
		 (unsigned long)shm->addr + shm->size);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && lseek(fd, 0, SEEK_END) != (off_t)shm->size) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static int anon_alloc(struct shmfs_shm *shm)
{
	void *p = mmap(NULL, shm->size, PROT_READ | PROT_WRITE,
		       MAP_ANONYMOUS | MAP_SHARED, -1, 0);
	if (p == MAP_FAILED) {
		int err = errno;
		shm_fail(shm, err, "mmap(MAP_ANON|MAP_SHARED, %zu) failed",
			 shm->size);
		return -err;
	}
	shm->addr = p;
	shm->fd = object_fd(shm);
	return 0;
}

static void unmap(struct shmfs_shm *shm)
{
	if (munmap(shm->addr, shm->size) < 0)
		shmfs_log_sys(LOG_ALERT, errno, "munmap(%p, %zu) failed",
			      shm->addr, shm->size);
}

static int devzero_alloc(struct shmfs_shm *shm)
{
	int fd = open("/dev/zero", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int err = errno;
		shm_fail(shm, err, "open(\"%s\") failed", "/dev/zero");
		return -err;
	}

	void *p = mmap(NULL, shm->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		       0);
	int err = errno;
	close(fd);
	if (p == MAP_FAILED) {
		shm_fail(shm, err, "mmap(/dev/zero, MAP_SHARED, %zu) failed",
			 shm->size);
		return -err;
	}
	shm->addr = p;
	shm->fd = object_fd(shm);
	return 0;
}

static int sysv_alloc(struct shmfs_shm *shm)
{
	int id = shmget(IPC_PRIVATE, shm->size, IPC_CREAT | 0600);
	if (id < 0) {
		int err = errno;
		shm_fail(shm, err, "shmget(%zu) failed", shm->size);
		return -err;
	}

	void *p = shmat(id, NULL, 0);
	int err = errno;

	/*
	 * Mark the segment for removal at once: it lives while attached and
	 * vanishes with the last detach, even after kill -9.
	 */
	if (shmctl(id, IPC_RMID, NULL) < 0)
		shmfs_log_sys(LOG_ALERT, errno, "shmctl(IPC_RMID, %d) failed",
			      id);
	if (p == (void *)-1) {
		shm_fail(shm, err, "shmat(%d, %zu) failed", id, shm->size);
		return -err;
	}
	shm->addr = p;
	return 0;
}

static void sysv_free(struct shmfs_shm *shm)
{
	if (shmdt(shm->addr) < 0)
		shmfs_log_sys(LOG_ALERT, errno, "shmdt(%p) failed", shm->addr);
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
	void *p = mmap(NULL, shm->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		       0);
	if (p == MAP_FAILED) {
		err = errno;
		shm_fail(shm, err, "mmap(memfd, MAP_SHARED, %zu) failed",
			 shm->size);
		goto fail;
	}
	shm->addr = p;
	shm->fd = fd;
	return 0;
fail:
	close(fd);
	return -err;
}

static const struct backend backends[SHMFS_BACKEND_COUNT] = {
	[SHMFS_BACKEND_ANON] = {"anon", anon_alloc, unmap},
	[SHMFS_BACKEND_DEVZERO] = {"devzero", devzero_alloc, unmap},
	[SHMFS_BACKEND_SYSV] = {"sysv", sysv_alloc, sysv_free},
	[SHMFS_BACKEND_MEMFD] = {"memfd", memfd_alloc, unmap},
};

const char *shmfs_shm_backend_name(enum shmfs_backend backend)
{
	return backend < SHMFS_BACKEND_COUNT ? backends[backend].name : "?";
}

int shmfs_shm_backend_parse(const char *name, enum shmfs_backend *backend)
{
	for (int i = 0; i < SHMFS_BACKEND_COUNT; i++) {
		if (strcmp(name, backends[i].name) == 0) {
			*backend = i;
			return 0;
		}
	}
	return -EINVAL;
}

int shmfs_shm_alloc(struct shmfs_shm *shm)
{
	shm->fd = -1;
	if (shm->backend >= SHMFS_BACKEND_COUNT || shm->size == 0)
		return -EINVAL;
	return backends[shm->backend].alloc(shm);
}

void shmfs_shm_free(struct shmfs_shm *shm)
{
	if (shm->addr == NULL)
		return;
	backends[shm->backend].free(shm);
	shm->addr = NULL;
	if (shm->fd >= 0 && close(shm->fd) < 0)
		shmfs_log_sys(LOG_ALERT, errno,
			      "close(%d) of a zone's file failed", shm->fd);
	shm->fd = -1;
}

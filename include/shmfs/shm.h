/* SPDX-License-Identifier: MIT */
/*
 * Shared-memory backends, in the manner of nginx's ngx_shm_alloc: a zone is
 * one shared mapping made by the master before any fork, so every worker
 * inherits the same pages at the same address.
 */
#ifndef SHMFS_SHM_H
#define SHMFS_SHM_H

#include <stddef.h>

enum shmfs_backend {
	SHMFS_BACKEND_ANON,    /* mmap(MAP_ANON|MAP_SHARED) */
	SHMFS_BACKEND_DEVZERO, /* mmap of /dev/zero, SVR4 style */
	SHMFS_BACKEND_SYSV,    /* shmget + shmat + IPC_RMID at once */
	SHMFS_BACKEND_MEMFD,   /* memfd_create, sealed at its size */
	SHMFS_BACKEND_COUNT
};

struct shmfs_shm {
	void *addr;
	size_t size;
	enum shmfs_backend backend;
	const char *label; /* names the zone in messages; may be NULL */
	/*
	 * The memory's own file, set by shmfs_shm_alloc and kept open while
	 * the zone lives: a memfd's descriptor; for anon and devzero the
	 * shmem file behind the mapping (/proc/self/map_files: root only);
	 * -1 where it cannot be had (not root, sysv, out of descriptors).
	 */
	int fd;
};

/* The backend's name as written in the ini file ("anon", ...). */
const char *shmfs_shm_backend_name(enum shmfs_backend backend);

/* Parses a backend name. Returns 0, or -EINVAL for an unknown name. */
int shmfs_shm_backend_parse(const char *name, enum shmfs_backend *backend);

/*
 * Maps shm->size bytes of zeroed shared memory with shm->backend and sets
 * shm->addr and shm->fd. A memfd is named "shmfs:LABEL" and sealed against
 * growing and shrinking (F_SEAL_GROW|F_SEAL_SHRINK|F_SEAL_SEAL), so that no
 * write through it can store a byte past the zone. A failure is logged once
 * with the call, size and errno. Returns 0 or -errno.
 */
int shmfs_shm_alloc(struct shmfs_shm *shm);

/* Unmaps a zone made by shmfs_shm_alloc and closes its fd; a NULL addr is
 * ignored. */
void shmfs_shm_free(struct shmfs_shm *shm);

#endif /* SHMFS_SHM_H */

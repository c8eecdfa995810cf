/* SPDX-License-Identifier: MIT */
/*
 * Shared-memory backends, in the manner of nginx's ngx_shm_alloc: a zone is
 * one shared mapping made by the master before any fork, so every worker
 * inherits the same pages at the same address.
 */
#ifndef SHMFS_SHM_H
#define SHMFS_SHM_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum shmfs_backend {
	SHMFS_BACKEND_ANON,    /* mmap(MAP_ANON|MAP_SHARED) */
	SHMFS_BACKEND_DEVZERO, /* mmap of /dev/zero, SVR4 style */
	SHMFS_BACKEND_SYSV,    /* shmget + shmat; keyless: IPC_RMID at once */
	SHMFS_BACKEND_MEMFD,   /* memfd_create, sealed at its size */
	SHMFS_BACKEND_POSIX,   /* shm_open: /dev/shm/NAME, others map it too */
	SHMFS_BACKEND_FILE,    /* a regular file, MAP_SHARED: bytes persist */
	SHMFS_BACKEND_COUNT
};

struct shmfs_shm {
	void *addr;
	/*
	 * Bytes to map. 0 for a shared object that exists: its own size
	 * (set by shmfs_shm_alloc).
	 */
	size_t size;
	enum shmfs_backend backend;
	const char *label; /* names the zone in messages; may be NULL */
	/*
	 * Shared objects, which other programs open too. object: the posix
	 * name ("/NAME"), the file's path, or the path that sysv's ftok
	 * makes the key from (with proj); key: a sysv key (IPC_PRIVATE:
	 * none, the segment is private and removed at once).
	 */
	const char *object;
	key_t key;
	int proj;
	bool attach; /* the object must exist: never created */
	bool keep;   /* what shmfs created outlives it (posix, sysv) */
	mode_t mode; /* for an object shmfs creates */
	uid_t uid;
	gid_t gid;
	bool created; /* shmfs made the object: free removes it (not keep) */
	int id;	      /* sysv: the segment's id */
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

/*
 * Unmaps a zone made by shmfs_shm_alloc and closes its fd; a NULL addr is
 * ignored. A file is flushed first (msync); a posix object or sysv segment
 * that shmfs created is removed unless keep is set.
 */
void shmfs_shm_free(struct shmfs_shm *shm);

/*
 * True for the backends other programs reach: posix, file, and sysv with a
 * key. Their size is the object's, and what others write bypasses the
 * daemon.
 */
bool shmfs_shm_shared(const struct shmfs_shm *shm);

/*
 * What shmfs_shm_alloc would find, changing nothing (for "shmfs -t"): sets
 * shm->size to an existing object's size (left as is for one to be
 * created) and returns 0, or logs why the start would fail and returns
 * -errno. Private backends always succeed.
 */
int shmfs_shm_probe(struct shmfs_shm *shm);

/*
 * The longest description, its NUL included: "key " PATH ":" PROJ (an int)
 * " attach keep", PATH at most PATH_MAX - 1 bytes.
 */
#define SHMFS_SHM_DESCRIBE_MAX (PATH_MAX + 32)

/*
 * The backend's details as "-t" and /.stats show them: "/NAME",
 * "key 0x2a", "key PATH:PROJ", "PATH", with " attach" and " keep"; "-"
 * for a private backend. Cut short only if len < SHMFS_SHM_DESCRIBE_MAX.
 */
void shmfs_shm_describe(const struct shmfs_shm *shm, char *buf, size_t len);

#endif /* SHMFS_SHM_H */

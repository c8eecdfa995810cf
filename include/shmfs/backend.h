/* SPDX-License-Identifier: MIT */
/*
 * The backends a zone's memory comes from, and what each one is: one row
 * per backend in shm.c's table, which the configuration, the zone table,
 * the sizing checks and the backends themselves all read, so that adding
 * a backend is one row there plus its alloc and free.
 */
#ifndef SHMFS_BACKEND_H
#define SHMFS_BACKEND_H

#include <stdbool.h>

enum shmfs_backend {
	SHMFS_BACKEND_ANON,    /* mmap(MAP_ANON|MAP_SHARED) */
	SHMFS_BACKEND_DEVZERO, /* a shared mapping of /dev/zero */
	SHMFS_BACKEND_SYSV,    /* shmget + shmat; keyless: IPC_RMID at once */
	SHMFS_BACKEND_MEMFD,   /* memfd_create, sealed at its size */
	SHMFS_BACKEND_POSIX,   /* shm_open: /dev/shm/NAME, others map it too */
	SHMFS_BACKEND_FILE,    /* a regular file, MAP_SHARED: bytes persist */
	/* A running program's own shared mapping (shm_process.c). */
	SHMFS_BACKEND_PROCESS,
	SHMFS_BACKEND_COUNT
};

/* Whether other programs map a backend's memory. */
enum shmfs_backend_sharing {
	SHMFS_SHARING_NEVER,	/* only the daemon and its workers map it */
	SHMFS_SHARING_ALWAYS,	/* a named object (posix, file) */
	SHMFS_SHARING_WITH_KEY, /* a sysv segment given a key */
};

struct shmfs_backend_info {
	const char *name; /* as the ini file writes it */
	/*
	 * A shared object's bytes are written by other programs behind the
	 * daemon: its size is the object's (the zone is fixed-size, see
	 * shmfs_zone_config_fixed), the kernel's page cache of the zone file
	 * would serve stale bytes (so it runs cache = direct), and a reload
	 * never copies into it.
	 */
	enum shmfs_backend_sharing sharing;
	/* The key that names the shared object ("name", "key", "path"). */
	const char *object_key;
	/*
	 * It can be sealed against growing (F_SEAL_GROW), which stops even
	 * a write the kernel makes for a client: passthrough needs that.
	 */
	bool sealable;
	/*
	 * Its memory's file answers SEEK_DATA and SEEK_HOLE, so reading a
	 * hole can skip it rather than allocate the page (a sysv segment's
	 * answers lseek with noop_llseek: every byte would look like data).
	 */
	bool holes;
	/*
	 * It cannot be had without a descriptor held open for the zone's
	 * life (anon and devzero keep one only where it can be had).
	 */
	bool needs_fd;
	/*
	 * Its object is a file other programs open (in /dev/shm, or
	 * anywhere): they can cut it short, and its filesystem can be full,
	 * so blocks are allocated before a write copies into them.
	 */
	bool file_object;
};

/* The backend's row; NULL for a value past SHMFS_BACKEND_COUNT. */
const struct shmfs_backend_info *shmfs_backend_info(enum shmfs_backend backend);

/* The backend's name as written in the ini file ("anon", ...); "?". */
const char *shmfs_backend_name(enum shmfs_backend backend);

/* Parses a backend name. Returns 0, or -EINVAL for an unknown name. */
int shmfs_backend_parse(const char *name, enum shmfs_backend *backend);

/*
 * Whether other programs map the memory: posix, file, and sysv when keyed
 * (given a key number or an ftok path).
 */
bool shmfs_backend_shared(enum shmfs_backend backend, bool keyed);

#endif /* SHMFS_BACKEND_H */

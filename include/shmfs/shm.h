/* SPDX-License-Identifier: MIT */
/*
 * A zone's memory: one shared mapping made by the master before any fork,
 * so every worker inherits the same pages at the same address, from the
 * backend the zone names (see backend.h for what each backend is).
 */
#ifndef SHMFS_SHM_H
#define SHMFS_SHM_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "shmfs/backend.h"
#include "shmfs/huge.h"

struct shmfs_shm {
	void *addr;
	/*
	 * Bytes to map: a zone's capacity (see config.h). 0 for a shared
	 * object that exists: its own size (set by shmfs_shm_alloc).
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
	/*
	 * object_owner =: one more user whose existing objects are trusted
	 * (see shmfs_shm_owner_trusted); 0 when none is named, root being
	 * trusted anyway.
	 */
	uid_t object_owner;
	bool created; /* shmfs made the object: free removes it (not keep) */
	/*
	 * Mapped from a descriptor a dead master stored (a restart): the
	 * mapping is undone with munmap whatever the backend (a sysv
	 * segment's too: it was never attached here).
	 */
	bool mapped;
	/*
	 * The object is a previous run's crash leftover, adopted with its
	 * bytes (created is set too: it is removed as if made now).
	 */
	bool adopted;
	int id; /* sysv: the segment's id */
	/*
	 * The memory's own file, set by shmfs_shm_alloc and kept open while
	 * the zone lives: a memfd's descriptor; for anon and devzero the
	 * shmem file behind the mapping (/proc/self/map_files: root only);
	 * -1 where it cannot be had (not root, sysv, out of descriptors).
	 */
	int fd;
	/*
	 * Huge pages, populate and the memory policy (issue 18, huge.h):
	 * what the zone asks (a huge zone is mapped 2 MiB aligned), and
	 * what shmfs_shm_alloc got.
	 */
	struct shmfs_placement place;
	struct shmfs_huge_result huge;
	/*
	 * backend = process (shm_process.c). Asked: object names the
	 * process (a pid file's path, or a pid), match, map_start-map_end
	 * and size (when not 0) the mapping, writable whether it is mapped
	 * for writing; strict makes a mapping that cannot be picked an error
	 * (the first start) rather than a detached zone (later).
	 * Found: pid and pidfd (-1: none) of the process, start-end of its
	 * mapping; detached when there is none (addr NULL, size 0), tried
	 * the pid last looked at (a new one is tried again).
	 */
	const char *match;
	uint64_t map_start, map_end;
	bool writable;
	bool strict;
	bool detached;
	pid_t pid, tried;
	int pidfd;
	uint64_t start, end;
};

/*
 * Whether an existing object (a posix object, a sysv segment's owner and
 * creator, a file) owned by uid may be used: root's, the daemon's
 * (effective uid), the zone's uid's, or object_owner's. Anyone else's
 * object may have been planted where the zone looks for it, to read what
 * the zone's users write there or to feed them its bytes.
 */
bool shmfs_shm_owner_trusted(const struct shmfs_shm *shm, uid_t uid);

/* What shmfs_shm_file_check found at a file zone's path. */
enum shmfs_shm_file_state {
	SHMFS_SHM_FILE_SAME,	 /* the mapped file (or not a file zone) */
	SHMFS_SHM_FILE_RESTORED, /* gone: its bytes are back there, mapped */
	SHMFS_SHM_FILE_REPLACED, /* another file is there now */
	SHMFS_SHM_FILE_FAILED,	 /* gone, or unreachable, and not restored */
};

/*
 * Whether a file zone's path still names the file it maps (same st_dev
 * and st_ino), with no process but the caller using the mapping (a
 * reload or a stop, the workers gone). A file deleted or moved away is
 * written back: a new file next to it (O_EXCL, the old one's owner and
 * mode, the zone's bytes, fsync) replaces the mapping at the same address
 * and is renamed to the path, and shm->fd becomes its descriptor. A file
 * replaced by another is left alone. Each finding is logged once, here;
 * stopping says what the log line tells of a replaced file's bytes.
 */
int shmfs_shm_file_check(struct shmfs_shm *shm, bool stopping);

/*
 * Maps shm->size bytes of zeroed shared memory with shm->backend and sets
 * shm->addr and shm->fd. -EINVAL, logged, for a backend past
 * SHMFS_BACKEND_COUNT or a size of 0 where no object gives one. A memfd is
 * named "shmfs:LABEL" and sealed against growing and shrinking
 * (F_SEAL_GROW|F_SEAL_SHRINK|F_SEAL_SEAL), so that no write through it can
 * store a byte past the zone. A posix object or keyed sysv segment in the
 * way of one to create is adopted, its bytes kept, if a previous run of
 * the daemon left it (logged once; shm->adopted); anything else there is
 * refused. A failure is logged once with the call, size and errno.
 * Returns 0 or -errno.
 */
int shmfs_shm_alloc(struct shmfs_shm *shm);

/*
 * In place of shmfs_shm_alloc, for a restarted master: maps size bytes of
 * fd, the memory's file a dead master stored (its memfd, the shmem file
 * behind an anonymous, /dev/zero or sysv mapping, a posix object's or a
 * file's descriptor), MAP_SHARED: the same pages. shm takes fd (closed on
 * failure too). -EIO (logged) if the file is shorter than size.
 * Returns 0 or -errno.
 */
int shmfs_shm_map_stored(struct shmfs_shm *shm, int fd, size_t size);

/*
 * A huge zone collapsed again where it already was (issue 18): a
 * restarted master's new mapping of pages that are huge already (mapped
 * so here too, and measured), a reload's kept zone (what punched holes
 * split is made whole again). What it cannot do is warned of, never a
 * reason to lose the mount or the reload: huge_pages = try, the memory
 * policy left as the object has it. Sets shm->huge.
 */
void shmfs_shm_huge_again(struct shmfs_shm *shm);

/*
 * The shmem file behind the mapping of a zone without one (sysv, or
 * where shmfs_shm_alloc found none), for a successor to map: a new
 * descriptor (the caller's), or -errno. Needs /proc/self/map_files (root).
 */
int shmfs_shm_memory_file(const struct shmfs_shm *shm);

/*
 * Unmaps a zone made by shmfs_shm_alloc and closes its fd; a NULL addr is
 * ignored. A file is flushed first (msync); a posix object or sysv segment
 * that shmfs created is removed unless keep is set.
 */
void shmfs_shm_free(struct shmfs_shm *shm);

/* shmfs_backend_shared for shm's backend, keyed by its key or proj. */
bool shmfs_shm_shared(const struct shmfs_shm *shm);

/*
 * What shmfs_shm_alloc would find, changing nothing (for "shmfs -t"): sets
 * shm->size to an existing object's size (left as is for one to be
 * created) and returns 0, or logs why the start would fail and returns
 * -errno. Private backends always succeed.
 */
int shmfs_shm_probe(struct shmfs_shm *shm);

/*
 * The longest description, its NUL included: "key " PATH ":" PROJ
 * " attach keep object_owner " UID, PATH at most PATH_MAX - 1 bytes, PROJ
 * and UID numbers of at most 10 digits.
 */
#define SHMFS_SHM_DESCRIBE_MAX (PATH_MAX + 64)

/*
 * The backend's details as "-t" and /.stats show them: "/NAME",
 * "key 0x2a", "key PATH:PROJ", "PATH", with " attach", " keep" and
 * " object_owner UID"; "-" for a private backend. Cut short only if
 * len < SHMFS_SHM_DESCRIBE_MAX.
 */
void shmfs_shm_describe(const struct shmfs_shm *shm, char *buf, size_t len);

/*
 * backend = process, for the master that follows the program's life: the
 * pidfd to poll while attached (readable once the process exited), -1
 * for any other zone or a detached one.
 */
int shmfs_shm_process_pidfd(const struct shmfs_shm *shm);

/*
 * Whether a detached process zone's process names another live process
 * than the one last tried (the pid file changed): a rebuild attaches it.
 * Cheap (one read of the pid file, one kill(pid, 0)): called once a
 * second while a zone is detached.
 */
bool shmfs_shm_process_appeared(const struct shmfs_shm *shm);

#endif /* SHMFS_SHM_H */

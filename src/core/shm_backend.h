/* SPDX-License-Identifier: MIT */
/*
 * Private to shm.c, shm_object.c and shm_file.c: the backends' entry points
 * that shm.c's table names, the helpers the shared objects (posix, sysv,
 * file) have in common, and the one way each of them logs a failure.
 */
#ifndef SHMFS_SHM_BACKEND_H
#define SHMFS_SHM_BACKEND_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/shm.h>

#include "shmfs/log.h"
#include "shmfs/shm.h"

/* One line per failure: the zone, the call, its arguments and errno. */
#define shm_fail(shm, err, fmt, ...)                                           \
	shmfs_log_sys(LOG_ERR, err, "%s%s%s" fmt,                              \
		      (shm)->label ? "zone \"" : "",                           \
		      (shm)->label ? (shm)->label : "",                        \
		      (shm)->label ? "\": " : "", __VA_ARGS__)

/* A refusal with its reason and what to do: no errno to add. */
#define shm_refuse(shm, fmt, ...)                                              \
	shmfs_log(LOG_ERR, "%s%s%s" fmt, (shm)->label ? "zone \"" : "",        \
		  (shm)->label ? (shm)->label : "",                            \
		  (shm)->label ? "\": " : "", __VA_ARGS__)

/* What a refusal of an untrusted owner says, after the object. */
#define UNTRUSTED                                                              \
	"not root, the daemon's user, the zone's uid or object_owner: "        \
	"refused (object_owner = %u would trust it)"

/*
 * Each backend's alloc, free and probe, as shmfs_shm_alloc, shmfs_shm_free
 * and shmfs_shm_probe describe them.
 */
int shmfs_shm_sysv_alloc(struct shmfs_shm *shm);
void shmfs_shm_sysv_free(struct shmfs_shm *shm);
int shmfs_shm_sysv_probe(struct shmfs_shm *shm);
int shmfs_shm_posix_alloc(struct shmfs_shm *shm);
void shmfs_shm_posix_free(struct shmfs_shm *shm);
int shmfs_shm_posix_probe(struct shmfs_shm *shm);
int shmfs_shm_file_alloc(struct shmfs_shm *shm);
void shmfs_shm_file_free(struct shmfs_shm *shm);
int shmfs_shm_file_probe(struct shmfs_shm *shm);
int shmfs_shm_process_alloc(struct shmfs_shm *shm);
void shmfs_shm_process_free(struct shmfs_shm *shm);
int shmfs_shm_process_probe(struct shmfs_shm *shm);

/* backend = process: shmfs_shm_describe's text; snprintf's count. */
int shmfs_shm_process_describe(const struct shmfs_shm *shm, char *buf,
			       size_t len);

/*
 * Where a zone's mapping goes (issue 18): anywhere (at NULL), or for huge
 * pages at a 2 MiB boundary inside a PROT_NONE reservation, which the
 * mapping replaces with MAP_FIXED (shmat: SHM_REMAP). shmfs_shm_place
 * reserves (0 or -errno, logged); shmfs_shm_placed, once the mapping is
 * made (p) or has failed (MAP_FAILED), gives back what it does not use.
 */
struct shm_place {
	void *base; /* the reservation; NULL: none */
	size_t len;
	void *at;
};
int shmfs_shm_place(const struct shmfs_shm *shm, size_t size,
		    struct shm_place *pl);
void shmfs_shm_placed(struct shm_place *pl, const void *p, size_t size);

/* MAP_FIXED where the mapping goes into a reservation. */
static inline int shm_place_flags(const struct shm_place *pl)
{
	return pl->at ? MAP_FIXED : 0;
}

/* munmap of the zone's mapping, logged if it fails. */
void shmfs_shm_unmap(struct shmfs_shm *shm);

/* close(fd), logged if it fails; what names the descriptor's file. */
void shmfs_shm_close(const struct shmfs_shm *shm, int fd, const char *what);

/*
 * The rest of opening a posix object or a file on fd: a new one
 * (shm->created) gets the zone's owner, mode and size, an existing one
 * must be a regular file with one link, a trusted user's, of the zone's
 * size (or any, size left out: then shm->size becomes its size); then it
 * is mapped, unless only probed. On failure (or after a probe) fd is
 * closed and what was created is removed again with drop. Returns 0 or
 * -errno, logged.
 */
int shmfs_shm_map_object(struct shmfs_shm *shm, int fd, const char *what,
			 bool probe, int (*drop)(const char *));

/*
 * Crash leftovers (shm_leftover.c says how one is recognised). claim
 * marks and locks a posix object shmfs has just created on fd (a failure
 * is a warning: the object only loses its recognition after a crash).
 */
void shmfs_shm_posix_claim(const struct shmfs_shm *shm, int fd,
			   const char *what);

/*
 * Whether the existing posix object open at fd (read-write unless probe)
 * is a previous run's leftover: 0 if so, its lock now held on fd unless
 * probe; -EEXIST for an object that is not shmfs's (the error of an
 * object in the way), -EBUSY for one a running shmfs holds, -EINVAL for a
 * leftover of another size than the zone's; each logged. The hardening
 * checks of shmfs_shm_map_object are still to run.
 */
int shmfs_shm_posix_leftover(struct shmfs_shm *shm, int fd, const char *what,
			     bool probe);

/*
 * Whether the existing segment with key, of state ds, is a previous run's
 * leftover: 0 if so; -EEXIST, not logged, for a segment that is not
 * (the caller says it is in the way); -EBUSY for one that looks like
 * shmfs's but is attached, -EINVAL for a leftover of another size than
 * the zone's, both logged.
 */
int shmfs_shm_sysv_leftover(const struct shmfs_shm *shm, key_t key,
			    const char *what, const struct shmid_ds *ds);

/* The one line that says a leftover is (or, probing, will be) adopted. */
void shmfs_shm_adopted(const struct shmfs_shm *shm, const char *what,
		       bool probe);

#endif /* SHMFS_SHM_BACKEND_H */

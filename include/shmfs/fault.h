/* SPDX-License-Identifier: MIT */
/*
 * Fault injection for tests, compiled in only with -Dfault_injection=true:
 * SHMFS_FAULT=POINT[:COUNT][,POINT[:COUNT]...] in the environment makes the
 * next COUNT (default 1) workers that reach POINT die there with SIGKILL, as if
 * killed from outside at the worst moment. Points:
 *   read          a read request taken, not answered
 *   read_crash    (not SIGKILL) the worker aborts there: a request that
 *                 kills whoever serves it
 *   write_locked  a write half copied into a zone, its lock held
 *   truncate_locked  a shrink half done, the lock held
 *   no_clone      (not a death) workers keep the shared /dev/fuse descriptor
 *   no_resend     (not a death) the kernel is taken not to resend (before
 *                 6.9): a dead worker's requests fail as they used to
 *   no_passthrough (not a death) registering a passthrough backing fails
 *                 as without CAP_SYS_ADMIN: zones fall back to page mode
 *   forbidden_syscall  a worker, once under its seccomp filter, makes a
 *                 system call outside the allow-list (it dies of that)
 *   reply_unmapped (not a death) a READ with data is answered from an
 *                 inaccessible page: the reply's writev fails with EFAULT
 *   no_collapse   (not a death) the master's MADV_COLLAPSE of a huge
 *                 zone's extent fails with EINVAL, as from a kernel that
 *                 refuses collapse (huge.c): try falls back, on refuses
 *   reply_rejected (not a death) a READ is answered with error 600, which
 *                 libfuse passes and the kernel refuses (EINVAL), keeping
 *                 the request
 *   uring_setup   a ring worker, its ring made, before it registers an
 *                 entry
 *   uring_start_crash  (not SIGKILL) a ring worker aborts there: a slot
 *                 no worker can fill
 *   uring_serve_crash  (not SIGKILL) a ring worker aborts with a request
 *                 taken, its buffers intact
 *   uring_reply_crash  (not SIGKILL) a ring worker aborts with its reply
 *                 half written over the request
 */
#ifndef SHMFS_FAULT_H
#define SHMFS_FAULT_H

#include <stdbool.h>

/*
 * The points are statements, never part of an expression, so that a
 * normal build has no trace of them:
 *   SHMFS_FAULT_POINT(point);           dies here (SIGKILL)
 *   SHMFS_FAULT_RETURN(point, value);   a switch: returns value from the
 *                                       calling function
 *   SHMFS_FAULT_TAKE(point, action);    runs action, once per count: the
 *                                       caller misbehaves
 */
#ifdef SHMFS_FAULT_INJECTION

#define SHMFS_FAULT_POINT(point) shmfs_fault_point(point)
#define SHMFS_FAULT_RETURN(point, value)                                       \
	do {                                                                   \
		if (shmfs_fault_is(point))                                     \
			return (value);                                        \
	} while (0)
#define SHMFS_FAULT_TAKE(point, action)                                        \
	do {                                                                   \
		if (shmfs_fault_take(point)) {                                 \
			action;                                                \
		}                                                              \
	} while (0)

/* Reads SHMFS_FAULT; called by the master before any fork. */
void shmfs_fault_init(void);

/* Dies here if SHMFS_FAULT names point and its count is not spent. */
void shmfs_fault_point(const char *point);

/* True if SHMFS_FAULT names point (for switches like no_clone). */
bool shmfs_fault_is(const char *point);

/* True, once per count, if SHMFS_FAULT names point. */
bool shmfs_fault_take(const char *point);

/* A page no access is allowed to (mapped PROT_NONE by shmfs_fault_init). */
const void *shmfs_fault_unmapped(void);

#else

#define SHMFS_FAULT_POINT(point)                                               \
	do {                                                                   \
	} while (0)
#define SHMFS_FAULT_RETURN(point, value)                                       \
	do {                                                                   \
	} while (0)
#define SHMFS_FAULT_TAKE(point, action)                                        \
	do {                                                                   \
	} while (0)

static inline void shmfs_fault_init(void)
{
}

#endif

#endif /* SHMFS_FAULT_H */

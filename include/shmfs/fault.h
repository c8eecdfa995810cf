/* SPDX-License-Identifier: MIT */
/*
 * Fault injection for tests, compiled in only with -Dfault_injection=true:
 * SHMFS_FAULT=POINT[:COUNT][,POINT[:COUNT]...] in the environment makes the
 * next COUNT (default 1) workers that reach POINT die there with SIGKILL, as if
 * killed from outside at the worst moment. Points:
 *   read          a read request taken, not answered
 *   write_locked  a write half copied into a zone, its lock held
 *   truncate_locked  a shrink half done, the lock held
 *   no_clone      (not a death) workers keep the shared /dev/fuse descriptor
 *   no_passthrough (not a death) registering a passthrough backing fails
 *                 as without CAP_SYS_ADMIN: zones fall back to page mode
 *   forbidden_syscall  a worker, once under its seccomp filter, makes a
 *                 system call outside the allow-list (it dies of that)
 *   reply_unmapped (not a death) a READ with data is answered from an
 *                 inaccessible page: the reply's writev fails with EFAULT
 *   reply_rejected (not a death) a READ is answered with error 600, which
 *                 libfuse passes and the kernel refuses (EINVAL), keeping
 *                 the request
 * Without the option every call here compiles to nothing.
 */
#ifndef SHMFS_FAULT_H
#define SHMFS_FAULT_H

#include <stdbool.h>

#ifdef SHMFS_FAULT_INJECTION

/* Reads SHMFS_FAULT; called by the master before any fork. */
void shmfs_fault_init(void);

/* Dies here if SHMFS_FAULT names point and its count is not spent. */
void shmfs_fault_point(const char *point);

/* True if SHMFS_FAULT names point (for switches like no_clone). */
bool shmfs_fault_is(const char *point);

/* True, once per count, if SHMFS_FAULT names point: the caller misbehaves. */
bool shmfs_fault_take(const char *point);

/* A page no access is allowed to (mapped PROT_NONE by shmfs_fault_init). */
const void *shmfs_fault_unmapped(void);

#else

static inline void shmfs_fault_init(void)
{
}

static inline void shmfs_fault_point(const char *point)
{
	(void)point;
}

static inline bool shmfs_fault_is(const char *point)
{
	(void)point;
	return false;
}

static inline bool shmfs_fault_take(const char *point)
{
	(void)point;
	return false;
}

static inline const void *shmfs_fault_unmapped(void)
{
	return NULL;
}

#endif

#endif /* SHMFS_FAULT_H */

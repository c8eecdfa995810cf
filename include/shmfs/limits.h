/* SPDX-License-Identifier: MIT */
/*
 * The limits the configuration enforces and the shared region is sized
 * for, in one place so that a record sized by one and a check made by the
 * other cannot disagree.
 */
#ifndef SHMFS_LIMITS_H
#define SHMFS_LIMITS_H

#include <stdint.h>

/*
 * The largest zone, and the largest sum of zones: 64 TiB, half of
 * x86-64's user address space.
 */
#define SHMFS_SIZE_MAX ((uint64_t)1 << 46)

/* The most workers a pool runs (its slots in the shared region). */
#define SHMFS_WORKERS_MAX 256

#endif /* SHMFS_LIMITS_H */

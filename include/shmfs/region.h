/* SPDX-License-Identifier: MIT */
/*
 * The shared region: one anonymous shared mapping of fixed-size records
 * that every process sees at the same address: the daemon's counters, one
 * slot per worker, and the metadata record of every zone. Made by the zone
 * table (zonetab.c), one per configuration, and so owned by its cycle; the
 * master, the workers and the FUSE handlers reach it through the cycle
 * (shmfs_cycle_region).
 */
#ifndef SHMFS_REGION_H
#define SHMFS_REGION_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "shmfs/limits.h"
#include "shmfs/zone.h"

/*
 * One per worker process, written by its worker, read by the master. Each
 * has its own cache line: a worker bumps its counters on every request and
 * must not pull its neighbour's line away from it.
 */
struct shmfs_worker_slot {
	_Alignas(64) _Atomic pid_t pid;
	/* Its start time (/proc/PID/stat), to tell it from a reused pid. */
	_Atomic uint64_t start;
	_Atomic uint64_t requests; /* requests served */
	/*
	 * A worker on the shared descriptor (no clone) records the request it
	 * holds, so that if it dies the master can answer it with EIO instead
	 * of leaving the caller hung.
	 */
	_Atomic bool shared_fd;
	_Atomic uint64_t unique;    /* 0: none held */
	_Atomic uint64_t errors;    /* requests answered with an error */
	_Atomic uint64_t bytes_in;  /* written into zones */
	_Atomic uint64_t bytes_out; /* read from zones */
	/* The system call that broke the seccomp filter (the worker died). */
	_Atomic int violation;
};

/* The shared region: fixed-size records, no pointers. */
struct shmfs_region {
	struct timespec started; /* the first mount, kept across reloads */
	_Atomic uint64_t reloads;
	_Atomic uint64_t respawns;
	_Atomic uint64_t stops;	      /* workers found stopped, continued */
	_Atomic uint64_t log_dropped; /* workers' lines lost to a full pipe */
	uint64_t next_ino;	      /* inode numbers are never reused */
	/*
	 * Masters that served this mount: 1 + restarts + upgrades. A restart
	 * is a master that adopted what a dead one stored (a crash, kill -9,
	 * systemctl restart); an upgrade, one that re-executed itself
	 * (shmfs -s upgrade). Both keep the mount, its inodes and its bytes.
	 */
	_Atomic uint64_t generation;
	_Atomic uint64_t restarts;
	_Atomic uint64_t upgrades;
	/*
	 * Requests come through FUSE over io_uring (false: /dev/fuse): set
	 * by the master when the connection speaks rings, cleared by a
	 * worker whose entry the kernel refused (the rings are then off).
	 */
	_Atomic bool uring;
	struct shmfs_worker_slot workers[SHMFS_WORKERS_MAX];
	struct shmfs_zone_meta zones[]; /* one per zone of the table */
};

/* Worker slot i of the region. */
static inline struct shmfs_worker_slot *
shmfs_region_worker(struct shmfs_region *region, unsigned i)
{
	return &region->workers[i];
}

#endif /* SHMFS_REGION_H */

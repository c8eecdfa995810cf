/* SPDX-License-Identifier: MIT */
/*
 * An io_uring of our own, spoken through the three system calls (no
 * liburing: Debian 12's 2.3 predates what a FUSE ring needs, and the part
 * we use is this file): 128-byte SQEs, one submitter, task work run only
 * when we wait (SINGLE_ISSUER | DEFER_TASKRUN), made disabled so that its
 * restrictions go in before its first SQE.
 */
#ifndef SHMFS_RING_H
#define SHMFS_RING_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/io_uring.h>

struct shmfs_ring {
	int fd;
	unsigned entries;
	/* The submission queue: the kernel's head, our tail, the SQE array. */
	_Atomic unsigned *sq_head, *sq_tail;
	unsigned *sq_array, sq_mask;
	unsigned char *sqes; /* 128 bytes each */
	unsigned sq_local;   /* SQEs prepared, not yet published */
	/* The completion queue: our head, the kernel's tail. */
	_Atomic unsigned *cq_head, *cq_tail;
	struct io_uring_cqe *cqes;
	unsigned cq_mask;
	void *sq_map, *cq_map;
	size_t sq_map_len, cq_map_len, sqes_len;
};

/*
 * Makes a ring of entries SQEs, disabled (see shmfs_ring_restrict).
 * Returns 0 or a negative errno (ring untouched: fd -1).
 */
int shmfs_ring_setup(struct shmfs_ring *ring, unsigned entries);

/*
 * From now on the ring takes only the SQE opcodes in ops (n of them) and
 * no registration at all; then it is enabled. Returns 0 or -errno.
 */
int shmfs_ring_restrict(struct shmfs_ring *ring, const uint8_t *ops,
			unsigned n);

/* A zeroed 128-byte SQE to fill, or NULL if the queue is full. */
void *shmfs_ring_sqe(struct shmfs_ring *ring);

/*
 * Submits what was prepared and, if wait, waits for at least one
 * completion (a signal ends the wait: -EINTR). Returns the SQEs
 * submitted or -errno.
 */
int shmfs_ring_enter(struct shmfs_ring *ring, bool wait);

/* The next completion, or NULL; shmfs_ring_seen consumes it. */
struct io_uring_cqe *shmfs_ring_cqe(struct shmfs_ring *ring);
void shmfs_ring_seen(struct shmfs_ring *ring);

/* Unmaps and closes (a ring never made is left alone). */
void shmfs_ring_close(struct shmfs_ring *ring);

#endif /* SHMFS_RING_H */

/* SPDX-License-Identifier: MIT */
/*
 * A raw io_uring (see ring.h). The queues are shared with the kernel: our
 * side publishes the SQ tail and the CQ head with release stores, and
 * reads the kernel's SQ head and CQ tail with acquire loads.
 */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shmfs/fuse_uring.h"
#include "shmfs/ring.h"

static void *map_ring(int fd, size_t len, off_t off)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_POPULATE, fd, off);

	return p == MAP_FAILED ? NULL : p;
}

int shmfs_ring_setup(struct shmfs_ring *ring, unsigned entries)
{
	struct io_uring_params p = {
		.flags = IORING_SETUP_SQE128 | IORING_SETUP_SINGLE_ISSUER |
			 IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_R_DISABLED,
	};
	long fd;
	int err;

	memset(ring, 0, sizeof(*ring));
	ring->fd = -1;
	fd = syscall(SYS_io_uring_setup, entries, &p);
	if (fd < 0)
		return -errno;
	ring->fd = (int)fd;
	ring->entries = p.sq_entries;
	ring->sq_map_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	ring->cq_map_len =
		p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	ring->sqes_len = (size_t)p.sq_entries * SHMFS_URING_SQE128_SIZE;
	/* One mapping holds both queues since 5.4: the same file offset. */
	if (!(p.features & IORING_FEAT_SINGLE_MMAP)) {
		err = -ENOSYS;
		goto fail;
	}
	if (ring->cq_map_len > ring->sq_map_len)
		ring->sq_map_len = ring->cq_map_len;
	ring->sq_map = map_ring(ring->fd, ring->sq_map_len, IORING_OFF_SQ_RING);
	ring->sqes = map_ring(ring->fd, ring->sqes_len, IORING_OFF_SQES);
	if (ring->sq_map == NULL || ring->sqes == NULL) {
		err = -errno;
		goto fail;
	}
	ring->cq_map = ring->sq_map;
	unsigned char *sq = ring->sq_map, *cq = ring->cq_map;
	ring->sq_head = (_Atomic unsigned *)(sq + p.sq_off.head);
	ring->sq_tail = (_Atomic unsigned *)(sq + p.sq_off.tail);
	ring->sq_mask = *(unsigned *)(sq + p.sq_off.ring_mask);
	ring->sq_array = (unsigned *)(sq + p.sq_off.array);
	ring->cq_head = (_Atomic unsigned *)(cq + p.cq_off.head);
	ring->cq_tail = (_Atomic unsigned *)(cq + p.cq_off.tail);
	ring->cq_mask = *(unsigned *)(cq + p.cq_off.ring_mask);
	ring->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
	ring->sq_local =
		atomic_load_explicit(ring->sq_tail, memory_order_relaxed);
	return 0;
fail:
	shmfs_ring_close(ring);
	return err;
}

int shmfs_ring_restrict(struct shmfs_ring *ring, const uint8_t *ops, unsigned n)
{
	struct io_uring_restriction res[16];

	if (n > sizeof(res) / sizeof(*res))
		return -E2BIG;
	memset(res, 0, sizeof(res));
	for (unsigned i = 0; i < n; i++) {
		res[i].opcode = IORING_RESTRICTION_SQE_OP;
		res[i].sqe_op = ops[i];
	}
	/* No IORING_RESTRICTION_REGISTER_OP: nothing may be registered. */
	if (syscall(SYS_io_uring_register, ring->fd,
		    IORING_REGISTER_RESTRICTIONS, res, n) < 0 ||
	    syscall(SYS_io_uring_register, ring->fd,
		    IORING_REGISTER_ENABLE_RINGS, NULL, 0) < 0)
		return -errno;
	return 0;
}

void *shmfs_ring_sqe(struct shmfs_ring *ring)
{
	unsigned head =
		atomic_load_explicit(ring->sq_head, memory_order_acquire);
	unsigned char *sqe;

	if (ring->sq_local - head >= ring->entries)
		return NULL;
	sqe = ring->sqes + (size_t)(ring->sq_local & ring->sq_mask) *
				   SHMFS_URING_SQE128_SIZE;
	ring->sq_array[ring->sq_local & ring->sq_mask] =
		ring->sq_local & ring->sq_mask;
	ring->sq_local++;
	memset(sqe, 0, SHMFS_URING_SQE128_SIZE);
	return sqe;
}

int shmfs_ring_enter(struct shmfs_ring *ring, bool wait)
{
	/*
	 * Everything the kernel has not consumed yet, not only what was
	 * prepared since the last call: a submission the kernel cut short
	 * left the rest in the queue, and a count that left them out would
	 * leave SQEs behind from then on.
	 */
	unsigned submit =
		ring->sq_local -
		atomic_load_explicit(ring->sq_head, memory_order_acquire);
	long n;

	atomic_store_explicit(ring->sq_tail, ring->sq_local,
			      memory_order_release);
	if (submit == 0 && !wait)
		return 0;
	n = syscall(SYS_io_uring_enter, ring->fd, submit, wait ? 1 : 0,
		    wait ? IORING_ENTER_GETEVENTS : 0, NULL, 0);
	return n < 0 ? -errno : (int)n;
}

struct io_uring_cqe *shmfs_ring_cqe(struct shmfs_ring *ring)
{
	unsigned head =
		atomic_load_explicit(ring->cq_head, memory_order_relaxed);

	if (head == atomic_load_explicit(ring->cq_tail, memory_order_acquire))
		return NULL;
	return &ring->cqes[head & ring->cq_mask];
}

void shmfs_ring_seen(struct shmfs_ring *ring)
{
	atomic_fetch_add_explicit(ring->cq_head, 1, memory_order_release);
}

void shmfs_ring_close(struct shmfs_ring *ring)
{
	if (ring->sqes != NULL)
		munmap(ring->sqes, ring->sqes_len);
	if (ring->sq_map != NULL)
		munmap(ring->sq_map, ring->sq_map_len);
	if (ring->fd >= 0)
		close(ring->fd);
	ring->sqes = NULL;
	ring->sq_map = ring->cq_map = NULL;
	ring->fd = -1;
}

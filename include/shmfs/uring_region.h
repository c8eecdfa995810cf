/* SPDX-License-Identifier: MIT */
/*
 * The ring buffers (docs/io_uring.md, "The memory a replacement
 * inherits"): one shared mapping of a memfd, made by the master before
 * its first fork, so that every worker sees it at the same address (the
 * kernel reads a commit's reply at the registered address in the
 * committer's memory) and a replacement finds what its dead predecessor
 * held. Per queue (a possible CPU) it holds slots; each slot is an entry's
 * header page (the kernel's 288 bytes, then our record of where the
 * worker is with it), 4 KiB of slack where a request is made contiguous
 * for libfuse, and the payload buffer.
 */
#ifndef SHMFS_URING_REGION_H
#define SHMFS_URING_REGION_H

#include <stddef.h>
#include <stdint.h>

#include "shmfs/uring.h"

/*
 * Entries a worker keeps registered; its queue has three times as many
 * slots, so that a replacement finds free ones beside what its
 * predecessors left (it registers at least one fresh entry).
 */
#define SHMFS_URING_DEPTH 2
#define SHMFS_URING_SLOTS (3 * SHMFS_URING_DEPTH)

/* Where a slot's record sits in its header page. */
#define SHMFS_URING_RECORD_OFFSET 512
/* The header page, then the slack before the payload. */
#define SHMFS_URING_HEADER_PAGE 4096
#define SHMFS_URING_SLACK 4096

struct shmfs_uring_geometry {
	unsigned nqueues, slots;
	size_t payload;	  /* each entry's payload buffer */
	size_t slot_size; /* header page + slack + payload, page-rounded */
	size_t size;	  /* the whole mapping, its first page included */
};

/*
 * The geometry for nqueues queues of slots entries whose payload is
 * payload bytes (shmfs_uring_payload_size). Returns 0, or -EINVAL (no
 * queue, no slot, a size that overflows).
 */
int shmfs_uring_geometry(unsigned nqueues, unsigned slots, size_t payload,
			 struct shmfs_uring_geometry *g);

struct shmfs_uring_region {
	struct shmfs_uring_geometry g;
	int fd; /* the memfd (-1 once closed) */
	unsigned char *base;
};

/*
 * The region's first page says what it is, for a master that adopts it
 * from the restart store (restart.h): the kernel reads replies at the
 * addresses the dead generation registered, so it is mapped there again.
 */
#define SHMFS_URING_REGION_MAGIC "shmfsrng"
struct shmfs_uring_region_head {
	char magic[8];
	uint32_t version; /* 1 */
	uint32_t nqueues, slots, reserved;
	uint64_t payload, slot_size, size;
	uint64_t addr; /* where every process maps it */
};

/*
 * Where a new region is mapped if that range is free: far from the heap
 * and from where the kernel puts mappings, so that a restarted master
 * (another address space) finds it free too.
 */
#define SHMFS_URING_REGION_HINT 0x6a0000000000ULL

/* Makes and maps the region, every record FREE. Returns 0 or -errno. */
int shmfs_uring_region_create(const struct shmfs_uring_geometry *g,
			      struct shmfs_uring_region *r);

/*
 * Maps a stored region (fd, taken) at the address its head names, never
 * over another mapping (MAP_FIXED_NOREPLACE). Returns 0, -EPROTO for a
 * file that is no region of ours (*why says what), -EEXIST if something
 * else is mapped there, or -errno. On failure fd is closed.
 */
int shmfs_uring_region_adopt(int fd, struct shmfs_uring_region *r,
			     const char **why);

/* Checks a head read from a file of size bytes: NULL, or why not. */
const char *shmfs_uring_region_check(const struct shmfs_uring_region_head *h,
				     uint64_t size);

void shmfs_uring_region_destroy(struct shmfs_uring_region *r);

/* Slot s of queue q: its header, record and payload buffer. */
static inline unsigned char *
shmfs_uring_slot(const struct shmfs_uring_region *r, unsigned q, unsigned s)
{
	return r->base + SHMFS_URING_HEADER_PAGE +
	       ((size_t)q * r->g.slots + s) * r->g.slot_size;
}

static inline struct shmfs_fuse_uring_req_header *
shmfs_uring_slot_header(const struct shmfs_uring_region *r, unsigned q,
			unsigned s)
{
	return (void *)shmfs_uring_slot(r, q, s);
}

static inline struct shmfs_uring_record *
shmfs_uring_slot_record(const struct shmfs_uring_region *r, unsigned q,
			unsigned s)
{
	return (void *)(shmfs_uring_slot(r, q, s) + SHMFS_URING_RECORD_OFFSET);
}

static inline unsigned char *
shmfs_uring_slot_payload(const struct shmfs_uring_region *r, unsigned q,
			 unsigned s)
{
	return shmfs_uring_slot(r, q, s) + SHMFS_URING_HEADER_PAGE +
	       SHMFS_URING_SLACK;
}

#endif /* SHMFS_URING_REGION_H */

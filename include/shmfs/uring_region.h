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

/* Entries a worker keeps registered; its queue has twice as many slots. */
#define SHMFS_URING_DEPTH 2
#define SHMFS_URING_SLOTS (2 * SHMFS_URING_DEPTH)

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

/* Makes and maps the region, every record FREE. Returns 0 or -errno. */
int shmfs_uring_region_create(const struct shmfs_uring_geometry *g,
			      struct shmfs_uring_region *r);
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

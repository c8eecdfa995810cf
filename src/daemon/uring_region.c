/* SPDX-License-Identifier: MIT */
/* The ring buffers (see uring_region.h). */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shmfs/uring_region.h"

_Static_assert(sizeof(struct shmfs_fuse_uring_req_header) <=
		       SHMFS_URING_RECORD_OFFSET,
	       "the record follows the kernel's header");
_Static_assert(SHMFS_URING_RECORD_OFFSET + sizeof(struct shmfs_uring_record) <=
		       SHMFS_URING_HEADER_PAGE,
	       "the record fits the header page");
_Static_assert(sizeof(struct fuse_in_header) + SHMFS_FUSE_URING_OP_IN_OUT_SZ <=
		       SHMFS_URING_SLACK,
	       "a request's header and first argument fit the slack");

#define PAGE 4096

int shmfs_uring_geometry(unsigned nqueues, unsigned slots, size_t payload,
			 struct shmfs_uring_geometry *g)
{
	size_t slot;

	if (nqueues == 0 || slots == 0 || payload == 0 ||
	    payload > SIZE_MAX / 2)
		return -EINVAL;
	slot = SHMFS_URING_HEADER_PAGE + SHMFS_URING_SLACK +
	       (payload + PAGE - 1) / PAGE * PAGE;
	if ((size_t)nqueues * slots > (SIZE_MAX - PAGE) / slot)
		return -EINVAL;
	*g = (struct shmfs_uring_geometry){
		.nqueues = nqueues,
		.slots = slots,
		.payload = payload,
		.slot_size = slot,
		.size = PAGE + (size_t)nqueues * slots * slot,
	};
	return 0;
}

int shmfs_uring_region_create(const struct shmfs_uring_geometry *g,
			      struct shmfs_uring_region *r)
{
	int err;

	r->g = *g;
	r->base = NULL;
	r->fd = memfd_create("shmfs-rings", MFD_CLOEXEC);
	if (r->fd < 0)
		return -errno;
	if (ftruncate(r->fd, (off_t)g->size) < 0) {
		err = -errno;
		goto fail;
	}
	r->base = mmap(NULL, g->size, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd,
		       0);
	if (r->base == MAP_FAILED) {
		r->base = NULL;
		err = -errno;
		goto fail;
	}
	/* A fresh memfd reads zeros: every record FREE, every unique 0. */
	return 0;
fail:
	close(r->fd);
	r->fd = -1;
	return err;
}

void shmfs_uring_region_destroy(struct shmfs_uring_region *r)
{
	if (r->base != NULL)
		munmap(r->base, r->g.size);
	if (r->fd >= 0)
		close(r->fd);
	r->base = NULL;
	r->fd = -1;
}

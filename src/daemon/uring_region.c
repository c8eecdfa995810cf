/* SPDX-License-Identifier: MIT */
/* The ring buffers (see uring_region.h). */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
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
	r->base = mmap((void *)(uintptr_t)SHMFS_URING_REGION_HINT, g->size,
		       PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED_NOREPLACE,
		       r->fd, 0);
	if (r->base == MAP_FAILED)
		r->base = mmap(NULL, g->size, PROT_READ | PROT_WRITE,
			       MAP_SHARED, r->fd, 0);
	if (r->base == MAP_FAILED) {
		r->base = NULL;
		err = -errno;
		goto fail;
	}
	/* A fresh memfd reads zeros: every record FREE, every unique 0. */
	struct shmfs_uring_region_head *h = (void *)r->base;
	memcpy(h->magic, SHMFS_URING_REGION_MAGIC, sizeof(h->magic));
	h->version = 1;
	h->nqueues = g->nqueues;
	h->slots = g->slots;
	h->payload = g->payload;
	h->slot_size = g->slot_size;
	h->size = g->size;
	h->addr = (uint64_t)(uintptr_t)r->base;
	return 0;
fail:
	close(r->fd);
	r->fd = -1;
	return err;
}

const char *shmfs_uring_region_check(const struct shmfs_uring_region_head *h,
				     uint64_t size)
{
	struct shmfs_uring_geometry g;

	if (memcmp(h->magic, SHMFS_URING_REGION_MAGIC, sizeof(h->magic)) != 0)
		return "not ring buffers of shmfs";
	if (h->version != 1)
		return "ring buffers of another version";
	if (h->slots > SHMFS_URING_SLOTS)
		return "ring buffers with more slots than this build serves";
	if (shmfs_uring_geometry(h->nqueues, h->slots, h->payload, &g) < 0 ||
	    g.slot_size != h->slot_size || g.size != h->size || h->size != size)
		return "ring buffers whose geometry does not add up";
	if (h->addr == 0 || h->addr % PAGE != 0)
		return "ring buffers without an address";
	return NULL;
}

int shmfs_uring_region_adopt(int fd, struct shmfs_uring_region *r,
			     const char **why)
{
	struct shmfs_uring_region_head h;
	struct stat st;
	void *p;
	int err;

	r->fd = -1;
	r->base = NULL;
	*why = NULL;
	if (fstat(fd, &st) < 0) {
		err = -errno;
		goto fail;
	}
	if (pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
	    (*why = shmfs_uring_region_check(&h, (uint64_t)st.st_size))) {
		if (*why == NULL)
			*why = "ring buffers too short";
		err = -EPROTO;
		goto fail;
	}
	p = mmap((void *)(uintptr_t)h.addr, h.size, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED_NOREPLACE, fd, 0);
	if (p == MAP_FAILED || p != (void *)(uintptr_t)h.addr) {
		err = p == MAP_FAILED ? -errno : -EEXIST;
		if (p != MAP_FAILED)
			munmap(p, h.size); /* an old kernel took it as a hint */
		goto fail;
	}
	shmfs_uring_geometry(h.nqueues, h.slots, h.payload, &r->g);
	r->fd = fd;
	r->base = p;
	return 0;
fail:
	close(fd);
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

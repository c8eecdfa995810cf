/* SPDX-License-Identifier: MIT */
/*
 * The kernel's FUSE constants that shmfs needs beyond libfuse 3.14 and
 * Debian's <linux/fuse.h> (7.38): passthrough, from protocol 7.40 (kernel
 * 6.9), and the unique bit of an interrupt's reply. Names and layouts
 * follow the kernel's uapi header; each carries a SHMFS_ prefix so that a
 * newer system header cannot clash. Only kernel.c speaks them.
 */
#ifndef SHMFS_FUSE_KERNEL_H
#define SHMFS_FUSE_KERNEL_H

#include <stdint.h>
#include <sys/ioctl.h>
#include <linux/fuse.h>

/* The unique of an interrupt's reply (FUSE_INT_REQ_BIT, from 7.31 on). */
#define SHMFS_FUSE_INT_REQ_BIT (1ULL << 63)

/* INIT: FUSE_PASSTHROUGH is bit 37 of the flags, bit 5 of flags2. */
#define SHMFS_FUSE_PASSTHROUGH_FLAGS2 (1u << 5)

/* fuse_init_out: flags2 at byte 32, max_stack_depth (7.40) at byte 36. */
#define SHMFS_INIT_OUT_FLAGS 12
#define SHMFS_INIT_OUT_FLAGS2 32
#define SHMFS_INIT_OUT_MAX_WRITE 20
#define SHMFS_INIT_OUT_MAX_PAGES 28
#define SHMFS_INIT_OUT_MAX_STACK_DEPTH 36
#define SHMFS_INIT_OUT_SIZE 64

/*
 * INIT: the kernel can resend the requests a dead daemon had read
 * (FUSE_HAS_RESEND, bit 39 of the flags: bit 7 of flags2, 6.9), when told
 * with the notification FUSE_NOTIFY_RESEND (a header, unique 0).
 */
#define SHMFS_FUSE_HAS_RESEND_FLAGS2 (1u << 7)
#define SHMFS_FUSE_NOTIFY_RESEND 7

/* OPEN: the kernel serves the file's I/O and mmap from the backing file. */
#define SHMFS_FOPEN_PASSTHROUGH (1u << 7)

/* fuse_open_out at 7.40: backing_id took the place of the padding. */
struct shmfs_fuse_open_out {
	uint64_t fh;
	uint32_t open_flags;
	int32_t backing_id;
};

struct shmfs_fuse_backing_map {
	int32_t fd;
	uint32_t flags; /* 0 */
	uint64_t padding;
};

#define SHMFS_FUSE_DEV_IOC_BACKING_OPEN                                        \
	_IOW(FUSE_DEV_IOC_MAGIC, 1, struct shmfs_fuse_backing_map)
#define SHMFS_FUSE_DEV_IOC_BACKING_CLOSE _IOW(FUSE_DEV_IOC_MAGIC, 2, uint32_t)

_Static_assert(sizeof(struct shmfs_fuse_open_out) ==
		       sizeof(struct fuse_open_out),
	       "fuse_open_out is 16 bytes");
_Static_assert(sizeof(struct fuse_init_out) == SHMFS_INIT_OUT_SIZE,
	       "fuse_init_out is 64 bytes");

#endif /* SHMFS_FUSE_KERNEL_H */

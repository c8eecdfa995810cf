/* SPDX-License-Identifier: MIT */
/*
 * The kernel's FUSE-over-io_uring ABI (protocol 7.42, kernel 6.14; the
 * same in 6.18), which neither Debian's <linux/fuse.h> (7.38) nor libfuse
 * 3.14 has. Layouts follow the kernel's uapi header and fs/fuse/dev_uring.c;
 * every name carries a SHMFS_ prefix, as in fuse_kernel.h, so that a newer
 * system header cannot clash. docs/io_uring.md says how shmfs would use it.
 *
 * In short: the daemon makes an io_uring with 128-byte SQEs, and for each
 * entry it submits an IORING_OP_URING_CMD on its /dev/fuse descriptor,
 * cmd_op REGISTER, whose 80-byte command area holds a fuse_uring_cmd_req
 * (the queue: one per possible CPU) and whose addr points at two iovecs:
 * a header buffer (fuse_uring_req_header) and a payload buffer. The
 * command completes when the kernel has put a request in those buffers;
 * the daemon answers by writing the reply into the same buffers and
 * submitting cmd_op COMMIT_AND_FETCH with commit_id, which also arms the
 * entry for the next request.
 */
#ifndef SHMFS_FUSE_URING_H
#define SHMFS_FUSE_URING_H

#include <stddef.h>
#include <stdint.h>
#include <linux/fuse.h>

/*
 * INIT: the daemon serves rings (FUSE_OVER_IO_URING, bit 41 of the flags:
 * bit 9 of flags2, which counts only with FUSE_INIT_EXT in flags). The
 * kernel offers it in fuse_init_in.flags2 only while the fuse module's
 * enable_uring is on, and takes it from the reply only then.
 */
#define SHMFS_FUSE_OVER_IO_URING_FLAGS2 (1u << 9)

/* fuse_init_in: flags at byte 12, flags2 (7.36) at byte 16. */
#define SHMFS_INIT_IN_FLAGS 12
#define SHMFS_INIT_IN_FLAGS2 16

/* The cmd_op of an IORING_OP_URING_CMD on /dev/fuse. */
enum {
	SHMFS_FUSE_IO_URING_CMD_INVALID = 0,
	/* Arms an entry (its buffers) on a queue; completes with a request. */
	SHMFS_FUSE_IO_URING_CMD_REGISTER = 1,
	/* Answers commit_id from the entry's buffers, then arms it again. */
	SHMFS_FUSE_IO_URING_CMD_COMMIT_AND_FETCH = 2,
};

/* The two parts of a header buffer before fuse_uring_ent_in_out. */
#define SHMFS_FUSE_URING_IN_OUT_HEADER_SZ 128
#define SHMFS_FUSE_URING_OP_IN_OUT_SZ 128

/* What the kernel says of the request in the entry, and we of the reply. */
struct shmfs_fuse_uring_ent_in_out {
	uint64_t flags;
	/* The request's unique: what COMMIT_AND_FETCH names. */
	uint64_t commit_id;
	/* Bytes of the payload buffer used: by the request, then the reply. */
	uint32_t payload_sz;
	uint32_t padding;
	uint64_t reserved;
};

/*
 * The header buffer (iovec 0 of REGISTER; the kernel wants at least this
 * much): in_out holds the request's fuse_in_header and then our reply's
 * fuse_out_header; op_in the request's first argument (fuse_read_in,
 * fuse_write_in, ...: empty for some opcodes, LOOKUP's name being in the
 * payload), at most 128 bytes; the payload buffer (iovec 1) the rest of
 * the arguments, and then the reply's body.
 */
struct shmfs_fuse_uring_req_header {
	char in_out[SHMFS_FUSE_URING_IN_OUT_HEADER_SZ];
	char op_in[SHMFS_FUSE_URING_OP_IN_OUT_SZ];
	struct shmfs_fuse_uring_ent_in_out ring_ent_in_out;
};

/* In the SQE's command area (sqe->cmd: 80 bytes with IORING_SETUP_SQE128). */
struct shmfs_fuse_uring_cmd_req {
	uint64_t flags;	    /* 0 */
	uint64_t commit_id; /* COMMIT_AND_FETCH: the request answered */
	uint16_t qid;	    /* the queue: a CPU number */
	uint8_t padding[6];
};

/* REGISTER's sqe->addr points at this many iovecs: header, payload. */
#define SHMFS_FUSE_URING_IOV_SEGS 2

/*
 * The payload buffer must hold max(8 KiB, max_write, max_pages * page):
 * the kernel refuses a smaller one (EINVAL), and a failed REGISTER turns
 * the connection's rings off for good.
 */
#define SHMFS_FUSE_URING_MIN_PAYLOAD 8192

/* An SQE with IORING_SETUP_SQE128 is 128 bytes; its command area 80. */
#define SHMFS_URING_SQE128_SIZE 128
#define SHMFS_URING_SQE_CMD_OFFSET 48
#define SHMFS_URING_SQE_CMD_SIZE 80

_Static_assert(sizeof(struct shmfs_fuse_uring_ent_in_out) == 32,
	       "fuse_uring_ent_in_out is 32 bytes");
_Static_assert(sizeof(struct shmfs_fuse_uring_req_header) == 288,
	       "fuse_uring_req_header is 288 bytes");
_Static_assert(offsetof(struct shmfs_fuse_uring_req_header, op_in) == 128,
	       "op_in follows the 128 bytes of in_out");
_Static_assert(offsetof(struct shmfs_fuse_uring_req_header, ring_ent_in_out) ==
		       256,
	       "ring_ent_in_out follows the 128 bytes of op_in");
_Static_assert(sizeof(struct shmfs_fuse_uring_cmd_req) == 24,
	       "fuse_uring_cmd_req is 24 bytes");
_Static_assert(sizeof(struct shmfs_fuse_uring_cmd_req) <=
		       SHMFS_URING_SQE_CMD_SIZE,
	       "fuse_uring_cmd_req fits the SQE's command area");
_Static_assert(sizeof(struct fuse_in_header) <=
			       SHMFS_FUSE_URING_IN_OUT_HEADER_SZ &&
		       sizeof(struct fuse_out_header) <=
			       SHMFS_FUSE_URING_IN_OUT_HEADER_SZ,
	       "in_out holds either header");

#endif /* SHMFS_FUSE_URING_H */

/* SPDX-License-Identifier: MIT */
/*
 * FUSE over io_uring (docs/io_uring.md): what can be known and decided
 * without a ring. Why rings would not be had here (the probe, the pool),
 * what the io_uring key makes of that at the start and in "shmfs -t",
 * and, as pure functions of bytes for the tests and for the ring workers
 * (uring_worker.h): the INIT bits,
 * the SQEs of REGISTER and COMMIT_AND_FETCH, a ring entry's request, and
 * what a replacement does with each entry a dead worker held.
 */
#ifndef SHMFS_URING_H
#define SHMFS_URING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "shmfs/config.h"
#include "shmfs/fuse_uring.h"

/* ------------------------------------------------------------ the probe */

/*
 * What the probe looks at, gathered by shmfs_uring_probe (or written by a
 * test). -1 in an int field: could not be read.
 */
struct shmfs_uring_facts {
	unsigned major, minor;	 /* of the running kernel; 0.0: unknown */
	int io_uring_disabled;	 /* kernel.io_uring_disabled: 0, 1, 2 */
	bool may_use_restricted; /* CAP_SYS_ADMIN, or in io_uring_group */
	bool fuse_loaded;	 /* /sys/module/fuse exists */
	/* enable_uring as read: 'Y', 'N', or 0 if the file is missing. */
	char enable_uring;
	/* io_uring_setup of a ring with 128-byte SQEs: 0 or the errno. */
	int setup_errno;
};

/*
 * Why rings cannot be had with these facts, or NULL if nothing the probe
 * sees stands in the way (the INIT request has the last word).
 */
const char *shmfs_uring_why_not(const struct shmfs_uring_facts *f);

/*
 * Why rings cannot be had here, or NULL: the facts of this machine and
 * process (a throw-away ring is made and closed; nothing is changed).
 * Meant for a process whose credentials are the ones that would make the
 * rings: the master before its workers drop their privileges.
 */
const char *shmfs_uring_probe(void);

/* ------------------------------------------------- the io_uring key */

/*
 * Why a pool of workers (0: auto) cannot serve rings on a machine of
 * possible CPUs (0: unknown): the kernel makes one queue per possible
 * CPU, and each needs its worker. NULL if it can. (A static buffer.)
 */
const char *shmfs_uring_pool_why_not(unsigned workers, unsigned possible);

/* The number of possible CPUs (the kernel's queues), 0 if unknown. */
unsigned shmfs_uring_possible_cpus(void);

/* The probe, then the pool: why rings cannot be had here, or NULL. */
const char *shmfs_uring_why_not_here(unsigned workers);

/*
 * At a start that mounts (adopting: a restart taking over a live
 * mount): io_uring = on is refused here, with one line (logged) saying
 * what is missing: returns -1. An adopting master only warns (refusing
 * would lose the mount). workers: -w or workers = (0: auto). Returns 0
 * to go on.
 */
int shmfs_uring_check_start(const struct shmfs_config *cfg, unsigned workers,
			    bool adopting);

/*
 * Once INIT is answered: the mount serves nqueues rings (logged), or
 * none, and io_uring = auto says in one info line why ("io_uring: not
 * used: WHY"); off says nothing.
 */
void shmfs_uring_log_transport(const struct shmfs_config *cfg, unsigned workers,
			       unsigned nqueues);

/* ------------------------------------------------------------ INIT */

/*
 * Why an INIT request (header and fuse_init_in, len bytes) rules rings
 * out, or NULL if it offers them: FUSE_INIT_EXT, and FUSE_OVER_IO_URING in
 * flags2 (the kernel offers it only while enable_uring is on).
 */
const char *shmfs_uring_init_no_uring(const void *request, size_t len);

/*
 * Asks for rings in a fuse_init_out of len bytes: FUSE_INIT_EXT and
 * FUSE_OVER_IO_URING in flags2. Returns 0, or -EINVAL if len is too
 * short to carry flags2.
 */
int shmfs_uring_patch_init(void *init_out, size_t len);

/*
 * The payload buffer every entry needs: max(8 KiB, max_write, max_pages *
 * page), the kernel's max_payload_sz, from the INIT reply's values.
 */
size_t shmfs_uring_payload_size(uint32_t max_write, uint32_t max_pages,
				size_t page);

/* ------------------------------------------------------------ SQEs */

/*
 * Fills sqe (SHMFS_URING_SQE128_SIZE bytes, zeroed first) with a REGISTER
 * of the entry whose two buffers iov names (header, payload: it must stay
 * valid until the SQE is submitted) on queue qid of fuse_fd's connection.
 */
void shmfs_uring_prep_register(void *sqe, int fuse_fd, uint16_t qid,
			       const struct iovec iov[2], uint64_t user_data);

/* Fills sqe with a COMMIT_AND_FETCH of request commit_id on queue qid. */
void shmfs_uring_prep_commit(void *sqe, int fuse_fd, uint16_t qid,
			     uint64_t commit_id, uint64_t user_data);

/* ---------------------------------------------------- a ring entry */

/* A request as the kernel put it in an entry's buffers. */
struct shmfs_uring_req {
	uint32_t opcode;
	uint64_t unique, nodeid;
	uint32_t len;	    /* fuse_in_header.len: all of it, as on /dev/fuse */
	uint32_t arg0_size; /* of op_in: len - header - payload_sz */
	uint32_t payload_sz; /* of the payload buffer */
};

/*
 * Reads the request in an entry's header buffer, whose payload buffer is
 * payload_cap bytes. Returns 0, or -EPROTO for a header that cannot be
 * the kernel's (unique 0 or not the commit id, a length that does not add
 * up, a first argument over 128 bytes, a payload over the buffer).
 */
int shmfs_uring_parse(const struct shmfs_fuse_uring_req_header *h,
		      size_t payload_cap, struct shmfs_uring_req *req);

/*
 * An error reply to unique in an entry's header buffer (no body): what
 * ends any held request, the kernel taking a non-zero error as is.
 */
void shmfs_uring_error_reply(struct shmfs_fuse_uring_req_header *h,
			     uint64_t unique, int err);

/* ------------------------------------------------------ recovery */

/*
 * Where a worker is with an entry, recorded in memory its replacement
 * inherits (docs/io_uring.md, "Adoption"). Each state is entered before
 * the step it names.
 */
enum shmfs_uring_state {
	SHMFS_URING_FREE,	/* never registered, or its entry is gone */
	SHMFS_URING_ARMED,	/* registered; a request may arrive */
	SHMFS_URING_SERVING,	/* request unique taken; buffers intact */
	SHMFS_URING_REPLYING,	/* the reply overwrites the buffers */
	SHMFS_URING_COMMITTING, /* the reply is whole: commit it */
};

struct shmfs_uring_record {
	uint32_t state;	 /* enum shmfs_uring_state */
	uint32_t deaths; /* workers that died serving unique */
	uint64_t unique;
};

/* What the replacement does with one entry of a dead worker. */
enum shmfs_uring_action {
	SHMFS_URING_NOTHING,  /* never used: free to register */
	SHMFS_URING_RELEASE,  /* the exit cancelled its entry: free it */
	SHMFS_URING_SERVE,    /* delivered, never started: serve it */
	SHMFS_URING_REPLAY,   /* safe to do again: serve it again */
	SHMFS_URING_FAIL,     /* commit an EIO reply (error_reply) */
	SHMFS_URING_RECOMMIT, /* commit the reply as it is */
};

/* A request that killed this many workers is failed, never replayed. */
#define SHMFS_URING_POISON 2

/*
 * The decision for one entry: hdr is its header buffer as the dead
 * worker left it, rec its record. The unique at offset 8 of in_out is
 * the request's (the kernel wrote it) or our reply's: both are the
 * request's unique, so a header unique other than the record's is a
 * request the worker never saw. A replacement that replays sets
 * rec->deaths to the count this returned it for (*deaths).
 */
enum shmfs_uring_action
shmfs_uring_recovery(const void *hdr, const struct shmfs_uring_record *rec,
		     uint32_t *deaths);

/*
 * Whether a request (its header buffer) may be served twice: READ,
 * GETATTR, LOOKUP, STATFS and OPEN without O_TRUNC change nothing, so a
 * first attempt that died leaves nothing to undo; a WRITE's first attempt
 * is undone past the length by the zone's robust lock, and the second
 * writes the same bytes over whatever the first one overwrote.
 */
bool shmfs_uring_replayable(const struct shmfs_fuse_uring_req_header *h);

/* The action's name, for the log. */
const char *shmfs_uring_action_name(enum shmfs_uring_action action);

#endif /* SHMFS_URING_H */

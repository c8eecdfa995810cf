/* SPDX-License-Identifier: MIT */
/*
 * What we say to /dev/fuse that libfuse 3.14 cannot, in one place so that
 * the FUSE handlers read like libfuse's hello_ll.c:
 *   - the INIT reply, patched to ask for passthrough (libfuse 3.14 predates
 *     it): the kernel then serves a passthrough zone's reads, writes and
 *     mmaps from the zone's memfd, registered as a backing file of the
 *     connection (an id valid on every cloned descriptor);
 *   - the OPEN replies libfuse cannot build: passthrough with a backing
 *     id, and direct I/O with parallel writes;
 *   - a header-only answer to a request: one a dead worker held on the
 *     shared descriptor, or one whose reply the kernel refused;
 *   - the unique of a request as read.
 * Every reply goes through libfuse's custom io hooks. The master's hook
 * catches INIT's reply; once INIT is answered, the session gets the
 * workers' hook, which never looks for it, so no reply after INIT pays for
 * that check. The kernel's constants are in fuse_kernel.h.
 */
#ifndef SHMFS_KERNEL_H
#define SHMFS_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include <fuse_lowlevel.h>

#include "shmfs/fuse_kernel.h"

struct shmfs_cycle_conn;

/*
 * Without mounting, why passthrough would not be had here: a kernel older
 * than 6.9, no CAP_SYS_ADMIN, or a user namespace; NULL if nothing stands
 * in the way that can be seen before INIT (for "shmfs -t").
 */
const char *shmfs_kernel_passthrough_probe(void);

/* Whether this process has CAP_SYS_ADMIN in its effective set. */
bool shmfs_kernel_has_sys_admin(void);

/*
 * In the master, once, after fuse_session_mount and before any fork: reads
 * the first request, which must be INIT, and answers it through libfuse,
 * asking for passthrough whenever the kernel offers it (so that a reload
 * can add passthrough zones to a mount that had none). The negotiated
 * connection then lives in the session every worker inherits. Afterwards
 * the session's replies go through the workers' hook (see above). Returns
 * 0, or -errno (logged) if INIT could not be read or was refused.
 */
int shmfs_kernel_init(struct fuse_session *se);

/*
 * The FUSE_INIT exchange as the kernel took it, recorded by
 * shmfs_kernel_init: what a master adopting a live connection replays
 * into libfuse 3.14, which has no other way to learn a connection it did
 * not open (NOTES-restart.md, "Replaying INIT").
 */
#define SHMFS_KERNEL_INIT_MAX 256
struct shmfs_kernel_init {
	uint32_t in_len, out_len;
	unsigned char in[SHMFS_KERNEL_INIT_MAX];  /* header + fuse_init_in */
	unsigned char out[SHMFS_KERNEL_INIT_MAX]; /* fuse_init_out, accepted */
};

/* The exchange shmfs_kernel_init recorded, or NULL (INIT failed). */
const struct shmfs_kernel_init *shmfs_kernel_init_recorded(void);

/*
 * In place of shmfs_kernel_init, in a master adopting a connection whose
 * INIT a dead master answered (se mounted on the stored descriptor, no
 * worker yet): libfuse reads rec's request through the read hook, answers
 * it, and the answer is swallowed, the kernel having taken rec's. The
 * session is then as the dead master's was (got_init, bufsize, the
 * capabilities); passthrough can be had if rec's reply asked for it. A
 * reply that differs from rec's is logged: the recorded one rules.
 * Returns 0 or -errno (logged).
 */
int shmfs_kernel_replay_init(struct fuse_session *se,
			     const struct shmfs_kernel_init *rec);

/*
 * Before INIT: the reply asks for FUSE over io_uring if the kernel offers
 * it (docs/io_uring.md). Off by default.
 */
void shmfs_kernel_want_uring(bool want);

/* Whether the connection speaks rings: its recorded INIT reply asked. */
bool shmfs_kernel_uring(void);

/* The payload buffer each ring entry needs, from the INIT reply. */
size_t shmfs_kernel_uring_payload(void);

/*
 * In a worker serving a ring entry: the reply to request unique goes to
 * sink (which returns the bytes "written" or -1 with errno) instead of
 * the descriptor; sink NULL: none.
 */
void shmfs_kernel_reply_sink(ssize_t (*sink)(const struct iovec *iov, int count,
					     void *arg),
			     void *arg, uint64_t unique);

/*
 * Aborts the connection mounted on mountpoint (its callers get ENOTCONN)
 * through /sys/fs/fuse/connections: when nobody can serve it any more.
 * Sends no request. Returns 0 or -errno.
 */
int shmfs_kernel_abort(const char *mountpoint);

/* Whether the kernel resends requests on FUSE_NOTIFY_RESEND (6.9+). */
bool shmfs_kernel_can_resend(void);

/*
 * Puts every request that was read from any descriptor of the connection
 * and not answered back in the queue, to be read again: once no process
 * that read one can still answer it (else it is done twice). Returns 0,
 * -ENOSYS if the kernel cannot, or -errno.
 */
int shmfs_kernel_resend(int fd);

/* Whether fd's connection is gone (aborted, or its mount unmounted). */
bool shmfs_kernel_aborted(int fd);

/*
 * A new descriptor of /dev/fuse bound to fd's connection
 * (FUSE_DEV_IOC_CLONE), or -errno: the master makes one per worker slot
 * and keeps it, so that requests a dead worker read stay on the
 * connection for a resend rather than failing with it.
 */
int shmfs_kernel_clone(int fd);

/*
 * Registers fd (a zone's memfd) as a backing file of the connection.
 * Returns the backing id (>= 1), or -errno. The first failure, or INIT
 * without passthrough, is the reason the connection's no_passthrough
 * (shmfs_kernel_cycle_conn) gives, and later calls fail at once.
 */
int shmfs_kernel_backing_open(struct fuse_session *se, int fd);

/* Drops a backing id (logged if it fails); files open on it keep it. */
void shmfs_kernel_backing_close(struct fuse_session *se, int id);

/* The connection as a cycle uses it (cycle.h): backing files on se. */
void shmfs_kernel_cycle_conn(struct fuse_session *se,
			     struct shmfs_cycle_conn *conn);

/* OPEN, answered as passthrough with backing_id (never cached or direct). */
void shmfs_kernel_reply_open_passthrough(fuse_req_t req, uint64_t fh,
					 int backing_id);

/*
 * OPEN, answered as direct I/O with parallel writes to one file (libfuse
 * 3.14's fuse_file_info has no parallel_direct_writes bit). Writes that
 * extend the file stay serialized by the kernel; the others only meet at
 * the zone's mutex, held for the copy alone.
 */
void shmfs_kernel_reply_open_direct(fuse_req_t req, uint64_t fh);

/*
 * Ends request unique with error err (positive) by a header-only reply on
 * fd. Returns 0; -ENOENT if the kernel has no such request (answered or
 * aborted already: uniques are never reused, so it reaches no other); or
 * -errno. Not logged: the caller says what the request was.
 */
int shmfs_kernel_answer(int fd, uint64_t unique, int err);

/* The unique of a request as read from the device (header first). */
uint64_t shmfs_kernel_unique(const void *request);

/*
 * The pieces above, as pure functions of bytes, for the tests.
 *
 * Why an INIT request (header and fuse_init_in, len bytes) rules
 * passthrough out, or NULL if it offers it: extended flags, and
 * FUSE_PASSTHROUGH in flags2.
 */
const char *shmfs_kernel_init_no_passthrough(const void *request, size_t len);

/*
 * Asks for passthrough in a fuse_init_out of len bytes: FUSE_INIT_EXT,
 * FUSE_PASSTHROUGH in flags2, max_stack_depth 1, and no writeback cache
 * (the kernel refuses passthrough with it). Returns 0, or -EINVAL if len is
 * too short to carry flags2.
 */
int shmfs_kernel_patch_init(void *init_out, size_t len);

/* The body of shmfs_kernel_reply_open_passthrough's reply. */
void shmfs_kernel_passthrough_open_out(struct shmfs_fuse_open_out *out,
				       uint64_t fh, int backing_id);

#endif /* SHMFS_KERNEL_H */

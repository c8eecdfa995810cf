/* SPDX-License-Identifier: MIT */
/*
 * FUSE passthrough over libfuse 3.14, which predates it: the kernel reads,
 * writes and maps a passthrough zone's file straight from the zone's memfd,
 * and no READ or WRITE request for it reaches a worker. Three steps, all in
 * the master before any fork: every reply goes through the device hook
 * (device.h), which asks for passthrough in the INIT reply; once
 * INIT is answered, each zone's memfd is registered as a backing file (an
 * id of the connection, valid on every cloned descriptor); an OPEN of the
 * zone is answered with FOPEN_PASSTHROUGH and that id.
 */
#ifndef SHMFS_PASSTHROUGH_H
#define SHMFS_PASSTHROUGH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include <fuse_lowlevel.h>

#include "shmfs/fuse_kernel.h"

/*
 * Without mounting, why passthrough would not be had here: a kernel older
 * than 6.9, no CAP_SYS_ADMIN, or a user namespace; NULL if nothing stands
 * in the way that can be seen before INIT (for "shmfs -t").
 */
const char *shmfs_passthrough_probe(void);

/*
 * Called by the device hook (device.h) with every reply before it is
 * written: patches INIT's reply once shmfs_passthrough_prepare armed it.
 */
void shmfs_passthrough_filter_reply(struct iovec *iov, int count);

/*
 * Looks at the kernel's INIT request (header and fuse_init_in, len bytes)
 * before libfuse answers it. With want (a zone asks for passthrough), if the
 * kernel offers passthrough, arms the hook to ask for it and returns true;
 * otherwise returns false with the reason in *why.
 */
bool shmfs_passthrough_prepare(const void *request, size_t len, bool want,
			       const char **why);

/* True once the INIT reply went out asking for passthrough. */
bool shmfs_passthrough_negotiated(void);

/*
 * Asks for passthrough in a fuse_init_out of len bytes: FUSE_INIT_EXT,
 * FUSE_PASSTHROUGH in flags2, max_stack_depth 1, and no writeback cache
 * (the kernel refuses passthrough with it). Returns 0, or -EINVAL if len is
 * too short to carry flags2.
 */
int shmfs_passthrough_patch_init(void *init_out, size_t len);

/*
 * Registers fd (the zone's memfd) as a backing file of the connection.
 * Returns the backing id (>= 1), or -errno: EPERM without CAP_SYS_ADMIN in
 * the initial user namespace or before passthrough was negotiated.
 */
int shmfs_passthrough_open_backing(struct fuse_session *se, int fd);

/* Drops a backing id; files open on it keep their backing file. */
void shmfs_passthrough_close_backing(struct fuse_session *se, int id);

/* The OPEN reply of a passthrough file (never a cached or direct one). */
void shmfs_passthrough_open_out(struct shmfs_fuse_open_out *out, uint64_t fh,
				int backing_id);

#endif /* SHMFS_PASSTHROUGH_H */

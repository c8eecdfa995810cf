/* SPDX-License-Identifier: MIT */
/*
 * The session's traffic with /dev/fuse, through libfuse's custom io: every
 * request libfuse reads and every reply it writes passes here, in the
 * master and in each worker. Replies are where it matters: INIT's is
 * patched for passthrough (passthrough.c), and one the kernel does not
 * take is answered again here, never left to libfuse (see device.c).
 */
#ifndef SHMFS_DEVICE_H
#define SHMFS_DEVICE_H

#include <fuse_lowlevel.h>

/*
 * Routes the session's reads and replies through this module; call once,
 * after fuse_session_mount and before any fork. Returns 0 or -errno
 * (logged).
 */
int shmfs_device_install(struct fuse_session *se);

#endif /* SHMFS_DEVICE_H */

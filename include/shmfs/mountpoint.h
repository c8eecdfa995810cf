/* SPDX-License-Identifier: MIT */
/*
 * The mount point, checked before anything is allocated: it must be a
 * directory, and not a live or dead shmfs mount already (mounting over one
 * would hide it and leave two in /proc/mounts).
 */
#ifndef SHMFS_MOUNTPOINT_H
#define SHMFS_MOUNTPOINT_H

/*
 * Resolves path to an absolute one (the daemon leaves its cwd) in *abs
 * (malloc'd). Each refusal is logged in one line that says what to do.
 * Returns 0, -ENOTDIR (not a directory), -EBUSY (a shmfs is mounted
 * there), -ENOTCONN (a dead FUSE mount is there) or -errno.
 */
int shmfs_mountpoint_check(const char *path, char **abs);

/*
 * Detaches the shmfs mounted at path (absolute), if one is: a master
 * that adopted its connection (libfuse does not know it mounted it), or
 * one that found a dead one there. umount2(MNT_DETACH) as root, else
 * fusermount3 -u -z. Returns 0 or -errno (logged).
 */
int shmfs_mountpoint_release(const char *path);

#endif /* SHMFS_MOUNTPOINT_H */

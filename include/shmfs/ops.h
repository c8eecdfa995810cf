/* SPDX-License-Identifier: MIT */
/*
 * The FUSE low-level handlers: the zone table as a flat directory of regular
 * files. Handlers never block and never allocate on the request path; all
 * state they change is in the shared region, so any worker may serve any
 * request.
 */
#ifndef SHMFS_OPS_H
#define SHMFS_OPS_H

#include <fuse_lowlevel.h>
#include <sys/types.h>

struct shmfs_cycle;
struct stat;
struct shmfs_worker_slot;

extern const struct fuse_lowlevel_ops shmfs_ops;

/*
 * What this process serves, for the rest of its life: a worker calls it
 * once, before its first request, with the cycle it was forked to serve
 * (complete, never changed while workers run) and its own slot, where its
 * requests are counted. The session's userdata is not used: a worker
 * serves one cycle, and the session outlives cycles.
 */
void shmfs_ops_serve(struct shmfs_cycle *cycle, struct shmfs_worker_slot *self);

/*
 * Seconds the kernel may cache names and attributes. Every change goes
 * through this mount, and the kernel drops what a write or setattr changes,
 * so nothing it caches goes stale.
 */
#define SHMFS_CACHE_TIMEOUT 3600.0

/* Between ops.c and the root directory's handlers (ops_dir.c): */

/* The cycle this process serves. */
const struct shmfs_cycle *shmfs_ops_cycle(void);

/* Answers req with err (0: success), counting errors in /.stats. */
void shmfs_ops_reply_err(fuse_req_t req, int err);

/* Attributes of any inode in *st: 0, or -ENOENT for a stale one. */
int shmfs_ops_stat(fuse_ino_t ino, struct stat *st);

void shmfs_op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name);
void shmfs_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		      struct fuse_file_info *fi);
void shmfs_op_statfs(fuse_req_t req, fuse_ino_t ino);
void shmfs_op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
		       struct fuse_file_info *fi);
void shmfs_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		    mode_t mode, dev_t rdev);
void shmfs_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		    mode_t mode);
void shmfs_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name);
void shmfs_op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		      const char *name);
void shmfs_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		     fuse_ino_t newparent, const char *newname,
		     unsigned int flags);
void shmfs_op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		   const char *newname);
void shmfs_op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, struct fuse_file_info *fi);

#endif /* SHMFS_OPS_H */

/* SPDX-License-Identifier: MIT */
/*
 * FUSE handlers: one const table, every request answered exactly once.
 * Here the files: the zones and the daemon's /.stats and /.metrics; the
 * root directory that holds them is ops_dir.c's. Zone semantics live in
 * zone.c, the texts of /.stats and /.metrics in stats.c, the replies
 * libfuse 3.14 cannot build in kernel.c. Reads are answered straight from
 * the shared memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shmfs/cycle.h"
#include "shmfs/fault.h"
#include "shmfs/kernel.h"
#include "shmfs/ops.h"
#include "shmfs/region.h"
#include "shmfs/zone.h"
#include "shmfs/zonetab.h"

/* What this worker serves, and where it counts (see shmfs_ops_serve). */
static struct shmfs_cycle *cycle;
static struct shmfs_worker_slot *self;

void shmfs_ops_serve(struct shmfs_cycle *c, struct shmfs_worker_slot *slot)
{
	cycle = c;
	self = slot;
}

const struct shmfs_cycle *shmfs_ops_cycle(void)
{
	return cycle;
}

static bool is_stats(fuse_ino_t ino)
{
	return ino == SHMFS_INO_STATS || ino == SHMFS_INO_METRICS;
}

/*
 * Runs in the master, which answers INIT before any fork.
 *
 * No FUSE_CAP_AUTO_INVAL_DATA: with it the kernel drops a file's whole page
 * cache whenever a refreshed mtime differs from the cached one, that is
 * after every write. Only this mount changes a zone, so the kernel's pages
 * are never stale (bench/README.md: re-reads after a write went from 1.5 to
 * 5 GB/s).
 *
 * No flush handler either: the kernel then stops sending FLUSH on every
 * close (close still succeeds), one round trip less per open file.
 */
static void shmfs_op_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
}

static void count(_Atomic uint64_t *counter, uint64_t n)
{
	atomic_fetch_add_explicit(counter, n, memory_order_relaxed);
}

/* Every error reply goes through here, so /.stats counts them. */
static void reply_err(fuse_req_t req, int err)
{
	if (err != 0 && self != NULL) /* NULL in the master */
		count(&self->errors, 1);
	fuse_reply_err(req, err);
}

/* The zone behind an inode number, or NULL (the root, /.stats, stale). */
static struct shmfs_zonetab_entry *entry_of(fuse_ino_t ino)
{
	return shmfs_zonetab_by_ino(cycle->tab, ino);
}

/* Stats snapshots carry the cycle's generation: one from before a reload
 * names a slot of an arena that is gone. */
static uint64_t stats_fh(uint64_t slot)
{
	return cycle->generation << 16 | slot;
}

static int stats_slot(uint64_t fh, uint64_t *slot)
{
	if (fh >> 16 != cycle->generation)
		return -ESTALE;
	*slot = fh & 0xffff;
	return 0;
}

static void dir_stat(fuse_ino_t ino, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_uid = cycle->uid;
	st->st_gid = cycle->gid;
	st->st_atim = st->st_mtim = st->st_ctim =
		shmfs_cycle_region(cycle)->started;
	st->st_blksize = sysconf(_SC_PAGESIZE);
	if (ino == FUSE_ROOT_ID) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
	} else {
		/* /.stats, /.metrics: size 0 like a /proc file; reads stop
		 * at its end. */
		st->st_mode = S_IFREG | 0444;
		st->st_nlink = 1;
	}
}

/* Attributes of any inode: -ENOENT for a stale one. */
static int stat_of(fuse_ino_t ino, struct stat *st)
{
	struct shmfs_zonetab_entry *e;

	if (ino == FUSE_ROOT_ID || is_stats(ino)) {
		dir_stat(ino, st);
		return 0;
	}
	e = entry_of(ino);
	if (e == NULL)
		return -ENOENT;
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	return shmfs_zone_stat(&e->zone, st);
}

void shmfs_ops_reply_err(fuse_req_t req, int err)
{
	reply_err(req, err);
}

int shmfs_ops_stat(fuse_ino_t ino, struct stat *st)
{
	return stat_of(ino, st);
}

static void shmfs_op_getattr(fuse_req_t req, fuse_ino_t ino,
			     struct fuse_file_info *fi)
{
	struct stat st;
	int saverr;

	(void)fi;
	saverr = -stat_of(ino, &st);
	if (saverr)
		reply_err(req, saverr);
	else
		fuse_reply_attr(req, &st, SHMFS_CACHE_TIMEOUT);
}

static void now_if(int to_set, int flag, struct timespec *ts)
{
	if (to_set & flag)
		clock_gettime(CLOCK_REALTIME, ts);
}

static void shmfs_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
			     int to_set, struct fuse_file_info *fi)
{
	struct shmfs_zonetab_entry *e = entry_of(ino);
	struct shmfs_zone_attr za = {0};
	struct stat st;
	int saverr;

	(void)fi;
	if (e == NULL) {
		saverr = ino == FUSE_ROOT_ID || is_stats(ino) ? EPERM : ENOENT;
		goto out;
	}

	static const struct {
		int fuse;
		unsigned zone;
	} map[] = {
		{FUSE_SET_ATTR_MODE, SHMFS_ZONE_SET_MODE},
		{FUSE_SET_ATTR_UID, SHMFS_ZONE_SET_UID},
		{FUSE_SET_ATTR_GID, SHMFS_ZONE_SET_GID},
		{FUSE_SET_ATTR_SIZE, SHMFS_ZONE_SET_SIZE},
		{FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_ATIME_NOW,
		 SHMFS_ZONE_SET_ATIME},
		{FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW,
		 SHMFS_ZONE_SET_MTIME},
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (to_set & map[i].fuse)
			za.set |= map[i].zone;
	za.mode = attr->st_mode;
	za.uid = attr->st_uid;
	za.gid = attr->st_gid;
	za.size = attr->st_size;
	za.atime = attr->st_atim;
	za.mtime = attr->st_mtim;
	now_if(to_set, FUSE_SET_ATTR_ATIME_NOW, &za.atime);
	now_if(to_set, FUSE_SET_ATTR_MTIME_NOW, &za.mtime);

	saverr = -shmfs_zone_setattr(&e->zone, &za);
	if (saverr == 0)
		saverr = -stat_of(ino, &st);
	if (saverr == 0) {
		fuse_reply_attr(req, &st, SHMFS_CACHE_TIMEOUT);
		return;
	}
out:
	reply_err(req, saverr);
}

static void open_stats(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	enum shmfs_statsfile_format format =
		ino == SHMFS_INO_METRICS ? SHMFS_STATSFILE_PROMETHEUS
					 : SHMFS_STATSFILE_TEXT;
	uint64_t slot;
	int err;

	if ((fi->flags & O_ACCMODE) != O_RDONLY) {
		reply_err(req, EACCES);
		return;
	}
	err = shmfs_statsfile_open(&cycle->stats, cycle, format,
				   fuse_req_ctx(req)->uid, &slot);
	if (err) {
		reply_err(req, -err);
		return;
	}
	fi->fh = stats_fh(slot);
	fi->direct_io = 1;
	fuse_reply_open(req, fi);
}

static void shmfs_op_open(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	const struct shmfs_cycle_zone *z;
	struct shmfs_zonetab_entry *e;
	int saverr = 0;

	if (is_stats(ino)) {
		open_stats(req, ino, fi);
		return;
	}
	e = entry_of(ino);
	if (e == NULL) {
		saverr = ino == FUSE_ROOT_ID ? EISDIR : ENOENT;
		goto out;
	}
	/*
	 * A program's zone: gone with the program (ENXIO), written only if
	 * writable (root passes the mode bits: EROFS), never cut (EPERM).
	 */
	if (e->zone.detached)
		saverr = ENXIO;
	else if (e->zone.program && (fi->flags & O_TRUNC) &&
		 (fi->flags & O_ACCMODE) != O_RDONLY)
		saverr = EPERM;
	else if (e->zone.readonly && (fi->flags & O_ACCMODE) != O_RDONLY)
		saverr = EROFS;
	/* FUSE_CAP_ATOMIC_O_TRUNC: O_TRUNC arrives here, not as a setattr. */
	else if ((fi->flags & O_TRUNC) && (fi->flags & O_ACCMODE) != O_RDONLY)
		saverr = -shmfs_zone_truncate(&e->zone, 0);
	if (saverr)
		goto out;

	fi->fh = ino;
	z = shmfs_cycle_zone(cycle, e);
	if (z->cache == SHMFS_CACHE_PASSTHROUGH) {
		/* Always: the kernel never mixes modes on an inode. */
		shmfs_kernel_reply_open_passthrough(req, fi->fh, z->backing_id);
		return;
	}
	if (z->cache == SHMFS_CACHE_PAGE) {
		/*
		 * Every change goes through this mount, so the kernel's cache
		 * is never stale: keep it across opens.
		 */
		fi->keep_cache = 1;
		fuse_reply_open(req, fi);
		return;
	}
	shmfs_kernel_reply_open_direct(req, fi->fh);
	return;

out:
	reply_err(req, saverr);
}

static void read_stats(fuse_req_t req, uint64_t fh, off_t off, size_t size)
{
	const void *p;
	size_t n;
	uint64_t slot;
	int saverr = -stats_slot(fh, &slot);

	if (saverr == 0)
		saverr = -shmfs_statsfile_read(&cycle->stats, slot, off, size,
					       &p, &n);
	if (saverr)
		reply_err(req, saverr);
	else
		fuse_reply_buf(req, p, n);
}

static void shmfs_op_read(fuse_req_t req, fuse_ino_t ino, size_t size,
			  off_t off, struct fuse_file_info *fi)
{
	struct shmfs_zonetab_entry *e;
	struct iovec iov[SHMFS_ZONE_PIECES_MAX];
	const void *p;
	size_t n;
	int saverr, pieces;

	if (is_stats(ino)) {
		read_stats(req, fi->fh, off, size);
		return;
	}
	e = entry_of(ino);
	if (e == NULL) {
		reply_err(req, ESTALE);
		return;
	}
	saverr = -shmfs_zone_check(&e->zone);
	if (saverr == 0)
		saverr = -shmfs_zone_read(&e->zone, off, size, &p, &n);
	SHMFS_FAULT_POINT("read");
	SHMFS_FAULT_TAKE("read_crash", abort());
	if (saverr) {
		reply_err(req, saverr);
		return;
	}
	count(&e->zone.meta->reads, 1);
	count(&e->zone.meta->bytes_out, n);
	count(&self->bytes_out, n);
	SHMFS_FAULT_TAKE("reply_rejected", reply_err(req, 600); return );
	/* Holes come from a zero buffer: reading them allocates nothing. */
	pieces = shmfs_zone_pieces(&e->zone, p, n, iov, SHMFS_ZONE_PIECES_MAX);
	if (pieces > 1) {
		fuse_reply_iov(req, iov, pieces);
		return;
	}
	if (pieces == 1)
		p = iov[0].iov_base;
	if (n > 0)
		SHMFS_FAULT_TAKE("reply_unmapped", p = shmfs_fault_unmapped());
	fuse_reply_buf(req, p, n); /* one writev, no allocation */
}

static void shmfs_op_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
			   size_t size, off_t off, struct fuse_file_info *fi)
{
	struct shmfs_zonetab_entry *e = entry_of(ino);
	size_t written;
	int saverr;

	if (e == NULL) {
		reply_err(req, is_stats(ino) ? EBADF : ESTALE);
		return;
	}
	saverr = -shmfs_zone_check(&e->zone);
	if (saverr == 0)
		saverr = -shmfs_zone_write(&e->zone, buf, size, off,
					   (fi->flags & O_APPEND) != 0,
					   &written);
	if (saverr) {
		reply_err(req, saverr);
		return;
	}
	count(&e->zone.meta->writes, 1);
	count(&e->zone.meta->bytes_in, written);
	count(&self->bytes_in, written);
	fuse_reply_write(req, written);
}

static void shmfs_op_release(fuse_req_t req, fuse_ino_t ino,
			     struct fuse_file_info *fi)
{
	uint64_t slot;

	if (is_stats(ino) && stats_slot(fi->fh, &slot) == 0)
		shmfs_statsfile_release(&cycle->stats, slot);
	fuse_reply_err(req, 0);
}

/*
 * fsync and fdatasync write a file zone's dirty pages to its file (msync);
 * for memory with no file behind it there is nothing to do.
 */
static void shmfs_op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
			   struct fuse_file_info *fi)
{
	struct shmfs_zonetab_entry *e = entry_of(ino);
	int saverr = 0;

	(void)datasync;
	(void)fi;
	if (e != NULL && e->shm.backend == SHMFS_BACKEND_FILE)
		saverr = -shmfs_zone_sync(&e->zone);
	reply_err(req, saverr);
}

static void shmfs_op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode,
			       off_t off, off_t len, struct fuse_file_info *fi)
{
	struct shmfs_zonetab_entry *e = entry_of(ino);

	(void)fi;
	if (e == NULL) {
		reply_err(req, is_stats(ino) ? EBADF : ESTALE);
		return;
	}
	int saverr = -shmfs_zone_check(&e->zone);

	if (saverr == 0)
		saverr = -shmfs_zone_fallocate(&e->zone, mode, off, len);
	reply_err(req, saverr);
}

/* SEEK_DATA and SEEK_HOLE; the kernel answers SEEK_SET, _CUR and _END. */
static void shmfs_op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off,
			   int whence, struct fuse_file_info *fi)
{
	struct shmfs_zonetab_entry *e = entry_of(ino);
	off_t pos = 0;
	int saverr;

	(void)fi;
	if (e == NULL) {
		/* /.stats and /.metrics are empty: no data anywhere. */
		reply_err(req, is_stats(ino) ? ENXIO : ESTALE);
		return;
	}
	saverr = -shmfs_zone_seek(&e->zone, off, whence, &pos);
	if (saverr)
		reply_err(req, saverr);
	else
		fuse_reply_lseek(req, pos);
}

/*
 * copy_file_range between zones of this mount: one request, a memory copy
 * between the two mappings. From /.stats or /.metrics it is EOPNOTSUPP, on
 * which the kernel copies through read and write itself (ENOSYS would turn the
 * call off for the whole mount).
 */
static void shmfs_op_copy_file_range(fuse_req_t req, fuse_ino_t ino_in,
				     off_t off_in, struct fuse_file_info *fi_in,
				     fuse_ino_t ino_out, off_t off_out,
				     struct fuse_file_info *fi_out, size_t len,
				     int flags)
{
	struct shmfs_zonetab_entry *in = entry_of(ino_in);
	struct shmfs_zonetab_entry *out = entry_of(ino_out);
	size_t copied;
	int saverr;

	(void)fi_in, (void)fi_out;
	if (flags != 0) {
		reply_err(req, EINVAL);
		return;
	}
	if (in == NULL || out == NULL) {
		reply_err(req, is_stats(ino_in) || is_stats(ino_out)
				       ? EOPNOTSUPP
				       : ESTALE);
		return;
	}
	saverr = -shmfs_zone_check(&in->zone);
	if (saverr == 0)
		saverr = -shmfs_zone_check(&out->zone);
	if (saverr == 0)
		saverr = -shmfs_zone_copy(&out->zone, off_out, &in->zone,
					  off_in, len, &copied);
	if (saverr) {
		reply_err(req, saverr);
		return;
	}
	count(&in->zone.meta->reads, 1);
	count(&in->zone.meta->bytes_out, copied);
	count(&out->zone.meta->writes, 1);
	count(&out->zone.meta->bytes_in, copied);
	count(&self->bytes_in, copied);
	count(&self->bytes_out, copied);
	fuse_reply_write(req, copied);
}

const struct fuse_lowlevel_ops shmfs_ops = {
	.init = shmfs_op_init,
	.lookup = shmfs_op_lookup,
	.getattr = shmfs_op_getattr,
	.setattr = shmfs_op_setattr,
	.readdir = shmfs_op_readdir,
	.open = shmfs_op_open,
	.read = shmfs_op_read,
	.write = shmfs_op_write,
	.release = shmfs_op_release,
	.fsync = shmfs_op_fsync,
	.fsyncdir = shmfs_op_fsyncdir,
	.fallocate = shmfs_op_fallocate,
	.lseek = shmfs_op_lseek,
	.copy_file_range = shmfs_op_copy_file_range,
	.statfs = shmfs_op_statfs,
	.mknod = shmfs_op_mknod,
	.mkdir = shmfs_op_mkdir,
	.unlink = shmfs_op_unlink,
	.rmdir = shmfs_op_unlink,
	.symlink = shmfs_op_symlink,
	.rename = shmfs_op_rename,
	.link = shmfs_op_link,
	.create = shmfs_op_create,
};

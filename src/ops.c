/* SPDX-License-Identifier: MIT */
/*
 * FUSE handlers in the style of libfuse's hello_ll.c: static functions, one
 * const table, every request answered exactly once. The root directory is
 * read-only (EPERM for every namespace change); zones are regular files whose
 * semantics live in zone.c. Reads are answered straight from the mapping.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <linux/fuse.h>

#include "shmfs/fault.h"
#include "shmfs/ops.h"
#include "shmfs/zone.h"

static struct shmfs_fs *fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* The zone behind an inode number, or NULL (the root, or stale). */
static struct shmfs_zone *zone_of(fuse_req_t req, fuse_ino_t ino)
{
	struct shmfs_zonetab *tab = fs_of(req)->tab;

	if (ino < SHMFS_INO_ZONE0 || ino - SHMFS_INO_ZONE0 >= tab->nzones)
		return NULL;
	return &tab->entries[ino - SHMFS_INO_ZONE0].zone;
}

static void root_stat(const struct shmfs_fs *fs, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = FUSE_ROOT_ID;
	st->st_mode = S_IFDIR | 0755;
	st->st_nlink = 2;
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	st->st_atim = st->st_mtim = st->st_ctim = fs->tab->region->started;
	st->st_blksize = sysconf(_SC_PAGESIZE);
}

static int zone_stat(struct shmfs_zone *zone, fuse_ino_t ino, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	return shmfs_zone_stat(zone, st);
}

static void shmfs_op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct shmfs_fs *fs = fs_of(req);
	struct fuse_entry_param e;
	int saverr;

	if (parent != FUSE_ROOT_ID) {
		saverr = ENOTDIR;
		goto out;
	}
	long i = shmfs_zonetab_find(fs->tab, name, strlen(name));
	if (i < 0) {
		saverr = -i;
		goto out;
	}

	memset(&e, 0, sizeof(e));
	e.ino = SHMFS_INO_ZONE0 + i;
	e.generation = 1;
	e.attr_timeout = fs->timeout;
	e.entry_timeout = fs->timeout;
	saverr = -zone_stat(&fs->tab->entries[i].zone, e.ino, &e.attr);
	if (saverr)
		goto out;
	fuse_reply_entry(req, &e);
	return;
out:
	fuse_reply_err(req, saverr);
}

static void shmfs_op_getattr(fuse_req_t req, fuse_ino_t ino,
			     struct fuse_file_info *fi)
{
	struct shmfs_fs *fs = fs_of(req);
	struct shmfs_zone *zone;
	struct stat st;
	int saverr = 0;

	(void)fi;
	if (ino == FUSE_ROOT_ID)
		root_stat(fs, &st);
	else if ((zone = zone_of(req, ino)) != NULL)
		saverr = -zone_stat(zone, ino, &st);
	else
		saverr = ENOENT;

	if (saverr)
		fuse_reply_err(req, saverr);
	else
		fuse_reply_attr(req, &st, fs->timeout);
}

static void now_if(int to_set, int flag, struct timespec *ts)
{
	if (to_set & flag)
		clock_gettime(CLOCK_REALTIME, ts);
}

static void shmfs_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
			     int to_set, struct fuse_file_info *fi)
{
	struct shmfs_zone *zone = zone_of(req, ino);
	struct shmfs_zone_attr za = {0};
	struct stat st;
	int saverr;

	(void)fi;
	if (zone == NULL) {
		saverr = ino == FUSE_ROOT_ID ? EPERM : ENOENT;
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

	saverr = -shmfs_zone_setattr(zone, &za);
	if (saverr == 0)
		saverr = -zone_stat(zone, ino, &st);
	if (saverr == 0) {
		fuse_reply_attr(req, &st, fs_of(req)->timeout);
		return;
	}
out:
	fuse_reply_err(req, saverr);
}

/*
 * Readdir offsets: 0 is the start, entry k (".", "..", then the zones in
 * file order) carries k + 1 as the offset of the next one.
 */
static void shmfs_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
			     off_t off, struct fuse_file_info *fi)
{
	struct shmfs_zonetab *tab = fs_of(req)->tab;
	static char buf[64 * 1024]; /* a worker serves one request at a time */
	size_t used = 0;

	(void)fi;
	if (ino != FUSE_ROOT_ID) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	if (size > sizeof(buf))
		size = sizeof(buf);

	for (uint64_t k = off < 0 ? 0 : off; k < 2 + tab->nzones; k++) {
		struct stat st = {.st_mode = S_IFDIR};
		const char *name;

		if (k < 2) {
			name = k == 0 ? "." : "..";
			st.st_ino = FUSE_ROOT_ID;
		} else {
			name = tab->entries[k - 2].conf.name;
			st.st_ino = SHMFS_INO_ZONE0 + k - 2;
			st.st_mode = S_IFREG;
		}
		size_t n = fuse_add_direntry(req, buf + used, size - used, name,
					     &st, k + 1);
		if (n > size - used)
			break;
		used += n;
	}
	fuse_reply_buf(req, buf, used);
}

/*
 * Direct I/O with parallel writes to one file: libfuse 3.14.0's
 * fuse_file_info has no parallel_direct_writes bit, so the reply is built by
 * hand (the layout is the kernel's, from <linux/fuse.h>). Writes that extend
 * the file stay serialized by the kernel; the others only meet at the zone's
 * mutex, held for the copy alone.
 */
static void reply_open_direct(fuse_req_t req, uint64_t fh)
{
	struct fuse_open_out out = {
		.fh = fh,
		.open_flags = FOPEN_DIRECT_IO | FOPEN_PARALLEL_DIRECT_WRITES,
	};

	fuse_reply_buf(req, (const char *)&out, sizeof(out));
}

static void shmfs_op_open(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	struct shmfs_zone *zone = zone_of(req, ino);
	int saverr = 0;

	if (zone == NULL) {
		saverr = ino == FUSE_ROOT_ID ? EISDIR : ENOENT;
		goto out;
	}
	/* FUSE_CAP_ATOMIC_O_TRUNC: O_TRUNC arrives here, not as a setattr. */
	if ((fi->flags & O_TRUNC) && (fi->flags & O_ACCMODE) != O_RDONLY)
		saverr = -shmfs_zone_truncate(zone, 0);
	if (saverr)
		goto out;

	fi->fh = ino - SHMFS_INO_ZONE0;
	if (fs_of(req)->tab->entries[fi->fh].conf.cache == SHMFS_CACHE_PAGE) {
		/*
		 * Every change goes through this mount, so the kernel's cache
		 * is never stale: keep it across opens.
		 */
		fi->keep_cache = 1;
		fuse_reply_open(req, fi);
		return;
	}
	reply_open_direct(req, fi->fh);
	return;

out:
	fuse_reply_err(req, saverr);
}

static void shmfs_op_read(fuse_req_t req, fuse_ino_t ino, size_t size,
			  off_t off, struct fuse_file_info *fi)
{
	struct shmfs_zone *zone = zone_of(req, ino);
	const void *p;
	size_t n;
	int saverr;

	(void)fi;
	if (zone == NULL) {
		fuse_reply_err(req, EBADF);
		return;
	}
	saverr = -shmfs_zone_read(zone, off, size, &p, &n);
	shmfs_fault_point("read");
	if (saverr)
		fuse_reply_err(req, saverr);
	else
		fuse_reply_buf(req, p, n); /* one writev from the mapping */
}

static void shmfs_op_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
			   size_t size, off_t off, struct fuse_file_info *fi)
{
	struct shmfs_zone *zone = zone_of(req, ino);
	size_t written;
	int saverr;

	if (zone == NULL) {
		fuse_reply_err(req, EBADF);
		return;
	}
	saverr = -shmfs_zone_write(zone, buf, size, off,
				   (fi->flags & O_APPEND) != 0, &written);
	if (saverr)
		fuse_reply_err(req, saverr);
	else
		fuse_reply_write(req, written);
}

static void shmfs_op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct shmfs_zonetab *tab = fs_of(req)->tab;
	unsigned long page = sysconf(_SC_PAGESIZE);
	uint64_t used = 0;
	struct statvfs sv;

	(void)ino;
	for (size_t i = 0; i < tab->nzones; i++)
		used += shmfs_zone_length(&tab->entries[i].zone);

	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = page;
	sv.f_frsize = page;
	sv.f_blocks = tab->capacity / page;
	sv.f_bfree = (tab->capacity - used) / page;
	sv.f_bavail = sv.f_bfree;
	sv.f_files = tab->nzones;
	sv.f_ffree = 0;
	sv.f_favail = 0;
	sv.f_namemax = SHMFS_NAME_MAX;
	fuse_reply_statfs(req, &sv);
}

/* Requests that succeed with nothing to do: zones have no backing store. */
static void shmfs_op_flush(fuse_req_t req, fuse_ino_t ino,
			   struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	fuse_reply_err(req, 0);
}

static void shmfs_op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
			   struct fuse_file_info *fi)
{
	(void)ino;
	(void)datasync;
	(void)fi;
	fuse_reply_err(req, 0);
}

/* The root directory is the configuration's: no namespace change. */
static void shmfs_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
			   mode_t mode, dev_t rdev)
{
	(void)parent, (void)name, (void)mode, (void)rdev;
	fuse_reply_err(req, EPERM);
}

static void shmfs_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
			   mode_t mode)
{
	(void)parent, (void)name, (void)mode;
	fuse_reply_err(req, EPERM);
}

static void shmfs_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	(void)parent, (void)name;
	fuse_reply_err(req, EPERM);
}

static void shmfs_op_symlink(fuse_req_t req, const char *link,
			     fuse_ino_t parent, const char *name)
{
	(void)link, (void)parent, (void)name;
	fuse_reply_err(req, EPERM);
}

static void shmfs_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
			    fuse_ino_t newparent, const char *newname,
			    unsigned int flags)
{
	(void)parent, (void)name, (void)newparent, (void)newname, (void)flags;
	fuse_reply_err(req, EPERM);
}

static void shmfs_op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
			  const char *newname)
{
	(void)ino, (void)newparent, (void)newname;
	fuse_reply_err(req, EPERM);
}

static void shmfs_op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
			    mode_t mode, struct fuse_file_info *fi)
{
	(void)parent, (void)name, (void)mode, (void)fi;
	fuse_reply_err(req, EPERM);
}

const struct fuse_lowlevel_ops shmfs_ops = {
	.lookup = shmfs_op_lookup,
	.getattr = shmfs_op_getattr,
	.setattr = shmfs_op_setattr,
	.readdir = shmfs_op_readdir,
	.open = shmfs_op_open,
	.read = shmfs_op_read,
	.write = shmfs_op_write,
	.flush = shmfs_op_flush,
	.release = shmfs_op_flush,
	.fsync = shmfs_op_fsync,
	.fsyncdir = shmfs_op_fsync,
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

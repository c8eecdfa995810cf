/* SPDX-License-Identifier: MIT */
/*
 * The root directory: the configuration's zones and the daemon's /.stats
 * and /.metrics, in a fixed order. It is read-only: every namespace change
 * is EPERM, since the set of files is the configuration's.
 */
#include <errno.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "shmfs/cycle.h"
#include "shmfs/ops.h"
#include "shmfs/zone.h"
#include "shmfs/zonetab.h"

/* The daemon's own read-only files (ops.c serves them). */
static const struct {
	const char *name;
	fuse_ino_t ino;
} stats_files[] = {
	{".stats", SHMFS_INO_STATS},
	{".metrics", SHMFS_INO_METRICS},
};
#define NSTATS_FILES (sizeof(stats_files) / sizeof(stats_files[0]))

void shmfs_op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	const struct shmfs_zonetab *tab = shmfs_ops_cycle()->tab;
	struct fuse_entry_param e;
	int saverr;

	if (parent != FUSE_ROOT_ID) {
		saverr = ENOTDIR;
		goto out;
	}
	memset(&e, 0, sizeof(e));
	for (size_t k = 0; k < NSTATS_FILES; k++)
		if (strcmp(name, stats_files[k].name) == 0)
			e.ino = stats_files[k].ino;
	if (e.ino == 0) {
		long i = shmfs_zonetab_find(tab, name, strlen(name));
		if (i < 0) {
			saverr = -i;
			goto out;
		}
		e.ino = tab->entries[i].ino;
	}
	e.generation = 1; /* inode numbers are never reused */
	e.attr_timeout = SHMFS_CACHE_TIMEOUT;
	e.entry_timeout = SHMFS_CACHE_TIMEOUT;
	saverr = -shmfs_ops_stat(e.ino, &e.attr);
	if (saverr)
		goto out;
	fuse_reply_entry(req, &e);
	return;
out:
	shmfs_ops_reply_err(req, saverr);
}

/*
 * Readdir offsets: 0 is the start, entry k (".", "..", ".stats",
 * ".metrics", then the zones in file order) carries k + 1 as the offset of
 * the next one.
 */
#define DIR_FIXED (2 + NSTATS_FILES)

void shmfs_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		      struct fuse_file_info *fi)
{
	const struct shmfs_zonetab *tab = shmfs_ops_cycle()->tab;
	static char buf[64 * 1024]; /* a worker serves one request at a time */
	size_t used = 0;

	(void)fi;
	if (ino != FUSE_ROOT_ID) {
		shmfs_ops_reply_err(req, ENOTDIR);
		return;
	}
	if (size > sizeof(buf))
		size = sizeof(buf);

	for (uint64_t k = off < 0 ? 0 : off; k < DIR_FIXED + tab->nzones; k++) {
		struct stat st = {.st_mode = S_IFREG};
		const char *name;

		if (k < 2) {
			name = k == 0 ? "." : "..";
			st.st_ino = FUSE_ROOT_ID;
			st.st_mode = S_IFDIR;
		} else if (k < DIR_FIXED) {
			name = stats_files[k - 2].name;
			st.st_ino = stats_files[k - 2].ino;
		} else {
			name = tab->entries[k - DIR_FIXED].conf.name;
			st.st_ino = tab->entries[k - DIR_FIXED].ino;
		}
		size_t n = fuse_add_direntry(req, buf + used, size - used, name,
					     &st, k + 1);
		if (n > size - used)
			break;
		used += n;
	}
	fuse_reply_buf(req, buf, used);
}

void shmfs_op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	const struct shmfs_zonetab *tab = shmfs_ops_cycle()->tab;
	unsigned long page = sysconf(_SC_PAGESIZE);
	uint64_t used = 0;
	struct statvfs sv;

	(void)ino;
	for (size_t i = 0; i < tab->nzones; i++)
		used += shmfs_zone_used(&tab->entries[i].zone);

	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = page;
	sv.f_frsize = page;
	sv.f_blocks = tab->capacity / page;
	sv.f_bfree = (tab->capacity - used) / page;
	sv.f_bavail = sv.f_bfree;
	/*
	 * No inode accounting: a fixed set of files, none to create. nzones
	 * with none free would read 100 % in "df -i" and set off every
	 * monitoring alarm; 0 makes df print "-".
	 */
	sv.f_files = 0;
	sv.f_ffree = 0;
	sv.f_favail = 0;
	sv.f_namemax = SHMFS_NAME_MAX;
	fuse_reply_statfs(req, &sv);
}

void shmfs_op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
		       struct fuse_file_info *fi)
{
	(void)ino, (void)datasync, (void)fi;
	fuse_reply_err(req, 0);
}

/* The root directory is the configuration's: no namespace change. */
void shmfs_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		    mode_t mode, dev_t rdev)
{
	(void)parent, (void)name, (void)mode, (void)rdev;
	shmfs_ops_reply_err(req, EPERM);
}

void shmfs_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		    mode_t mode)
{
	(void)parent, (void)name, (void)mode;
	shmfs_ops_reply_err(req, EPERM);
}

void shmfs_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	(void)parent, (void)name;
	shmfs_ops_reply_err(req, EPERM);
}

void shmfs_op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		      const char *name)
{
	(void)link, (void)parent, (void)name;
	shmfs_ops_reply_err(req, EPERM);
}

void shmfs_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		     fuse_ino_t newparent, const char *newname,
		     unsigned int flags)
{
	(void)parent, (void)name, (void)newparent, (void)newname, (void)flags;
	shmfs_ops_reply_err(req, EPERM);
}

void shmfs_op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		   const char *newname)
{
	(void)ino, (void)newparent, (void)newname;
	shmfs_ops_reply_err(req, EPERM);
}

void shmfs_op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, struct fuse_file_info *fi)
{
	(void)parent, (void)name, (void)mode, (void)fi;
	shmfs_ops_reply_err(req, EPERM);
}

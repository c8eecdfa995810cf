/* SPDX-License-Identifier: MIT */
/*
 * A file zone: a regular file mapped shared, so its bytes outlive the
 * daemon. It is reached only through directories and links that root and
 * the daemon's user control (safefile.c), and checked again after a
 * reload or at a stop, when a file deleted or moved away behind the daemon
 * is written back to its path.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shm_backend.h"
#include "shmfs/safefile.h"

/* Why a file zone's path was refused or could not be opened. */
static int file_failed(const struct shmfs_shm *shm, int err,
		       const struct shmfs_file_why *why)
{
	char text[PATH_MAX + 128];

	if (err == -EPERM && why->rule != SHMFS_FILE_OK) {
		shmfs_file_why_text(why, text, sizeof(text));
		shm_refuse(shm, "file %s: %s (refused)", shm->object, text);
	} else if (err == -ELOOP || err == -EMLINK ||
		   (err == -EINVAL && why == NULL)) {
		shm_refuse(shm, "file %s %s", shm->object,
			   shmfs_file_strerror(err));
	} else if (why != NULL && why->at[0] != '\0') {
		shm_fail(shm, -err, "file %s: %s", shm->object, why->at);
	} else {
		shm_fail(shm, -err, "open(\"%s\") failed%s", shm->object,
			 err == -ENOENT && shm->size == 0
				 ? " (and no size to create it)"
				 : "");
	}
	return err;
}

/*
 * A regular file, mapped shared: its bytes are the file's, so they outlive
 * the daemon. A missing one is created at the zone's size; an existing one
 * keeps its bytes and must be a trusted user's. It is reached through
 * directories and links only root and the daemon's user control, and
 * opened without following a link (shmfs_file_open_dir). Blocks are
 * allocated as pages are written, as for any file mapping.
 */
static int file_open(struct shmfs_shm *shm, bool probe)
{
	char what[PATH_MAX + 16];
	struct shmfs_file_why why;
	const char *name;
	int dir, fd;

	snprintf(what, sizeof(what), "file %s", shm->object);
	dir = shmfs_file_open_dir(shm->object, &name, &why);
	if (dir < 0)
		return file_failed(shm, dir, &why);
	fd = shmfs_file_openat(dir, name, probe ? O_RDONLY : O_RDWR, 0);
	if (fd == -ENOENT && shm->size != 0 && !probe) {
		fd = shmfs_file_openat(dir, name, O_RDWR | O_CREAT | O_EXCL,
				       shm->mode & 0777);
		shm->created = fd >= 0;
	}
	shmfs_shm_close(shm, dir, "its directory");
	if (fd == -ENOENT && shm->size != 0 && probe)
		return 0;
	if (fd < 0)
		return file_failed(shm, fd, NULL);
	return shmfs_shm_map_object(shm, fd, what, probe, unlink);
}

/* The inode number of the zone's file, for messages; 0 if unknown. */
static unsigned long long file_ino(const struct shmfs_shm *shm)
{
	struct stat st;

	return fstat(shm->fd, &st) == 0 ? (unsigned long long)st.st_ino : 0;
}

/* Copies the zone's data (its file's holes stay holes) into fd. */
static int copy_data(const struct shmfs_shm *shm, int fd)
{
	off_t data = 0, hole;

	while ((data = lseek(shm->fd, data, SEEK_DATA)) >= 0 &&
	       (size_t)data < shm->size) {
		hole = lseek(shm->fd, data, SEEK_HOLE);
		if (hole < 0 || (size_t)hole > shm->size)
			hole = (off_t)shm->size;
		for (off_t at = data; at < hole;) {
			ssize_t n = pwrite(fd, (char *)shm->addr + at,
					   (size_t)(hole - at), at);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return n < 0 ? -errno : -EIO;
			at += n;
		}
		data = hole;
	}
	return data < 0 && errno != ENXIO ? -errno : 0;
}

/*
 * Gives the new file fd the old one's owner and mode and the zone's bytes,
 * on disk (fsync), then maps it over the zone's mapping (mremap to the
 * same address, so every pointer stays valid). Returns 0 or -errno.
 */
static int write_back(struct shmfs_shm *shm, int fd, const struct stat *old)
{
	void *p;
	int err;

	if (fchown(fd, old->st_uid, old->st_gid) < 0 ||
	    fchmod(fd, old->st_mode & 07777) < 0 ||
	    ftruncate(fd, (off_t)shm->size) < 0)
		return -errno;
	err = copy_data(shm, fd);
	if (err == 0 && fsync(fd) < 0)
		err = -errno;
	if (err)
		return err;
	p = mmap(NULL, shm->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	if (mremap(p, shm->size, shm->size, MREMAP_MAYMOVE | MREMAP_FIXED,
		   shm->addr) == MAP_FAILED) {
		err = -errno;
		if (munmap(p, shm->size) < 0)
			shm_fail(shm, errno, "munmap(%p, %zu) failed", p,
				 shm->size);
		return err;
	}
	return 0;
}

/*
 * The file was unlinked (or moved away) behind the daemon: its bytes go
 * into a new file next to the path (see write_back), which then takes the
 * old mapping's place and is renamed to the path.
 */
static int restore(struct shmfs_shm *shm, int dir, const char *name,
		   const struct stat *old)
{
	char tmp[NAME_MAX + 1];
	int fd, err;

	snprintf(tmp, sizeof(tmp), ".%.200s.shmfs-restore", name);
	/*
	 * A restore that died may have left it. Only root and the daemon's
	 * user control the directory (shmfs_file_open_dir): the name is ours.
	 */
	if (unlinkat(dir, tmp, 0) < 0 && errno != ENOENT)
		shm_fail(shm, errno, "removing %s next to file %s failed", tmp,
			 shm->object);
	fd = shmfs_file_openat(dir, tmp, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0) {
		shm_fail(shm, -fd,
			 "file %s is gone: creating %s next to it "
			 "failed",
			 shm->object, tmp);
		return fd;
	}
	err = write_back(shm, fd, old);
	if (err) {
		shm_fail(shm, -err,
			 "file %s is gone: writing its bytes back "
			 "failed (the zone serves the old inode)",
			 shm->object);
		if (unlinkat(dir, tmp, 0) < 0)
			shm_fail(shm, errno, "removing %s again failed", tmp);
		shmfs_shm_close(shm, fd, tmp);
		return err;
	}
	shmfs_shm_close(shm, shm->fd, "the old inode");
	shm->fd = fd;
	if (renameat2(dir, tmp, dir, name, RENAME_NOREPLACE) < 0) {
		err = errno;
		shm_fail(shm, err,
			 "file %s is gone: its bytes are in %s next "
			 "to it, which the zone now maps",
			 shm->object, tmp);
		return -err;
	}
	return 0;
}

/* Another file is at the path: said once, with what becomes of the bytes. */
static void say_replaced(const struct shmfs_shm *shm, const struct stat *mine,
			 const struct stat *now, bool stopping)
{
	shm_refuse(shm,
		   "file %s was replaced behind the daemon (inode %llu, "
		   "now %llu): %s",
		   shm->object, (unsigned long long)mine->st_ino,
		   (unsigned long long)now->st_ino,
		   !stopping	    ? "the reload maps the new file, and "
				      "copies nothing of the old one's"
		   : mine->st_nlink ? "left as it is; the zone's bytes "
				      "stay in the old inode"
				    : "left as it is; the zone's bytes "
				      "go with the old inode, deleted");
}

/* Whether dir/name is the file mapped (mine), another, or gone. */
static int file_state(struct shmfs_shm *shm, int dir, const char *name,
		      const struct stat *mine, bool stopping)
{
	struct stat now;

	if (fstatat(dir, name, &now, AT_SYMLINK_NOFOLLOW) == 0) {
		if (now.st_dev == mine->st_dev && now.st_ino == mine->st_ino)
			return SHMFS_SHM_FILE_SAME;
		say_replaced(shm, mine, &now, stopping);
		return SHMFS_SHM_FILE_REPLACED;
	}
	if (errno != ENOENT) {
		shm_fail(shm, errno, "stat of file %s failed", shm->object);
		return SHMFS_SHM_FILE_FAILED;
	}
	if (restore(shm, dir, name, mine) < 0)
		return SHMFS_SHM_FILE_FAILED;
	shmfs_log_notice("zone \"%s\": file %s was %s behind the daemon "
			 "(inode %llu): its bytes are back at its path (inode "
			 "%llu), which the zone now maps",
			 shm->label ? shm->label : "?", shm->object,
			 mine->st_nlink ? "moved away" : "deleted",
			 (unsigned long long)mine->st_ino,
			 (unsigned long long)file_ino(shm));
	return SHMFS_SHM_FILE_RESTORED;
}

int shmfs_shm_file_check(struct shmfs_shm *shm, bool stopping)
{
	struct shmfs_file_why why;
	struct stat mine;
	const char *name;
	int dir, state;

	if (shm->backend != SHMFS_BACKEND_FILE || shm->addr == NULL ||
	    shm->fd < 0)
		return SHMFS_SHM_FILE_SAME;
	if (fstat(shm->fd, &mine) < 0) {
		shm_fail(shm, errno, "fstat of file %s failed", shm->object);
		return SHMFS_SHM_FILE_FAILED;
	}
	dir = shmfs_file_open_dir(shm->object, &name, &why);
	if (dir < 0) {
		file_failed(shm, dir, &why);
		return SHMFS_SHM_FILE_FAILED;
	}
	state = file_state(shm, dir, name, &mine, stopping);
	shmfs_shm_close(shm, dir, "its directory");
	return state;
}

int shmfs_shm_file_alloc(struct shmfs_shm *shm)
{
	return file_open(shm, false);
}

int shmfs_shm_file_probe(struct shmfs_shm *shm)
{
	return file_open(shm, true);
}

/* A clean stop writes every dirty page back before the mapping goes. */
void shmfs_shm_file_free(struct shmfs_shm *shm)
{
	if (msync(shm->addr, shm->size, MS_SYNC) < 0)
		shmfs_log_sys(LOG_ALERT, errno, "msync of file %s failed",
			      shm->object);
	shmfs_shm_unmap(shm);
}

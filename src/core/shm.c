/* SPDX-License-Identifier: MIT */
/*
 * The ways nginx's ngx_shm_alloc gets shared memory, a memfd, and the shared
 * objects other programs map too (a posix object, a keyed SysV segment, a
 * regular file), behind one alloc/free pair. Every mapping is made before
 * fork(), so it is shared by the master and all workers; each failing call
 * is logged once, here.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shmfs/safefile.h"
#include "shmfs/log.h"
#include "shmfs/shm.h"

/* memfd_create(2): names are at most 249 bytes (and a NUL). */
#define MFD_NAME_MAX 250

/* One line per failure: the zone, the call, the size and errno. */
#define shm_fail(shm, err, fmt, ...)                                           \
	shmfs_log_sys(LOG_ERR, err, "%s%s%s" fmt,                              \
		      (shm)->label ? "zone \"" : "",                           \
		      (shm)->label ? (shm)->label : "",                        \
		      (shm)->label ? "\": " : "", __VA_ARGS__)

/* A refusal with its reason and what to do: no errno to add. */
#define shm_refuse(shm, fmt, ...)                                              \
	shmfs_log(LOG_ERR, "%s%s%s" fmt, (shm)->label ? "zone \"" : "",        \
		  (shm)->label ? (shm)->label : "",                            \
		  (shm)->label ? "\": " : "", __VA_ARGS__)

/* What a refusal of an untrusted owner says, after the object. */
#define UNTRUSTED                                                              \
	"not root, the daemon's user, the zone's uid or object_owner: "        \
	"refused (object_owner = %u would trust it)"

struct backend {
	const char *name;
	int (*alloc)(struct shmfs_shm *shm);
	void (*free)(struct shmfs_shm *shm);
};

/*
 * The shmem file behind a shared mapping, for lseek(SEEK_DATA) and fstat:
 * reading a hole through the mapping would allocate the page, reading the
 * file's holes tells where not to. /proc/self/map_files needs
 * CAP_SYS_ADMIN (or CAP_CHECKPOINT_RESTORE); without it there is none. A
 * SysV segment's file answers lseek with noop_llseek (always 0), so the
 * size check refuses it rather than have every byte look like a hole.
 */
static int object_fd(const struct shmfs_shm *shm)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx",
		 (unsigned long)shm->addr,
		 (unsigned long)shm->addr + shm->size);
	fd = open(path, O_RDWR | O_CLOEXEC); /* RDWR: for fallocate */
	if (fd >= 0 && lseek(fd, 0, SEEK_END) != (off_t)shm->size) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static int anon_alloc(struct shmfs_shm *shm)
{
	void *p = mmap(NULL, shm->size, PROT_READ | PROT_WRITE,
		       MAP_ANONYMOUS | MAP_SHARED, -1, 0);
	if (p == MAP_FAILED) {
		int err = errno;
		shm_fail(shm, err, "mmap(MAP_ANON|MAP_SHARED, %zu) failed",
			 shm->size);
		return -err;
	}
	shm->addr = p;
	shm->fd = object_fd(shm);
	return 0;
}

static void unmap(struct shmfs_shm *shm)
{
	if (munmap(shm->addr, shm->size) < 0)
		shmfs_log_sys(LOG_ALERT, errno, "munmap(%p, %zu) failed",
			      shm->addr, shm->size);
}

static int devzero_alloc(struct shmfs_shm *shm)
{
	int fd = open("/dev/zero", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int err = errno;
		shm_fail(shm, err, "open(\"%s\") failed", "/dev/zero");
		return -err;
	}

	void *p = mmap(NULL, shm->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		       0);
	int err = errno;
	close(fd);
	if (p == MAP_FAILED) {
		shm_fail(shm, err, "mmap(/dev/zero, MAP_SHARED, %zu) failed",
			 shm->size);
		return -err;
	}
	shm->addr = p;
	shm->fd = object_fd(shm);
	return 0;
}

bool shmfs_shm_owner_trusted(const struct shmfs_shm *shm, uid_t uid)
{
	return uid == 0 || uid == geteuid() || uid == shm->uid ||
	       (shm->object_owner != 0 && uid == shm->object_owner);
}

/* The segment's key: the number given, or ftok's from a path. */
static int sysv_key(const struct shmfs_shm *shm, key_t *key)
{
	if (shm->proj == 0) {
		*key = shm->key;
		return 0;
	}
	*key = ftok(shm->object, shm->proj);
	if (*key == (key_t)-1) {
		int err = errno;
		shm_fail(shm, err, "ftok(\"%s\", %d) failed", shm->object,
			 shm->proj);
		return -err;
	}
	return 0;
}

/*
 * An existing object of found bytes: it must have some, and as many as the
 * zone asks for when it names a size (nothing is grown or cut behind the
 * back of the programs that map it).
 */
static int check_size(const struct shmfs_shm *shm, const char *what,
		      uint64_t found)
{
	if (found == 0) {
		shm_fail(shm, EINVAL, "%s is empty", what);
		return -EINVAL;
	}
	if (shm->size != 0 && found != shm->size) {
		shm_fail(shm, EINVAL,
			 "%s is %" PRIu64 " bytes, the zone's size is %zu "
			 "(leave size out to take the object's)",
			 what, found, shm->size);
		return -EINVAL;
	}
	return 0;
}

/* The existing segment with key: its id and state; -ENOENT if none. */
static int sysv_find(const struct shmfs_shm *shm, key_t key, const char *what,
		     int *id, struct shmid_ds *ds)
{
	*id = shmget(key, 0, 0);
	if (*id < 0 && errno != ENOENT) {
		int err = errno;
		shm_fail(shm, err, "shmget(%s) failed", what);
		return -err;
	}
	if (*id < 0)
		return -ENOENT;
	if (shmctl(*id, IPC_STAT, ds) < 0) {
		int err = errno;
		shm_fail(shm, err, "shmctl(IPC_STAT) of %s failed", what);
		return -err;
	}
	return 0;
}

/*
 * A segment is its owner's and its creator's: the creator keeps the
 * owner's rights (IPC_SET, IPC_RMID, the owner's mode bits) after handing
 * the segment to root with IPC_SET, so both must be trusted.
 */
static int sysv_trust(const struct shmfs_shm *shm, const char *what,
		      const struct shmid_ds *ds)
{
	uid_t bad = !shmfs_shm_owner_trusted(shm, ds->shm_perm.uid)
			    ? ds->shm_perm.uid
			    : ds->shm_perm.cuid;

	if (shmfs_shm_owner_trusted(shm, ds->shm_perm.uid) &&
	    shmfs_shm_owner_trusted(shm, ds->shm_perm.cuid))
		return 0;
	shm_refuse(shm,
		   "%s (owner uid %u, creator uid %u, pid %d): %s uid %u "
		   "is " UNTRUSTED,
		   what, (unsigned)ds->shm_perm.uid,
		   (unsigned)ds->shm_perm.cuid, (int)ds->shm_cpid,
		   bad == ds->shm_perm.uid ? "owner" : "creator", (unsigned)bad,
		   (unsigned)bad);
	return -EPERM;
}

/* Without attach = yes a segment in the way is not ours to use. */
static int sysv_in_the_way(const struct shmfs_shm *shm, key_t key,
			   const char *what)
{
	struct shmid_ds ds;
	int id, err = sysv_find(shm, key, what, &id, &ds);

	if (err == -ENOENT) {
		shm_fail(shm, EEXIST,
			 "%s was there for shmget(IPC_EXCL) and is gone: "
			 "another program is using the key",
			 what);
		return -EEXIST;
	}
	if (err)
		return err;
	shm_refuse(shm,
		   "%s exists (owner uid %u, creator uid %u, pid %d): set "
		   "attach = yes to use it, or remove it (ipcrm -M %#x)",
		   what, (unsigned)ds.shm_perm.uid, (unsigned)ds.shm_perm.cuid,
		   (int)ds.shm_cpid, (unsigned)key);
	return -EEXIST;
}

static void sysv_what(const struct shmfs_shm *shm, key_t key, char *buf,
		      size_t len)
{
	if (shm->proj)
		snprintf(buf, len, "the segment with key %#x (%s:%d)",
			 (unsigned)key, shm->object, shm->proj);
	else
		snprintf(buf, len, "the segment with key %#x", (unsigned)key);
}

/*
 * A keyed segment. Without attach = yes, a new one of the zone's size,
 * given the zone's owner and mode and removed at free unless kept: one
 * that exists already is an error (another user may have made it first,
 * to read what the zone's users write). With attach = yes, the one with
 * the key, which must exist and be a trusted user's.
 */
static int sysv_open(struct shmfs_shm *shm, key_t key, bool probe)
{
	char what[PATH_MAX + 64];
	struct shmid_ds ds;
	int err, id = -1;

	sysv_what(shm, key, what, sizeof(what));
	if (!shm->attach && shm->size == 0) {
		shm_refuse(shm, "no size to create %s (or attach = yes)", what);
		return -EINVAL;
	}
	if (!shm->attach && probe) {
		err = sysv_find(shm, key, what, &id, &ds);
		if (err == -ENOENT)
			return 0; /* it will be created */
		return err ? err : sysv_in_the_way(shm, key, what);
	}
	if (!shm->attach) {
		id = shmget(key, shm->size,
			    IPC_CREAT | IPC_EXCL | (shm->mode & 0777));
		if (id < 0 && errno == EEXIST)
			return sysv_in_the_way(shm, key, what);
		if (id < 0) {
			err = errno;
			shm_fail(shm, err, "shmget(%s, %zu) failed", what,
				 shm->size);
			return -err;
		}
		shm->created = true;
		if (shmctl(id, IPC_STAT, &ds) == 0) {
			ds.shm_perm.uid = shm->uid;
			ds.shm_perm.gid = shm->gid;
			ds.shm_perm.mode = shm->mode & 0777;
			if (shmctl(id, IPC_SET, &ds) < 0)
				shmfs_log_sys(LOG_WARNING, errno,
					      "shmctl(IPC_SET) of %s failed",
					      what);
		}
		shm->id = id;
		return 0;
	}
	err = sysv_find(shm, key, what, &id, &ds);
	if (err == -ENOENT)
		shm_fail(shm, ENOENT, "no %s (attach = yes)", what);
	if (err == 0)
		err = sysv_trust(shm, what, &ds);
	if (err == 0)
		err = check_size(shm, what, ds.shm_segsz);
	if (err)
		return err;
	shm->size = ds.shm_segsz;
	if (!probe)
		shm->id = id;
	return 0;
}

static int sysv_alloc(struct shmfs_shm *shm)
{
	key_t key = IPC_PRIVATE;
	int err = sysv_key(shm, &key);

	if (err)
		return err;
	if (key != IPC_PRIVATE) {
		err = sysv_open(shm, key, false);
		if (err)
			return err;
	} else {
		shm->id = shmget(IPC_PRIVATE, shm->size, IPC_CREAT | 0600);
		if (shm->id < 0) {
			err = errno;
			shm_fail(shm, err, "shmget(%zu) failed", shm->size);
			return -err;
		}
	}

	void *p = shmat(shm->id, NULL, 0);
	err = errno;

	/*
	 * A keyless segment is marked for removal at once: it lives while
	 * attached and vanishes with the last detach, even after kill -9.
	 */
	if ((key == IPC_PRIVATE || (p == (void *)-1 && shm->created)) &&
	    shmctl(shm->id, IPC_RMID, NULL) < 0)
		shmfs_log_sys(LOG_ALERT, errno, "shmctl(IPC_RMID, %d) failed",
			      shm->id);
	if (p == (void *)-1) {
		shm_fail(shm, err, "shmat(%d, %zu) failed", shm->id, shm->size);
		return -err;
	}
	if (key == IPC_PRIVATE)
		shm->created = false; /* nothing left to remove */
	shm->addr = p;
	return 0;
}

static void sysv_free(struct shmfs_shm *shm)
{
	if (shmdt(shm->addr) < 0)
		shmfs_log_sys(LOG_ALERT, errno, "shmdt(%p) failed", shm->addr);
	if (shm->created && !shm->keep && shmctl(shm->id, IPC_RMID, NULL) < 0)
		shmfs_log_sys(LOG_ALERT, errno, "shmctl(IPC_RMID, %d) failed",
			      shm->id);
}

/* Maps the whole of fd, shared; on success the zone owns fd. */
static int map_fd(struct shmfs_shm *shm, int fd, const char *what)
{
	void *p = mmap(NULL, shm->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		       0);

	if (p == MAP_FAILED) {
		int err = errno;
		shm_fail(shm, err, "mmap(%s, MAP_SHARED, %zu) failed", what,
			 shm->size);
		return -err;
	}
	shm->addr = p;
	shm->fd = fd;
	return 0;
}

/*
 * A new object (posix or file) takes the zone's owner and mode (the mode
 * again after the umask) and the zone's size.
 */
static int init_created(struct shmfs_shm *shm, int fd, const char *what)
{
	if (fchown(fd, shm->uid, shm->gid) < 0 ||
	    fchmod(fd, shm->mode & 07777) < 0 || ftruncate(fd, shm->size) < 0) {
		int err = errno;
		shm_fail(shm, err, "setting up %s failed", what);
		return -err;
	}
	return 0;
}

/*
 * An existing object's descriptor: a regular file with one link (another
 * link could be to a file elsewhere), a trusted user's, of the right size.
 */
static int check_existing(struct shmfs_shm *shm, int fd, const char *what)
{
	struct stat st;
	int err;

	if (fstat(fd, &st) < 0) {
		err = errno;
		shm_fail(shm, err, "fstat(%s) failed", what);
		return -err;
	}
	if (!S_ISREG(st.st_mode)) {
		shm_fail(shm, EINVAL, "%s is not a regular file", what);
		return -EINVAL;
	}
	if (st.st_nlink > 1) {
		shm_refuse(shm, "%s has another hard link (refused)", what);
		return -EMLINK;
	}
	if (!shmfs_shm_owner_trusted(shm, st.st_uid)) {
		shm_refuse(shm, "%s is owned by uid %u: " UNTRUSTED, what,
			   (unsigned)st.st_uid, (unsigned)st.st_uid);
		return -EPERM;
	}
	err = check_size(shm, what, (uint64_t)st.st_size);
	if (err)
		return err;
	shm->size = (size_t)st.st_size;
	return 0;
}

/*
 * The rest of opening a posix object or a file on fd: a new one gets the
 * zone's owner, mode and size, an existing one is checked; then it is
 * mapped, unless only probed. On failure (or after a probe) fd is closed
 * and what was created is removed again.
 */
static int map_object(struct shmfs_shm *shm, int fd, const char *what,
		      bool probe, int (*drop)(const char *))
{
	int err = shm->created ? init_created(shm, fd, what)
			       : check_existing(shm, fd, what);

	if (err == 0 && !probe)
		err = map_fd(shm, fd, what);
	if (err || probe) {
		close(fd);
		if (shm->created)
			drop(shm->object);
		shm->created = false;
	}
	return err;
}

/*
 * A posix object: shm_open, so /dev/shm/NAME. Created with O_EXCL unless
 * attach = yes: an object of that name left by another program (or a
 * daemon killed with -9) is an error, never silently shared.
 */
static int posix_open(struct shmfs_shm *shm, bool probe)
{
	char what[PATH_MAX + 32];
	int fd, err;

	snprintf(what, sizeof(what), "posix object %s", shm->object);
	if (probe) {
		fd = shm_open(shm->object, O_RDONLY, 0);
		if (fd < 0 && errno == ENOENT && !shm->attach)
			return 0;
		if (fd >= 0 && !shm->attach) {
			close(fd);
			shm_fail(shm, EEXIST,
				 "%s exists (/dev/shm%s): set attach = yes "
				 "to use it, or remove it",
				 what, shm->object);
			return -EEXIST;
		}
	} else {
		fd = shm_open(shm->object,
			      shm->attach ? O_RDWR : O_RDWR | O_CREAT | O_EXCL,
			      shm->mode & 0777);
		shm->created = fd >= 0 && !shm->attach;
	}
	if (fd < 0) {
		err = errno;
		if (err == EEXIST)
			shm_fail(shm, err,
				 "%s exists (/dev/shm%s): set attach = yes "
				 "to use it, or remove it",
				 what, shm->object);
		else
			shm_fail(shm, err, "shm_open(\"%s\") failed%s",
				 shm->object,
				 err == ENOENT ? " (attach = yes)" : "");
		return -err;
	}
	return map_object(shm, fd, what, probe, shm_unlink);
}

static int posix_alloc(struct shmfs_shm *shm)
{
	return posix_open(shm, false);
}

static void posix_free(struct shmfs_shm *shm)
{
	unmap(shm);
	if (shm->created && !shm->keep && shm_unlink(shm->object) < 0)
		shmfs_log_sys(LOG_ALERT, errno, "shm_unlink(\"%s\") failed",
			      shm->object);
}

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
	close(dir);
	if (fd == -ENOENT && shm->size != 0 && probe)
		return 0;
	if (fd < 0)
		return file_failed(shm, fd, NULL);
	return map_object(shm, fd, what, probe, unlink);
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
 * The file was unlinked (or moved away) behind the daemon: its bytes go
 * into a new file next to the path, which then takes the old mapping's
 * place (mremap over the same address, so every pointer stays valid) and
 * is renamed to the path. Owner and mode are the old file's.
 */
static int restore(struct shmfs_shm *shm, int dir, const char *name,
		   const struct stat *old)
{
	char tmp[NAME_MAX + 1];
	void *p = MAP_FAILED;
	int fd, err;

	snprintf(tmp, sizeof(tmp), ".%.200s.shmfs-restore", name);
	unlinkat(dir, tmp, 0); /* a restore that died: the directory is ours */
	fd = shmfs_file_openat(dir, tmp, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0) {
		shm_fail(shm, -fd,
			 "file %s is gone: creating %s next to it "
			 "failed",
			 shm->object, tmp);
		return fd;
	}
	err = fchown(fd, old->st_uid, old->st_gid) < 0 ||
			      fchmod(fd, old->st_mode & 07777) < 0 ||
			      ftruncate(fd, (off_t)shm->size) < 0
		      ? -errno
		      : copy_data(shm, fd);
	if (err == 0 && fsync(fd) < 0)
		err = -errno;
	if (err == 0) {
		p = mmap(NULL, shm->size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 fd, 0);
		if (p == MAP_FAILED || mremap(p, shm->size, shm->size,
					      MREMAP_MAYMOVE | MREMAP_FIXED,
					      shm->addr) == MAP_FAILED)
			err = -errno;
	}
	if (err) {
		shm_fail(shm, -err,
			 "file %s is gone: writing its bytes back "
			 "failed (the zone serves the old inode)",
			 shm->object);
		if (p != MAP_FAILED)
			munmap(p, shm->size);
		unlinkat(dir, tmp, 0);
		close(fd);
		return err;
	}
	close(shm->fd);
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

int shmfs_shm_file_check(struct shmfs_shm *shm, bool stopping)
{
	struct shmfs_file_why why;
	struct stat mine, now;
	const char *name;
	int dir, err;

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
	if (fstatat(dir, name, &now, AT_SYMLINK_NOFOLLOW) == 0) {
		close(dir);
		if (now.st_dev == mine.st_dev && now.st_ino == mine.st_ino)
			return SHMFS_SHM_FILE_SAME;
		shm_refuse(
			shm,
			"file %s was replaced behind the daemon (inode %llu, "
			"now %llu): %s",
			shm->object, (unsigned long long)mine.st_ino,
			(unsigned long long)now.st_ino,
			!stopping	? "the reload maps the new file, and "
					  "copies nothing of the old one's"
			: mine.st_nlink ? "left as it is; the zone's bytes "
					  "stay in the old inode"
					: "left as it is; the zone's bytes "
					  "go with the old inode, deleted");
		return SHMFS_SHM_FILE_REPLACED;
	}
	err = errno;
	if (err != ENOENT) {
		close(dir);
		shm_fail(shm, err, "stat of file %s failed", shm->object);
		return SHMFS_SHM_FILE_FAILED;
	}
	err = restore(shm, dir, name, &mine);
	close(dir);
	if (err)
		return SHMFS_SHM_FILE_FAILED;
	shmfs_log_notice("zone \"%s\": file %s was %s behind the daemon "
			 "(inode %llu): its bytes are back at its path (inode "
			 "%llu), which the zone now maps",
			 shm->label ? shm->label : "?", shm->object,
			 mine.st_nlink ? "moved away" : "deleted",
			 (unsigned long long)mine.st_ino,
			 (unsigned long long)file_ino(shm));
	return SHMFS_SHM_FILE_RESTORED;
}

static int file_alloc(struct shmfs_shm *shm)
{
	return file_open(shm, false);
}

/* A clean stop writes every dirty page back before the mapping goes. */
static void file_free(struct shmfs_shm *shm)
{
	if (msync(shm->addr, shm->size, MS_SYNC) < 0)
		shmfs_log_sys(LOG_ALERT, errno, "msync of file %s failed",
			      shm->object);
	unmap(shm);
}

/*
 * A memfd can be sealed: F_SEAL_GROW makes a write past the end fail (EPERM)
 * even when the kernel writes it for a client (passthrough), where the
 * daemon never sees the write to refuse it.
 */
static int memfd_alloc(struct shmfs_shm *shm)
{
	char name[MFD_NAME_MAX];
	int fd, err;

	snprintf(name, sizeof(name), "shmfs:%s",
		 shm->label ? shm->label : "zone");
	fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0) {
		err = errno;
		shm_fail(shm, err, "memfd_create(\"%s\") failed", name);
		return -err;
	}
	if (ftruncate(fd, shm->size) < 0) {
		err = errno;
		shm_fail(shm, err, "ftruncate(memfd, %zu) failed", shm->size);
		goto fail;
	}
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) <
	    0) {
		err = errno;
		shm_fail(shm, err, "fcntl(memfd, F_ADD_SEALS) failed%s", "");
		goto fail;
	}
	void *p = mmap(NULL, shm->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		       0);
	if (p == MAP_FAILED) {
		err = errno;
		shm_fail(shm, err, "mmap(memfd, MAP_SHARED, %zu) failed",
			 shm->size);
		goto fail;
	}
	shm->addr = p;
	shm->fd = fd;
	return 0;
fail:
	close(fd);
	return -err;
}

static const struct backend backends[SHMFS_BACKEND_COUNT] = {
	[SHMFS_BACKEND_ANON] = {"anon", anon_alloc, unmap},
	[SHMFS_BACKEND_DEVZERO] = {"devzero", devzero_alloc, unmap},
	[SHMFS_BACKEND_SYSV] = {"sysv", sysv_alloc, sysv_free},
	[SHMFS_BACKEND_MEMFD] = {"memfd", memfd_alloc, unmap},
	[SHMFS_BACKEND_POSIX] = {"posix", posix_alloc, posix_free},
	[SHMFS_BACKEND_FILE] = {"file", file_alloc, file_free},
};

const char *shmfs_shm_backend_name(enum shmfs_backend backend)
{
	return backend < SHMFS_BACKEND_COUNT ? backends[backend].name : "?";
}

int shmfs_shm_backend_parse(const char *name, enum shmfs_backend *backend)
{
	for (int i = 0; i < SHMFS_BACKEND_COUNT; i++) {
		if (strcmp(name, backends[i].name) == 0) {
			*backend = i;
			return 0;
		}
	}
	return -EINVAL;
}

bool shmfs_shm_shared(const struct shmfs_shm *shm)
{
	return shm->backend == SHMFS_BACKEND_POSIX ||
	       shm->backend == SHMFS_BACKEND_FILE ||
	       (shm->backend == SHMFS_BACKEND_SYSV &&
		(shm->key != IPC_PRIVATE || shm->proj != 0));
}

int shmfs_shm_alloc(struct shmfs_shm *shm)
{
	shm->fd = -1;
	shm->created = false;
	if (shm->backend >= SHMFS_BACKEND_COUNT ||
	    (shm->size == 0 && !shmfs_shm_shared(shm)))
		return -EINVAL;
	return backends[shm->backend].alloc(shm);
}

int shmfs_shm_probe(struct shmfs_shm *shm)
{
	key_t key;
	int err;

	shm->created = false;
	switch (shm->backend) {
	case SHMFS_BACKEND_POSIX:
		return posix_open(shm, true);
	case SHMFS_BACKEND_FILE:
		return file_open(shm, true);
	case SHMFS_BACKEND_SYSV:
		err = sysv_key(shm, &key);
		if (err || key == IPC_PRIVATE)
			return err;
		return sysv_open(shm, key, true);
	default:
		return 0;
	}
}

void shmfs_shm_describe(const struct shmfs_shm *shm, char *buf, size_t len)
{
	int n = 0;

	if (!shmfs_shm_shared(shm))
		n = snprintf(buf, len, "-");
	else if (shm->backend == SHMFS_BACKEND_SYSV && shm->proj)
		n = snprintf(buf, len, "key %s:%d", shm->object, shm->proj);
	else if (shm->backend == SHMFS_BACKEND_SYSV)
		n = snprintf(buf, len, "key %#x", (unsigned)shm->key);
	else
		n = snprintf(buf, len, "%s", shm->object);
	if (n >= 0 && (size_t)n < len && shm->attach)
		n += snprintf(buf + n, len - n, " attach");
	if (n >= 0 && (size_t)n < len && shm->keep)
		n += snprintf(buf + n, len - n, " keep");
	if (n >= 0 && (size_t)n < len && shm->object_owner != 0)
		snprintf(buf + n, len - n, " object_owner %u",
			 (unsigned)shm->object_owner);
}

void shmfs_shm_free(struct shmfs_shm *shm)
{
	if (shm->addr == NULL)
		return;
	backends[shm->backend].free(shm);
	shm->addr = NULL;
	if (shm->fd >= 0 && close(shm->fd) < 0)
		shmfs_log_sys(LOG_ALERT, errno,
			      "close(%d) of a zone's file failed", shm->fd);
	shm->fd = -1;
}

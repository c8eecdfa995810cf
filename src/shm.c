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

/* The existing segment with key, its id and size; -ENOENT if none. */
static int sysv_find(const struct shmfs_shm *shm, key_t key, const char *what,
		     int *id, uint64_t *size)
{
	struct shmid_ds ds;

	*id = shmget(key, 0, 0);
	if (*id < 0 && errno != ENOENT) {
		int err = errno;
		shm_fail(shm, err, "shmget(%s) failed", what);
		return -err;
	}
	if (*id < 0)
		return -ENOENT;
	if (shmctl(*id, IPC_STAT, &ds) < 0) {
		int err = errno;
		shm_fail(shm, err, "shmctl(IPC_STAT) of %s failed", what);
		return -err;
	}
	*size = ds.shm_segsz;
	return 0;
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
 * A keyed segment: the one with the key if it exists (attach = yes: it
 * must), else a new one of the zone's size, given the zone's owner and
 * mode, and removed at free unless kept.
 */
static int sysv_open(struct shmfs_shm *shm, key_t key, bool probe)
{
	char what[PATH_MAX + 64];
	uint64_t size = 0;
	int err, id = -1;

	sysv_what(shm, key, what, sizeof(what));
	if (!shm->attach && shm->size != 0 && !probe) {
		id = shmget(key, shm->size,
			    IPC_CREAT | IPC_EXCL | (shm->mode & 0777));
		if (id < 0 && errno != EEXIST) {
			err = errno;
			shm_fail(shm, err, "shmget(%s, %zu) failed", what,
				 shm->size);
			return -err;
		}
		shm->created = id >= 0;
		size = shm->size;
	}
	if (id < 0) {
		err = sysv_find(shm, key, what, &id, &size);
		if (err == -ENOENT && probe && !shm->attach && shm->size != 0)
			return 0; /* it will be created */
		if (err == -ENOENT) {
			shm_fail(shm, ENOENT, "no %s (%s)", what,
				 shm->attach ? "attach = yes"
					     : "and no size to create it");
			return err;
		}
		if (err == 0)
			err = check_size(shm, what, size);
		if (err)
			return err;
	}
	if (probe) {
		shm->size = size;
		return 0;
	}
	if (shm->created) {
		struct shmid_ds ds;

		if (shmctl(id, IPC_STAT, &ds) == 0) {
			ds.shm_perm.uid = shm->uid;
			ds.shm_perm.gid = shm->gid;
			ds.shm_perm.mode = shm->mode & 0777;
			if (shmctl(id, IPC_SET, &ds) < 0)
				shmfs_log_sys(LOG_WARNING, errno,
					      "shmctl(IPC_SET) of %s failed",
					      what);
		}
	}
	shm->id = id;
	shm->size = size;
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

/* An existing object's descriptor: a regular file of the right size. */
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

/*
 * A regular file, mapped shared: its bytes are the file's, so they outlive
 * the daemon. A missing one is created at the zone's size; an existing one
 * keeps its bytes. Blocks are allocated as pages are written, as for any
 * file mapping.
 */
static int file_open(struct shmfs_shm *shm, bool probe)
{
	char what[PATH_MAX + 16];
	int fd, err;

	snprintf(what, sizeof(what), "file %s", shm->object);
	fd = open(shm->object,
		  (probe ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 && errno == ENOENT && shm->size != 0 && !probe) {
		fd = open(shm->object,
			  O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY,
			  shm->mode & 0777);
		shm->created = fd >= 0;
	}
	if (fd < 0 && errno == ENOENT && shm->size != 0 && probe)
		return 0;
	if (fd < 0) {
		err = errno;
		shm_fail(shm, err, "open(\"%s\") failed%s", shm->object,
			 err == ENOENT && shm->size == 0
				 ? " (and no size to create it)"
				 : "");
		return -err;
	}
	return map_object(shm, fd, what, probe, unlink);
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
		snprintf(buf + n, len - n, " keep");
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

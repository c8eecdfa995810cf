/* SPDX-License-Identifier: MIT */
/*
 * The shared objects other programs map too, posix objects and sysv
 * segments (and a keyless segment, which nobody else can reach), and what
 * they have in common with a file zone (shm_file.c): an object that exists
 * is used only if a trusted user's and of the zone's size, one that shmfs
 * creates takes the zone's owner, mode and size, and one created with
 * attach = no must not exist yet (a program that made it first could read
 * what the zone's users write), unless this daemon made it in a run that
 * died before removing it (shm_leftover.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shm_backend.h"

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

/*
 * Without attach = yes a segment in the way is not ours to use, unless a
 * previous run of the daemon left it (shm_leftover.c): then 0, with its
 * id, for the caller to adopt.
 */
static int sysv_in_the_way(const struct shmfs_shm *shm, key_t key,
			   const char *what, int *id)
{
	struct shmid_ds ds;
	int err = sysv_find(shm, key, what, id, &ds);

	if (err == -ENOENT) {
		shm_fail(shm, EEXIST,
			 "%s was there for shmget(IPC_EXCL) and is gone: "
			 "another program is using the key",
			 what);
		return -EEXIST;
	}
	if (err)
		return err;
	err = shmfs_shm_sysv_leftover(shm, key, what, &ds);
	if (err == 0)
		err = sysv_trust(shm, what, &ds);
	if (err != -EEXIST)
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
 * A new segment with key, of the zone's size: handed to the zone's owner
 * with its mode (shmget gives it to the daemon), removed at free unless
 * kept. Or a previous run's leftover, to be adopted (shm->adopted).
 */
static int sysv_create(struct shmfs_shm *shm, key_t key, const char *what)
{
	struct shmid_ds ds;
	int id, err;

	id = shmget(key, shm->size, IPC_CREAT | IPC_EXCL | (shm->mode & 0777));
	if (id < 0 && errno == EEXIST) {
		err = sysv_in_the_way(shm, key, what, &shm->id);
		shm->adopted = err == 0; /* created once attached alone */
		return err;
	}
	if (id < 0) {
		err = errno;
		shm_fail(shm, err, "shmget(%s, %zu) failed", what, shm->size);
		return -err;
	}
	shm->created = true;
	shm->id = id;
	if (shmctl(id, IPC_STAT, &ds) < 0) {
		shmfs_log_sys(LOG_WARNING, errno,
			      "shmctl(IPC_STAT) of %s failed", what);
		return 0;
	}
	ds.shm_perm.uid = shm->uid;
	ds.shm_perm.gid = shm->gid;
	ds.shm_perm.mode = shm->mode & 0777;
	if (shmctl(id, IPC_SET, &ds) < 0)
		shmfs_log_sys(LOG_WARNING, errno,
			      "shmctl(IPC_SET) of %s failed", what);
	return 0;
}

/*
 * A keyed segment. Without attach = yes, a new one of the zone's size,
 * given the zone's owner and mode and removed at free unless kept: one
 * that exists already is an error (another user may have made it first,
 * to read what the zone's users write), unless a previous run left it. With
 * attach = yes, the one with the key, which must exist and be a trusted user's.
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
		if (err == 0)
			err = sysv_in_the_way(shm, key, what, &id);
		if (err == 0)
			shmfs_shm_adopted(shm, what, true);
		return err;
	}
	if (!shm->attach)
		return sysv_create(shm, key, what);
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

/*
 * A leftover, now attached, is ours if no one else attached it between
 * its check and ours (another daemon adopting it at the same time): the
 * segment must have this one attach only. Then it counts as created.
 */
static int sysv_adopt(struct shmfs_shm *shm, key_t key)
{
	char what[PATH_MAX + 64];
	struct shmid_ds ds;

	sysv_what(shm, key, what, sizeof(what));
	if (shmctl(shm->id, IPC_STAT, &ds) == 0 && ds.shm_nattch == 1) {
		shm->created = true;
		shmfs_shm_adopted(shm, what, false);
		return 0;
	}
	shm_refuse(shm, "%s was attached by another process as it was adopted",
		   what);
	if (shmdt(shm->addr) < 0)
		shmfs_log_sys(LOG_ALERT, errno, "shmdt(%p) failed", shm->addr);
	shm->addr = NULL;
	shm->adopted = false;
	return -EBUSY;
}

int shmfs_shm_sysv_alloc(struct shmfs_shm *shm)
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

	struct shm_place pl;
	void *p = (void *)-1;

	err = -shmfs_shm_place(shm, shm->size, &pl);
	if (err == 0) {
		p = shmat(shm->id, pl.at, pl.at ? SHM_REMAP : 0);
		err = errno;
		shmfs_shm_placed(&pl, p == (void *)-1 ? MAP_FAILED : p,
				 shm->size);
	}

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
	return shm->adopted ? sysv_adopt(shm, key) : 0;
}

void shmfs_shm_sysv_free(struct shmfs_shm *shm)
{
	if (shm->mapped) /* a restart mapped it from its file */
		shmfs_shm_unmap(shm);
	else if (shmdt(shm->addr) < 0)
		shmfs_log_sys(LOG_ALERT, errno, "shmdt(%p) failed", shm->addr);
	if (shm->created && !shm->keep && shmctl(shm->id, IPC_RMID, NULL) < 0)
		shmfs_log_sys(LOG_ALERT, errno, "shmctl(IPC_RMID, %d) failed",
			      shm->id);
}

int shmfs_shm_sysv_probe(struct shmfs_shm *shm)
{
	key_t key;
	int err = sysv_key(shm, &key);

	if (err || key == IPC_PRIVATE)
		return err;
	return sysv_open(shm, key, true);
}

/* Maps the whole of fd, shared; on success the zone owns fd. */
static int map_fd(struct shmfs_shm *shm, int fd, const char *what)
{
	struct shm_place pl;
	int err = shmfs_shm_place(shm, shm->size, &pl);
	if (err)
		return err;

	void *p = mmap(pl.at, shm->size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | shm_place_flags(&pl), fd, 0);
	err = errno;
	shmfs_shm_placed(&pl, p, shm->size);
	if (p == MAP_FAILED) {
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

/* See shm_backend.h; drop is shm_unlink or unlink. */
int shmfs_shm_map_object(struct shmfs_shm *shm, int fd, const char *what,
			 bool probe, int (*drop)(const char *))
{
	int err = shm->created ? init_created(shm, fd, what)
			       : check_existing(shm, fd, what);

	if (err == 0 && !probe)
		err = map_fd(shm, fd, what);
	if (err || probe) {
		shmfs_shm_close(shm, fd, what);
		if (shm->created && drop(shm->object) < 0)
			shm_fail(shm, errno, "removing %s again failed", what);
		shm->created = false;
	}
	return err;
}

/*
 * The object in the way of an O_EXCL create (or a probe's), open at fd:
 * a previous run's leftover is adopted with its bytes, anything else
 * refused (shmfs_shm_posix_leftover).
 */
static int posix_leftover(struct shmfs_shm *shm, int fd, const char *what,
			  bool probe)
{
	int err = shmfs_shm_posix_leftover(shm, fd, what, probe);

	if (err) {
		shmfs_shm_close(shm, fd, what);
		return err;
	}
	err = shmfs_shm_map_object(shm, fd, what, probe, shm_unlink);
	if (err == 0 && !probe)
		shm->created = shm->adopted = true;
	if (err == 0)
		shmfs_shm_adopted(shm, what, probe);
	return err;
}

/*
 * A posix object: shm_open, so /dev/shm/NAME. Created with O_EXCL unless
 * attach = yes, then marked and locked as shmfs's: an object of that
 * name left by another program is an error, never silently shared; one
 * this daemon left after kill -9 is adopted.
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
		if (fd >= 0 && !shm->attach)
			return posix_leftover(shm, fd, what, true);
	} else if (shm->attach) {
		fd = shm_open(shm->object, O_RDWR, 0);
	} else {
		fd = shm_open(shm->object, O_RDWR | O_CREAT | O_EXCL,
			      shm->mode & 0777);
		shm->created = fd >= 0;
		if (fd >= 0)
			shmfs_shm_posix_claim(shm, fd, what);
		else if (errno == EEXIST)
			fd = shm_open(shm->object, O_RDWR, 0);
		if (fd >= 0 && !shm->created)
			return posix_leftover(shm, fd, what, false);
	}
	if (fd < 0) {
		err = errno;
		shm_fail(shm, err, "shm_open(\"%s\") failed%s", shm->object,
			 err == ENOENT && shm->attach ? " (attach = yes)" : "");
		return -err;
	}
	return shmfs_shm_map_object(shm, fd, what, probe, shm_unlink);
}

int shmfs_shm_posix_alloc(struct shmfs_shm *shm)
{
	return posix_open(shm, false);
}

int shmfs_shm_posix_probe(struct shmfs_shm *shm)
{
	return posix_open(shm, true);
}

void shmfs_shm_posix_free(struct shmfs_shm *shm)
{
	shmfs_shm_unmap(shm);
	if (shm->created && !shm->keep && shm_unlink(shm->object) < 0)
		shmfs_log_sys(LOG_ALERT, errno, "shm_unlink(\"%s\") failed",
			      shm->object);
}

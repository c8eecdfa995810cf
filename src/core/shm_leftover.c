/* SPDX-License-Identifier: MIT */
/*
 * Crash leftovers: a posix object or keyed sysv segment that a previous
 * run of this daemon created and never got to remove (kill -9, the OOM
 * killer) is told from everyone else's object of that name, so that the
 * next start adopts it with its bytes instead of refusing it as in the
 * way, and a live daemon's object is never taken over.
 *
 * A posix object carries two things from its creation on:
 * - a mark, the xattr trusted.shmfs when the daemon runs as root (only
 *   CAP_SYS_ADMIN can set a trusted.* attribute, so no other program
 *   can make its object look like shmfs's), user.shmfs otherwise (the
 *   daemon's objects are then its own user's; an attribute of that
 *   namespace needs write permission on the object, which only its
 *   trusted users have). An application's object of the same name has
 *   none: it stays an error.
 * - a lock, an OFD write lock on one byte far past any size
 *   (LOCK_BYTE), held by the descriptor the zone keeps open: the master
 *   and its workers share it and the kernel drops it when the last of
 *   them dies. A locked object is a live daemon's (or one whose
 *   descriptor a service manager's store still holds): refused. An OFD
 *   lock rather than flock, and one byte rather than the file, so that
 *   programs locking the object's bytes among themselves are not
 *   disturbed.
 * A sysv segment can carry no mark, so it must look exactly as shmfs
 * leaves one it creates: created by the daemon's effective uid (cuid
 * cannot be changed by IPC_SET), handed to the zone's uid and gid with
 * the zone's mode, no process attached (a live daemon keeps it attached;
 * so does any program using it), and its creator no longer running.
 * What is not a leftover is refused with the message of an object in
 * the way, and the hardening checks (a trusted owner, one link, a
 * regular file) still run on every leftover.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "shm_backend.h"

#define MARK_VALUE "shmfs"
#define LOCK_BYTE (INT64_MAX - 1)

static const char *mark_name(void)
{
	return geteuid() == 0 ? "trusted.shmfs" : "user.shmfs";
}

/* One byte at LOCK_BYTE, for F_OFD_SETLK and F_OFD_GETLK. */
static struct flock lock_byte(short type)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	fl.l_start = LOCK_BYTE;
	fl.l_len = 1;
	return fl;
}

void shmfs_shm_posix_claim(const struct shmfs_shm *shm, int fd,
			   const char *what)
{
	struct flock fl = lock_byte(F_WRLCK);

	/* The lock first: a marked object is always locked while it lives. */
	if (fcntl(fd, F_OFD_SETLK, &fl) < 0)
		shmfs_log_sys(LOG_WARNING, errno,
			      "%s%s%sfcntl(%s, F_OFD_SETLK) failed: another "
			      "shmfs could take it for a leftover",
			      shm->label ? "zone \"" : "",
			      shm->label ? shm->label : "",
			      shm->label ? "\": " : "", what);
	else if (fsetxattr(fd, mark_name(), MARK_VALUE, strlen(MARK_VALUE),
			   XATTR_CREATE) < 0)
		shmfs_log_sys(LOG_WARNING, errno,
			      "%s%s%sfsetxattr(%s, \"%s\") failed: left after "
			      "a crash, it will not be adopted",
			      shm->label ? "zone \"" : "",
			      shm->label ? shm->label : "",
			      shm->label ? "\": " : "", what, mark_name());
}

static bool posix_marked(int fd)
{
	char buf[sizeof(MARK_VALUE)];
	ssize_t n = fgetxattr(fd, mark_name(), buf, sizeof(buf));

	return n == (ssize_t)strlen(MARK_VALUE) &&
	       memcmp(buf, MARK_VALUE, (size_t)n) == 0;
}

/* Whether a live process holds the object's lock; probe only looks. */
static int posix_lock(int fd, bool probe)
{
	struct flock fl = lock_byte(F_WRLCK);

	if (probe) {
		if (fcntl(fd, F_OFD_GETLK, &fl) < 0)
			return -errno;
		return fl.l_type == F_UNLCK ? 0 : -EBUSY;
	}
	if (fcntl(fd, F_OFD_SETLK, &fl) < 0)
		return errno == EAGAIN || errno == EACCES ? -EBUSY : -errno;
	return 0;
}

int shmfs_shm_posix_leftover(struct shmfs_shm *shm, int fd, const char *what,
			     bool probe)
{
	struct stat st;
	int err;

	if (!posix_marked(fd)) {
		shm_fail(shm, EEXIST,
			 "%s exists (/dev/shm%s): set attach = yes to use it, "
			 "or remove it",
			 what, shm->object);
		return -EEXIST;
	}
	err = posix_lock(fd, probe);
	if (err == -EBUSY) {
		shm_refuse(shm,
			   "%s (/dev/shm%s) is in use by a running shmfs (it "
			   "holds its lock): stop that one first",
			   what, shm->object);
		return err;
	}
	if (err) {
		shm_fail(shm, -err, "fcntl(%s, F_OFD_SETLK) failed", what);
		return err;
	}
	if (fstat(fd, &st) < 0) {
		err = errno;
		shm_fail(shm, err, "fstat(%s) failed", what);
		return -err;
	}
	if (shm->size != 0 && (uint64_t)st.st_size != shm->size) {
		shm_refuse(shm,
			   "%s, left by a previous run, is %" PRIu64 " bytes, "
			   "the zone's size is %zu: set size = %" PRIu64
			   " to adopt it, or remove it (/dev/shm%s)",
			   what, (uint64_t)st.st_size, shm->size,
			   (uint64_t)st.st_size, shm->object);
		return -EINVAL;
	}
	return 0;
}

/* Whether pid names no running process (0 or less: unknown, so no). */
static bool pid_gone(pid_t pid)
{
	return pid > 0 && kill(pid, 0) < 0 && errno == ESRCH;
}

int shmfs_shm_sysv_leftover(const struct shmfs_shm *shm, key_t key,
			    const char *what, const struct shmid_ds *ds)
{
	const struct ipc_perm *p = &ds->shm_perm;
	bool as_left = p->cuid == geteuid() && p->uid == shm->uid &&
		       p->gid == shm->gid &&
		       (p->mode & 0777) == (shm->mode & 0777);

	if (as_left && ds->shm_nattch > 0) {
		shm_refuse(shm,
			   "%s is in use (%lu attached, creator pid %d): stop "
			   "what uses it, or set attach = yes to share it",
			   what, (unsigned long)ds->shm_nattch,
			   (int)ds->shm_cpid);
		return -EBUSY;
	}
	if (!as_left || !pid_gone(ds->shm_cpid))
		return -EEXIST;
	if (shm->size != 0 && ds->shm_segsz != shm->size) {
		shm_refuse(shm,
			   "%s, left by a previous run, is %zu bytes, the "
			   "zone's size is %zu: set size = %zu to adopt it, "
			   "or remove it (ipcrm -M %#x)",
			   what, (size_t)ds->shm_segsz, shm->size,
			   (size_t)ds->shm_segsz, (unsigned)key);
		return -EINVAL;
	}
	return 0;
}

void shmfs_shm_adopted(const struct shmfs_shm *shm, const char *what,
		       bool probe)
{
	shmfs_log(LOG_NOTICE, "%s%s%s%s left by a previous run: %s",
		  shm->label ? "zone \"" : "", shm->label ? shm->label : "",
		  shm->label ? "\": " : "", what,
		  probe ? "the start adopts it with its bytes"
			: "adopted with its bytes");
}

/* SPDX-License-Identifier: MIT */
/*
 * The service manager's file descriptor store: what must outlive the
 * master (the /dev/fuse session and its clones, the zones' memory, the
 * state record) is handed to systemd with FDSTORE=1 and a name
 * (sd_notify(3)), and comes back to the next master, or to this one after
 * a re-exec, as LISTEN_FDS/LISTEN_FDNAMES/LISTEN_PID (sd_listen_fds(3)).
 *
 * The protocol is spoken directly, as notify.c speaks sd_notify: both
 * halves are documented stable interfaces meant to be implemented without
 * libsystemd, what we need is one datagram per descriptor and three
 * environment variables, and libsystemd would be a new run-time dependency
 * of the daemon for it (a re-exec also sets LISTEN_* itself, which
 * libsystemd has no call for). Only the main process may store
 * (NotifyAccess=main), so only the master calls these, never a worker.
 */
#ifndef SHMFS_FDSTORE_H
#define SHMFS_FDSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * The longest name we store. systemd allows 255 bytes of printable ASCII
 * without ':' (the LISTEN_FDNAMES separator); ours are short ("fuse",
 * "state.3", "zone.17", "clone.5").
 */
#define SHMFS_FDNAME_MAX 63

/* A descriptor and the name it is stored under. */
struct shmfs_fdname {
	char name[SHMFS_FDNAME_MAX + 1];
	int fd;
};

/* A list of named descriptors; {0} is an empty list. */
struct shmfs_fdlist {
	struct shmfs_fdname *v;
	size_t n, cap;
};

/*
 * Appends fd under name. Returns 0; -EINVAL for fd < 0 or a name we do not
 * store (empty, longer than SHMFS_FDNAME_MAX, or holding a ':', which
 * systemd refuses, a space or a byte outside printable ASCII); -EEXIST if
 * the list has that name already (a store holds one fd per name here);
 * -ENOMEM. The list does not own fd; shmfs_fdlist_close closes it.
 */
int shmfs_fdlist_add(struct shmfs_fdlist *l, const char *name, int fd);

/* The fd stored under name, or -1. */
int shmfs_fdlist_find(const struct shmfs_fdlist *l, const char *name);

/*
 * The fd stored under name, removed from the list: the caller owns it now.
 * -1 if there is none. With several of that name (a LISTEN_FDNAMES may
 * repeat "unknown"), the first.
 */
int shmfs_fdlist_claim(struct shmfs_fdlist *l, const char *name);

/* Frees the list, leaves its fds open; l is empty after. */
void shmfs_fdlist_free(struct shmfs_fdlist *l);

/* Closes every fd left in the list, then frees it; l is empty after. */
void shmfs_fdlist_close(struct shmfs_fdlist *l);

/*
 * Takes what the manager (or a re-exec, see shmfs_fdstore_export) passed:
 * LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES are read, then unset, whatever
 * they held, so that no worker sees them. Only if LISTEN_PID is this
 * process's pid (a variable inherited from someone else's start is not
 * ours): each fd 3..3+N-1 gets FD_CLOEXEC and is appended to got (which
 * may hold entries already) under its name; a name that is missing, empty
 * or longer than ours becomes "unknown", as sd_listen_fds_with_names(3)
 * says. Returns the count taken (0: nothing was passed, or not to us), or
 * -errno, logged, with nothing taken and the fds left as they are, when
 * the variables are malformed: -EINVAL for a number that does not parse,
 * as many names as fds or not; -EBADF if one of the fds is not open;
 * -ENOMEM.
 */
int shmfs_fdstore_take(struct shmfs_fdlist *got);

/* One name the manager holds, and which file it is (see fdstore.c). */
struct shmfs_fdstore_held;

/*
 * What the manager holds for us: a name, a copy of the descriptor stored
 * under it (the store's own, close-on-exec), so that a sync tells "the
 * same open file" from "another file at the same fd number" (two opens of
 * /dev/fuse share a device inode; kcmp(2) tells them apart).
 */
struct shmfs_fdstore {
	bool on;     /* a manager listens: sync sends, else it does nothing */
	bool failed; /* a send failed already: later failures log at debug */
	struct shmfs_fdstore_held *held;
	size_t n, cap;
};

/* An empty store; on = shmfs_notify_on() (call shmfs_notify_init first). */
void shmfs_fdstore_init(struct shmfs_fdstore *s);

/*
 * Records that the manager holds got's descriptors already (what
 * shmfs_fdstore_take returned), before the caller claims or closes any of
 * them. Does nothing when !on. Returns 0 or -errno (-ENOMEM, or the
 * F_DUPFD_CLOEXEC failure, logged): the store then knows less than the
 * manager holds, and a sync removes nothing it does not know of.
 */
int shmfs_fdstore_seed(struct shmfs_fdstore *s, const struct shmfs_fdlist *got);

/*
 * Makes the manager hold exactly want (whose names are unique, as
 * shmfs_fdlist_add makes them), in this order:
 *   1. each name of want that is new, or whose fd is another open file
 *      than the one stored under it: if stored, "FDSTOREREMOVE=1\nFDNAME=n"
 *      first (systemd would otherwise keep both under one name), then
 *      "FDSTORE=1\nFDNAME=n" with the fd attached. One message per fd:
 *      FDNAME names every fd of its message.
 *   2. each stored name not in want: "FDSTOREREMOVE=1\nFDNAME=n".
 * New names go in before gone ones leave, so a master that dies in between
 * leaves both (store state.N+1, then drop state.N); a name whose file
 * changes is absent from the store between its two messages. FDPOLL=0 is
 * never sent: systemd closes a stored fd that reports POLLHUP or POLLERR,
 * which drops an aborted /dev/fuse connection, as it should. systemd
 * silently drops fds beyond FileDescriptorStoreMax=: no error reaches us.
 * Returns 0 (also when !on), or -errno of the first failure (logged once;
 * the store then records what was sent before it, and a later sync resends
 * the rest).
 */
int shmfs_fdstore_sync(struct shmfs_fdstore *s,
		       const struct shmfs_fdlist *want);

/* Closes the store's own copies and frees it (the manager keeps its own). */
void shmfs_fdstore_free(struct shmfs_fdstore *s);

/*
 * For a re-exec in the same process (same pid, so LISTEN_PID stays true):
 * makes want's fds the process's fds 3, 4, ... in want's order, with
 * FD_CLOEXEC clear, and sets LISTEN_FDS, LISTEN_FDNAMES (the names joined
 * by ':') and LISTEN_PID=getpid(); with an empty want it unsets the three.
 * Two passes, so that no fd of want is overwritten before it is copied:
 * each is first copied above 3+N-1 (F_DUPFD_CLOEXEC), then dup2'd down.
 * Every fd of want, at its old number, gets FD_CLOEXEC (only the copies at
 * 3.. cross the exec); every other fd keeps its flags, except those at
 * 3..3+N-1, which the copies replace. So call it last, right before
 * execve(2), with nothing else in use that may sit at those numbers: want's
 * old numbers and whatever sat at 3..3+N-1 are not to be used after it.
 * Returns 0, or -errno (-EMFILE, -ENOMEM; logged) with the environment
 * unset: the process should then exit, leaving the store to the manager.
 */
int shmfs_fdstore_export(const struct shmfs_fdlist *want);

#endif /* SHMFS_FDSTORE_H */

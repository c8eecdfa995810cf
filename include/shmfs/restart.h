/* SPDX-License-Identifier: MIT */
/*
 * What outlives a master, and how the next one takes it over
 * (NOTES-restart.md). A master keeps, in its service manager's descriptor
 * store (fdstore.h), every descriptor that must outlive it: the session's
 * /dev/fuse descriptor once INIT is recorded ("fuse"), the clone each
 * worker slot reads ("clone.N"), the shared region ("region"), the
 * /.stats arena ("stats"), each zone's memory ("zone.INO"), and a record
 * of the rest (record.h: "state"). A master that starts and finds them
 * (LISTEN_FDS) adopts them: the same connection, the same pages, the same
 * inode numbers, and the requests the dead one had read resent. An
 * upgrade (SIGUSR2) is the same hand-over within one process: the master
 * passes the same descriptors to the binary it executes again.
 */
#ifndef SHMFS_RESTART_H
#define SHMFS_RESTART_H

#include <stdbool.h>
#include <sys/types.h>

#include "shmfs/fdstore.h"
#include "shmfs/kernel.h"
#include "shmfs/record.h"
#include "shmfs/uring_region.h"

struct fuse_args;
struct fuse_session;
struct shmfs_config;
struct shmfs_cycle;
struct shmfs_region;

/* What a start found to adopt. */
struct shmfs_adopt {
	struct shmfs_record rec;
	struct shmfs_record_zone *zones; /* rec.nzones */
	char *config;			 /* the dead master's file, as text */
	struct shmfs_fdlist fds;	 /* what came back, by name */
	int fuse;			 /* the session's descriptor */
	bool found;			 /* a live connection to adopt */
	bool upgrade; /* this process executed itself again (SIGUSR2) */
	struct shmfs_kernel_init init; /* the recorded INIT, from rec */
	/* What the service manager holds for the master (found or not). */
	struct shmfs_fdstore store;
	/*
	 * A connection that speaks io_uring: the dead generation's ring
	 * buffers, mapped where it registered them (base NULL: none), for
	 * the new workers to answer what it held (docs/io_uring.md).
	 */
	struct shmfs_uring_region rings;
};

/*
 * Before anything touches the mount point (and after shmfs_notify_init):
 * takes what the service manager (or an upgrading master) passed back,
 * and sets up a->store in any case. Returns 1 with *a filled if there
 * is a live connection to adopt; 0 if nothing was passed, or if what was
 * passed cannot be adopted (no record of INIT, a record of another build,
 * an aborted connection): one line says why, the store is emptied so that
 * the old connection ends, and its dead mount is detached, for a fresh
 * start. -errno on a failure to read what was passed (logged).
 */
int shmfs_restart_find(struct shmfs_adopt *a);

/*
 * What was found cannot be adopted after all (why, for the one line that
 * says so): the store is emptied, the connection let go and its dead
 * mount detached, as shmfs_restart_find does; a->found is false.
 */
void shmfs_restart_discard(struct shmfs_adopt *a, const char *why);

/*
 * The configuration the dead master ran, parsed from its text as file
 * (for a start whose file does not load). Returns 0 or -errno (logged).
 */
int shmfs_restart_config(const struct shmfs_adopt *a, const char *file,
			 struct shmfs_config *cfg);

/*
 * The libfuse options the dead master's session was made with: libfuse
 * must see the same (a max_read of its own fails the replayed INIT; a
 * missing allow_root drops its check while the kernel keeps allow_other),
 * whatever this start was given. Free with fuse_opt_free_args. Returns 0
 * or -ENOMEM (logged).
 */
int shmfs_restart_fuse_args(const struct shmfs_adopt *a,
			    struct fuse_args *args);

/* Closes whatever of a is left and frees it. */
void shmfs_restart_free(struct shmfs_adopt *a);

/*
 * The cycle the dead master served, from its configuration text (parsed
 * as file names it) and the stored descriptors, which it takes. Returns 0
 * or -errno (logged).
 */
int shmfs_restart_cycle(struct shmfs_adopt *a, const char *file,
			struct shmfs_cycle **out);

/*
 * Waits until no process of the dead master's generation lives (its
 * workers, as the stored region's slots name them, and the master unless
 * it is this process): a request they read must not be resent while one
 * of them could still answer it. Those left after a few seconds are
 * killed. Returns the number killed.
 */
unsigned shmfs_restart_wait_old(struct shmfs_region *region,
				const struct shmfs_adopt *a);

/* What a master hands over: its connection and its running cycle. */
struct shmfs_handover {
	const struct shmfs_cycle *cycle;
	int fuse;		      /* the session's descriptor */
	const int *clones;	      /* per worker slot, -1: none */
	unsigned nclones;	      /* slots */
	const char *mountpoint;	      /* absolute */
	const struct fuse_args *args; /* the libfuse options */
	/* The ring buffers (NULL: the connection reads /dev/fuse). */
	const struct shmfs_uring_region *rings;
};

/*
 * Makes the service manager's store hold what h would hand over, a new
 * record included: after INIT, after each reload, after a slot's clone
 * changed. A no-op without a manager. Returns 0 or -errno (logged).
 */
int shmfs_restart_keep(struct shmfs_fdstore *store,
		       const struct shmfs_handover *h);

/*
 * The upgrade: executes this program again (the path it was started from,
 * argv as given), in this process, handing h over as the store would.
 * The workers must be stopped. Returns only on failure (-errno, logged),
 * with the descriptors moved: the caller can only exit.
 */
int shmfs_restart_exec(const struct shmfs_handover *h);

/* At the start: the program and its arguments, for shmfs_restart_exec. */
void shmfs_restart_set_argv(char **argv);

/* The program an upgrade executes (NULL before set_argv). */
const char *shmfs_restart_program(void);

/*
 * The clean stop: the store is emptied (the connection ends with the
 * mount, whose bytes a stop frees).
 */
void shmfs_restart_forget(struct shmfs_fdstore *store);

#endif /* SHMFS_RESTART_H */

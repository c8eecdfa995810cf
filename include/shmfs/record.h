/* SPDX-License-Identifier: MIT */
/*
 * The state record: what a restarted or re-executed master needs besides
 * the stored descriptors to take over a live mount, in one sealed memfd
 * stored under a name like "state.N" (see fdstore.h). A fixed header, then
 * nzones zone records, then the configuration file's text as the dead
 * master read it (the new one parses it to rebuild that configuration
 * exactly, then applies the current file as a reload would). Fixed-size
 * records without pointers, in the machine's own byte order: a record
 * never leaves the machine, and one from another build is refused (its
 * layout check differs), never converted.
 */
#ifndef SHMFS_RECORD_H
#define SHMFS_RECORD_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "shmfs/config.h"
#include "shmfs/fdstore.h"
#include "shmfs/limits.h"

#define SHMFS_RECORD_MAGIC "shmfsrec" /* 8 bytes, no NUL stored */
#define SHMFS_RECORD_VERSION 1

/* The recorded FUSE_INIT request and reply: 104 and 64 bytes on 6.18. */
#define SHMFS_RECORD_INIT_MAX 256

/* One zone as the dead master ran it. */
struct shmfs_record_zone {
	char name[SHMFS_NAME_MAX + 1];
	/*
	 * The name its memory is stored under ("zone.17"); "": none stored,
	 * a named object (posix, file, keyed sysv) is opened again by name.
	 */
	char fdname[SHMFS_FDNAME_MAX + 1];
	uint64_t ino;	    /* the inode number the kernel knows it by */
	uint64_t size;	    /* bytes mapped: the stored fd must cover them */
	uint32_t backend;   /* enum shmfs_backend */
	uint32_t cache;	    /* enum shmfs_cache as run (page where
			       passthrough fell back) */
	int32_t backing_id; /* the passthrough backing id; 0: none */
	int32_t sysv_id;    /* the sysv segment's id; -1: none */
	uint8_t created;    /* shmfs created the object: removed at a clean
			       stop unless keep */
	uint8_t keep;
	uint8_t reserved[6]; /* 0: no padding, so every byte is written */
};

/* The header. Every field is filled in by the caller but the first three. */
struct shmfs_record {
	char magic[8];	  /* SHMFS_RECORD_MAGIC (set by the writer) */
	uint32_t version; /* SHMFS_RECORD_VERSION (set by the writer) */
	/*
	 * The shared structures' layout (the region, its worker slots and zone
	 * records, pthread_mutex_t, these records) mixed into one number (set
	 * by the writer): another build whose processes could not share the
	 * same region has another one.
	 */
	uint32_t layout;
	uint64_t generation, restarts, upgrades; /* region.h's counters */
	uint64_t stats_epoch;  /* what /.stats handles carry (fh >> 16) */
	uint64_t region_size;  /* bytes of the stored region */
	uint64_t stats_size;   /* bytes of the stored /.stats arena */
	uint64_t master_start; /* the master's start time (see below) */
	int32_t master;	       /* the master's pid */
	uint32_t init_in_len;  /* bytes of init_in: header + fuse_init_in */
	uint32_t init_out_len; /* bytes of init_out: the reply's body */
	uint32_t nzones;       /* zone records after the header */
	uint32_t config_len;   /* bytes of configuration text after them */
	uint32_t reserved;     /* 0 */
	uint8_t init_in[SHMFS_RECORD_INIT_MAX];	 /* the FUSE_INIT request */
	uint8_t init_out[SHMFS_RECORD_INIT_MAX]; /* the reply accepted */
	char mountpoint[PATH_MAX];		 /* absolute */
	/* The libfuse arguments the master passed, one per line ("-o\n..."). */
	char fuse_opts[1024];
};

/*
 * Writes head (magic, version and layout set here, whatever head holds),
 * head->nzones records of zones and config (NUL-terminated, may be NULL
 * for none; config_len set here) into a new memfd "shmfs:state", then
 * seals it (F_SEAL_SEAL, WRITE, GROW, SHRINK): nobody, us included, can
 * change it after. Returns 0 with the memfd in *fd (close-on-exec), or
 * -errno (logged); -EINVAL if head's init lengths exceed
 * SHMFS_RECORD_INIT_MAX.
 */
int shmfs_record_write(const struct shmfs_record *head,
		       const struct shmfs_record_zone *zones,
		       const char *config, int *fd);

/*
 * Reads and checks a record written by shmfs_record_write: sealed, at least
 * a header, the magic, the version, the layout, init lengths at most
 * SHMFS_RECORD_INIT_MAX, every string NUL-terminated within its field, a
 * configuration without a NUL inside, and a file exactly as long as the
 * header, nzones records and config_len bytes. Returns 0 with *head, *zones
 * (malloc'd, head->nzones of them) and *config (malloc'd, NUL-terminated);
 * -EPROTO when a check fails, or -errno when reading does; then *zones and
 * *config are NULL and *why says what in a few words fit for a log line
 * ("a record of version 2", "layout differs: another build"), valid until
 * the next call.
 */
int shmfs_record_read(int fd, struct shmfs_record *head,
		      struct shmfs_record_zone **zones, char **config,
		      const char **why);

/*
 * A process's start time, field 22 of /proc/PID/stat (clock ticks since
 * boot), so that a pid reused by another process is told apart. 0 if the
 * process is gone, a zombie (it holds no descriptor any more), or pid <= 0.
 */
uint64_t shmfs_record_start_time(pid_t pid);

/* True if pid is alive and started at start (nonzero): the same process. */
bool shmfs_record_alive(pid_t pid, uint64_t start);

#endif /* SHMFS_RECORD_H */

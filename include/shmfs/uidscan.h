/* SPDX-License-Identifier: MIT */
/*
 * Who else runs as the workers' uid. A process with the same real,
 * effective or saved uid may signal, stop, renice, rlimit or pin a worker
 * (the kernel's check for kill(2), setpriority(2), prlimit(2) and
 * sched_setaffinity(2)), so "user =" must name a uid no other program
 * uses. The scan reads /proc at the moment it runs: a warning, not a
 * refusal, since what shares a uid changes at run time.
 */
#ifndef SHMFS_UIDSCAN_H
#define SHMFS_UIDSCAN_H

#include <sys/types.h>

struct shmfs_config;

/* What a scan found. */
struct shmfs_uidscan {
	unsigned count; /* processes other than ours with the uid */
	pid_t pid;	/* the lowest of their pids (0: none) */
	char name[32];	/* its Name: line in /proc/PID/status */
};

/*
 * Counts the processes under proc (normally "/proc") whose real, effective
 * or saved uid is uid, leaving out self and shmfs workers (processes named
 * shmfs-worker: ours, or those of another shmfs daemon, which run under a
 * seccomp filter that cannot signal anything). Processes that end during
 * the scan, or whose status cannot be read, are skipped. Returns 0 or
 * -errno of opendir(proc).
 */
int shmfs_uidscan(const char *proc, uid_t uid, pid_t self,
		  struct shmfs_uidscan *out);

/*
 * Logs a warning, with the reason, when cfg's "user =" (not root) names a
 * uid that other running processes use; says nothing otherwise. For the
 * start, "shmfs -t" and a reload of a master running as root.
 */
void shmfs_uidscan_warn(const struct shmfs_config *cfg);

#endif /* SHMFS_UIDSCAN_H */

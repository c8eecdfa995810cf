/* SPDX-License-Identifier: MIT */
/*
 * Parsers for the values of the ini file: sizes, modes, counts, users and
 * groups, log levels. Each takes a whole string (no leading or trailing
 * junk) and returns 0, or -EINVAL when it is malformed, -ERANGE when it is out
 * of range; *out is set only on success.
 */
#ifndef SHMFS_VALUE_H
#define SHMFS_VALUE_H

#include <stdint.h>
#include <sys/types.h>

/* The largest zone, and the largest sum of zones: 64 TiB, half of x86-64's
 * user address space. */
#define SHMFS_SIZE_MAX ((uint64_t)1 << 46)

/* Pool size limits. */
#define SHMFS_WORKERS_MAX 256

/*
 * "123", "64k", "64K", "16M", "2G", "1T" (powers of 1024). Zero is accepted
 * here (the caller decides); more than SHMFS_SIZE_MAX is -ERANGE.
 */
int shmfs_value_size(const char *s, uint64_t *out);

/* Octal permission bits, 0..07777 ("0640", "640"). */
int shmfs_value_mode(const char *s, mode_t *out);

/* "auto" (sets 0) or 1..SHMFS_WORKERS_MAX. */
int shmfs_value_workers(const char *s, unsigned *out);

/*
 * A user name, or a number (all digits) that fits uid_t and is not -1
 * (-ERANGE). Unknown name: -ENOENT; a failing user database: its -errno.
 */
int shmfs_value_uid(const char *s, uid_t *out);

/*
 * A user as shmfs_value_uid, and its passwd group in *gid: (gid_t)-1 for a
 * number that has no passwd entry.
 */
int shmfs_value_user(const char *s, uid_t *uid, gid_t *gid);

/* A group name or a number, as shmfs_value_uid. Unknown name: -ENOENT. */
int shmfs_value_gid(const char *s, gid_t *out);

/*
 * cpu_affinity: "off" (sets *n = 0), "auto" (the online CPUs, in order), or
 * CPU numbers separated by spaces or commas ("0 2", "1,3"), each online and
 * named once. At most max numbers.
 */
int shmfs_value_cpus(const char *s, unsigned short *cpus, unsigned max,
		     unsigned *n);

/* debug | info | notice | warn | error | alert, as syslog priorities. */
int shmfs_value_log_level(const char *s, int *out);

#endif /* SHMFS_VALUE_H */

/* SPDX-License-Identifier: MIT */
/*
 * Parsers of single values, as the ini file and the command line write
 * them: sizes, modes, counts, users and groups, CPU lists, log levels,
 * yes and no. Each takes a whole string (no leading or trailing junk) and
 * returns 0, or -EINVAL when it is malformed, -ERANGE when it is out of
 * range; *out is set only on success.
 */
#ifndef SHMFS_PARSE_H
#define SHMFS_PARSE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * "123", "64k", "64K", "16M", "2G", "1T" (powers of 1024). Zero is accepted
 * here (the caller decides); more than SHMFS_SIZE_MAX is -ERANGE.
 */
int shmfs_parse_size(const char *s, uint64_t *out);

/* Octal permission bits, 0..07777 ("0640", "640"). */
int shmfs_parse_mode(const char *s, mode_t *out);

/* "auto" (sets 0) or 1..SHMFS_WORKERS_MAX. */
int shmfs_parse_workers(const char *s, unsigned *out);

/*
 * A user name, or a number (all digits) that fits uid_t and is not -1
 * (-ERANGE). Unknown name: -ENOENT; a failing user database: its -errno.
 */
int shmfs_parse_uid(const char *s, uid_t *out);

/*
 * A user as shmfs_parse_uid, and its passwd group in *gid: (gid_t)-1 for a
 * number that has no passwd entry.
 */
int shmfs_parse_user(const char *s, uid_t *uid, gid_t *gid);

/* A group name or a number, as shmfs_parse_uid. Unknown name: -ENOENT. */
int shmfs_parse_gid(const char *s, gid_t *out);

/*
 * cpu_affinity: "off" (sets *n = 0), "auto" (the online CPUs, in order), or
 * CPU numbers separated by spaces or commas ("0 2", "1,3"), each online and
 * named once. At most max numbers.
 */
int shmfs_parse_cpus(const char *s, unsigned short *cpus, unsigned max,
		     unsigned *n);

/* yes, true, on (sets true) or no, false, off (sets false). */
int shmfs_parse_bool(const char *s, bool *out);

/* debug | info | notice | warn | error | alert, as syslog priorities. */
int shmfs_parse_log_level(const char *s, int *out);

#endif /* SHMFS_PARSE_H */

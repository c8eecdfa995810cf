/* SPDX-License-Identifier: MIT */
/*
 * Parsers for single ini values. They are strict on purpose: a value is
 * either exactly one of the accepted spellings or an error, so that a typo
 * in the configuration is reported instead of being read as something else.
 */
#include <errno.h>
#include <sched.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "shmfs/limits.h"
#include "shmfs/parse.h"

/* getpw*_r buffers grow on ERANGE up to this; real entries are tiny. */
#define LOOKUP_BUF_MAX (1024 * 1024)

static const struct {
	const char *name;
	int level;
} log_levels[] = {
	{"debug", LOG_DEBUG},  {"info", LOG_INFO}, {"notice", LOG_NOTICE},
	{"warn", LOG_WARNING}, {"error", LOG_ERR}, {"alert", LOG_ALERT},
};

static bool is_digit(char c)
{
	/* Not isdigit(): the locale must not change what a number is. */
	return c >= '0' && c <= '9';
}

/*
 * Reads the leading decimal digits of *sp and advances past them. Returns
 * -EINVAL if there are none, -ERANGE if they overflow (all digits are still
 * consumed, so that the caller can tell junk from a big number), else 0.
 */
static int parse_decimal(const char **sp, uint64_t *out)
{
	const char *s = *sp;
	uint64_t v = 0;
	bool overflow = false;

	if (!is_digit(*s))
		return -EINVAL;
	for (; is_digit(*s); s++) {
		unsigned d = (unsigned)(*s - '0');

		if (v > (UINT64_MAX - d) / 10)
			overflow = true;
		else
			v = v * 10 + d;
	}
	*sp = s;
	if (overflow)
		return -ERANGE;
	*out = v;
	return 0;
}

/* A whole string of decimal digits. */
static int parse_number(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	int ret = parse_decimal(&s, &v);

	if (ret == -EINVAL || *s != '\0')
		return -EINVAL;
	if (ret < 0)
		return ret;
	*out = v;
	return 0;
}

static bool all_digits(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++) {
		if (!is_digit(*s))
			return false;
	}
	return true;
}

int shmfs_parse_size(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	unsigned shift = 0;
	int ret = parse_decimal(&s, &v);

	if (ret == -EINVAL)
		return ret;
	switch (*s) {
	case '\0':
		break;
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	case 't':
	case 'T':
		shift = 40;
		break;
	default:
		return -EINVAL;
	}
	if (shift && *++s != '\0')
		return -EINVAL;
	if (ret < 0)
		return ret;
	if (v > (SHMFS_SIZE_MAX >> shift))
		return -ERANGE;
	*out = v << shift;
	return 0;
}

int shmfs_parse_mode(const char *s, mode_t *out)
{
	unsigned long v = 0;
	bool range = false;

	if (*s == '\0')
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '7')
			return -EINVAL;
		v = v * 8 + (unsigned long)(*s - '0');
		/* Keep reading after 07777 so junk still reads as junk. */
		if (v > 07777) {
			range = true;
			v = 07777;
		}
	}
	if (range)
		return -ERANGE;
	*out = (mode_t)v;
	return 0;
}

int shmfs_parse_workers(const char *s, unsigned *out)
{
	uint64_t v = 0;
	int ret;

	if (strcmp(s, "auto") == 0) {
		*out = 0;
		return 0;
	}
	ret = parse_number(s, &v);
	if (ret < 0)
		return ret;
	if (v < 1 || v > SHMFS_WORKERS_MAX)
		return -ERANGE;
	*out = (unsigned)v;
	return 0;
}

/*
 * A numeric id: it must fit the type and must not be -1, which chown(2)
 * and setuid(2) read as "leave unchanged".
 */
static int parse_id(const char *s, uint32_t *out)
{
	uint64_t v = 0;
	int ret = parse_number(s, &v);

	if (ret < 0)
		return ret;
	if (v >= UINT32_MAX)
		return -ERANGE;
	*out = (uint32_t)v;
	return 0;
}

static size_t lookup_buf_size(int name)
{
	long n = sysconf(name);

	return n > 0 && n < LOOKUP_BUF_MAX ? (size_t)n : 1024;
}

/* getpwnam_r reports "no such user" in several ways; see its man page. */
static int lookup_result(int ret, bool found)
{
	if (ret == 0)
		return found ? 0 : -ENOENT;
	if (ret == ENOENT || ret == ESRCH || ret == EBADF || ret == EPERM)
		return -ENOENT;
	return -ret;
}

/*
 * A user (group false) or group name or number as a 32-bit id; for a user,
 * *primary (if not NULL) gets its passwd group, or (uint32_t)-1 for a number
 * that has no passwd entry. The getpwnam_r/getgrnam_r buffer grows on
 * ERANGE, up to LOOKUP_BUF_MAX.
 */
static int lookup_id(const char *s, bool group, uint32_t *out,
		     uint32_t *primary)
{
	size_t len = lookup_buf_size(group ? _SC_GETGR_R_SIZE_MAX
					   : _SC_GETPW_R_SIZE_MAX);
	struct passwd pw, *pwres = NULL;
	struct group gr, *grres = NULL;
	bool number = all_digits(s);
	char *buf = NULL;
	int ret;

	if (number) {
		ret = parse_id(s, out);
		if (ret < 0 || primary == NULL)
			return ret;
		*primary = (uint32_t)-1;
	}
	if (*s == '\0')
		return -EINVAL;
	for (;;) {
		char *nbuf = realloc(buf, len);

		if (!nbuf) {
			free(buf);
			return -ENOMEM;
		}
		buf = nbuf;
		if (group)
			ret = getgrnam_r(s, &gr, buf, len, &grres);
		else if (number)
			ret = getpwuid_r(*out, &pw, buf, len, &pwres);
		else
			ret = getpwnam_r(s, &pw, buf, len, &pwres);
		if (ret != ERANGE || len >= LOOKUP_BUF_MAX)
			break;
		len *= 2;
	}
	ret = lookup_result(ret, group ? grres != NULL : pwres != NULL);
	if (number) /* a uid without a passwd entry is still a uid */
		ret = ret == -ENOENT ? 0 : ret;
	else if (ret == 0)
		*out = group ? gr.gr_gid : pw.pw_uid;
	if (ret == 0 && primary && pwres)
		*primary = pw.pw_gid;
	free(buf);
	return ret;
}

int shmfs_parse_uid(const char *s, uid_t *out)
{
	_Static_assert(sizeof(uid_t) == sizeof(uint32_t), "uid_t is 32 bits");
	uint32_t id;
	int ret = lookup_id(s, false, &id, NULL);

	if (ret == 0)
		*out = id;
	return ret;
}

int shmfs_parse_user(const char *s, uid_t *uid, gid_t *gid)
{
	uint32_t id, primary;
	int ret = lookup_id(s, false, &id, &primary);

	if (ret == 0) {
		*uid = id;
		*gid = primary;
	}
	return ret;
}

int shmfs_parse_gid(const char *s, gid_t *out)
{
	_Static_assert(sizeof(gid_t) == sizeof(uint32_t), "gid_t is 32 bits");
	uint32_t id;
	int ret = lookup_id(s, true, &id, NULL);

	if (ret == 0)
		*out = id;
	return ret;
}

int shmfs_parse_bool(const char *s, bool *out)
{
	if (strcmp(s, "yes") == 0 || strcmp(s, "true") == 0 ||
	    strcmp(s, "on") == 0)
		*out = true;
	else if (strcmp(s, "no") == 0 || strcmp(s, "false") == 0 ||
		 strcmp(s, "off") == 0)
		*out = false;
	else
		return -EINVAL;
	return 0;
}

int shmfs_parse_log_level(const char *s, int *out)
{
	size_t i;

	for (i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++) {
		if (strcmp(s, log_levels[i].name) == 0) {
			*out = log_levels[i].level;
			return 0;
		}
	}
	return -EINVAL;
}

int shmfs_parse_cpus(const char *s, unsigned short *cpus, unsigned max,
		     unsigned *n)
{
	cpu_set_t online;
	unsigned count = 0;

	if (strcmp(s, "off") == 0) {
		*n = 0;
		return 0;
	}
	/* The CPUs this process may run on: the ones worth pinning to. */
	if (sched_getaffinity(0, sizeof(online), &online) < 0)
		return -errno;
	if (strcmp(s, "auto") == 0) {
		for (unsigned cpu = 0; cpu < CPU_SETSIZE && count < max; cpu++)
			if (CPU_ISSET(cpu, &online))
				cpus[count++] = cpu;
		*n = count;
		return 0;
	}

	cpu_set_t seen;
	CPU_ZERO(&seen);
	while (*s != '\0') {
		char *end;

		if (*s == ' ' || *s == ',' || *s == '\t') {
			s++;
			continue;
		}
		if (*s < '0' || *s > '9')
			return -EINVAL;
		errno = 0;
		unsigned long cpu = strtoul(s, &end, 10);
		if (errno || cpu >= CPU_SETSIZE || !CPU_ISSET(cpu, &online) ||
		    CPU_ISSET(cpu, &seen) || count == max)
			return -ERANGE;
		CPU_SET(cpu, &seen);
		cpus[count++] = cpu;
		s = end;
	}
	if (count == 0)
		return -EINVAL;
	*n = count;
	return 0;
}

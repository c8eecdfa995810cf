/* SPDX-License-Identifier: MIT */
/*
 * For unit tests that check what the code logs: the log goes to a file of
 * the test's own, read back whole. One copy, included by each such test.
 */
#ifndef SHMFS_TEST_LOG_H
#define SHMFS_TEST_LOG_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "shmfs/log.h"

static char test_log_path[64];

/* Logs to a new file in /tmp; 0, or -1 if it cannot be made. */
static inline int test_log_open(void)
{
	int fd;

	snprintf(test_log_path, sizeof(test_log_path),
		 "/tmp/shmfs-test-log-XXXXXX");
	fd = mkstemp(test_log_path);
	if (fd < 0)
		return -1;
	close(fd);
	return shmfs_log_open(test_log_path, LOG_DEBUG, true);
}

/* Everything logged so far, NUL-terminated (a static buffer). */
static inline const char *test_log_read(void)
{
	static char buf[1 << 16];
	FILE *f = fopen(test_log_path, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

	if (f)
		fclose(f);
	buf[n] = '\0';
	return buf;
}

static inline void test_log_close(void)
{
	shmfs_log_close();
	unlink(test_log_path);
}

#endif /* SHMFS_TEST_LOG_H */

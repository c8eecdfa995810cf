/* SPDX-License-Identifier: MIT */
/*
 * The service manager's notification protocol, spoken directly: systemd
 * documents it as a stable interface meant to be implemented without
 * libsystemd (sd_notify(3), "NOTES"), and what we need of it is one
 * sendto() of a datagram. The address is parsed once, at start, and the
 * variable removed from the environment: workers never see it. A socket is
 * opened for each message and closed after it, so no worker inherits one.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shmfs/log.h"
#include "shmfs/notify.h"

static struct sockaddr_un target;
static socklen_t target_len; /* 0: notifications are off */
static bool failed_once;

int shmfs_notify_address(const char *value, struct sockaddr_un *addr,
			 socklen_t *len)
{
	size_t n = strlen(value);

	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	if (strncmp(value, "vsock:", 6) == 0)
		return -EAFNOSUPPORT;
	if (n < 2 || (value[0] != '/' && value[0] != '@'))
		return -EINVAL;
	if (n > sizeof(addr->sun_path) ||
	    (value[0] == '/' && n == sizeof(addr->sun_path)))
		return -ENAMETOOLONG; /* a path needs its terminating NUL */
	memcpy(addr->sun_path, value, n);
	if (value[0] == '@') /* abstract: a leading NUL, no trailing one */
		addr->sun_path[0] = '\0';
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
			   (value[0] == '/'));
	return 0;
}

int shmfs_notify_init(void)
{
	const char *value = getenv("NOTIFY_SOCKET");
	int res;

	target_len = 0;
	failed_once = false;
	if (value == NULL)
		return 0;
	res = shmfs_notify_address(value, &target, &target_len);
	if (res < 0) {
		target_len = 0;
		shmfs_log_sys(LOG_WARNING, -res,
			      "NOTIFY_SOCKET=%s cannot be used: no readiness "
			      "notification will be sent",
			      value);
	}
	unsetenv("NOTIFY_SOCKET");
	return res < 0 ? res : 1;
}

int shmfs_notify(const char *fmt, ...)
{
	char msg[PATH_MAX + 512]; /* STATUS= may name the mount point */
	va_list ap;
	int n, fd, err = 0;

	if (target_len == 0)
		return 0;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(msg)) {
		shmfs_log_sys(LOG_WARNING, EMSGSIZE,
			      "notifying the service manager: a message of "
			      "%d bytes does not fit %zu",
			      n, sizeof(msg));
		return -EMSGSIZE;
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		err = errno;
	else if (sendto(fd, msg, (size_t)n, MSG_NOSIGNAL,
			(const struct sockaddr *)&target, target_len) < 0)
		err = errno;
	if (fd >= 0)
		close(fd);
	if (err == 0)
		return 0;
	/* The manager went away, or never listened: say so once. */
	shmfs_log_sys(failed_once ? LOG_DEBUG : LOG_WARNING, err,
		      "notifying the service manager failed");
	failed_once = true;
	return -err;
}

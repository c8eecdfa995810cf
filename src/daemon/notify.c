/* SPDX-License-Identifier: MIT */
/*
 * The service manager's notification protocol, spoken directly: systemd
 * documents it as a stable interface meant to be implemented without
 * libsystemd (sd_notify(3), "NOTES"), and what we need of it is one
 * sendmsg() of a datagram, with descriptors attached for the store. The
 * address is parsed once, at start, and the variable removed from the
 * environment: workers never see it. A socket is opened for each message
 * and closed after it, so no worker inherits one.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "shmfs/log.h"
#include "shmfs/notify.h"

static struct sockaddr_un target;
static socklen_t target_len; /* 0: notifications are off */
static bool failed_once;
static char *socket_value; /* as it was set, for a program we execute */

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
	free(socket_value);
	socket_value = strdup(value);
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

bool shmfs_notify_on(void)
{
	return target_len != 0;
}

/*
 * One datagram, with fds attached as SCM_RIGHTS when n > 0: the manager
 * takes the descriptors and the text that names them from one message.
 */
static int send_message(const char *msg, size_t len, const int *fds, size_t n)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * SHMFS_NOTIFY_FDS_MAX)];
	} control;
	struct iovec iov = {.iov_base = (void *)msg, .iov_len = len};
	struct msghdr mh = {
		.msg_name = &target,
		.msg_namelen = target_len,
		.msg_iov = &iov,
		.msg_iovlen = 1,
	};
	int fd, err = 0;

	if (n > 0) {
		struct cmsghdr *c;

		memset(&control, 0, sizeof(control));
		mh.msg_control = control.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * n);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		err = errno;
	else if (sendmsg(fd, &mh, MSG_NOSIGNAL) < 0)
		err = errno;
	if (fd >= 0)
		close(fd);
	return -err;
}

static int __attribute__((format(printf, 3, 0)))
vnotify(const int *fds, size_t n, const char *fmt, va_list ap)
{
	char msg[PATH_MAX + 512]; /* STATUS= may name the mount point */
	int len, res;

	if (target_len == 0)
		return 0;
	if (n > SHMFS_NOTIFY_FDS_MAX)
		return -EINVAL;
	len = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (len < 0 || (size_t)len >= sizeof(msg)) {
		shmfs_log_sys(LOG_WARNING, EMSGSIZE,
			      "notifying the service manager: a message of "
			      "%d bytes does not fit %zu",
			      len, sizeof(msg));
		return -EMSGSIZE;
	}
	res = send_message(msg, (size_t)len, fds, n);
	if (res == 0)
		return 0;
	/* The manager went away, or never listened: say so once. */
	shmfs_log_sys(failed_once ? LOG_DEBUG : LOG_WARNING, -res,
		      "notifying the service manager failed");
	failed_once = true;
	return res;
}

int shmfs_notify(const char *fmt, ...)
{
	va_list ap;
	int res;

	va_start(ap, fmt);
	res = vnotify(NULL, 0, fmt, ap);
	va_end(ap);
	return res;
}

int shmfs_notify_fds(const int *fds, size_t n, const char *fmt, ...)
{
	va_list ap;
	int res;

	va_start(ap, fmt);
	res = vnotify(fds, n, fmt, ap);
	va_end(ap);
	return res;
}

const char *shmfs_notify_socket(void)
{
	return socket_value;
}

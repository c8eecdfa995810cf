/* SPDX-License-Identifier: MIT */
/*
 * The device hook (see device.h). A reply the kernel refuses must not be
 * left to libfuse 3.14: its fuse_send_msg() perror()s it, and glibc's
 * perror() dup()s stderr and fdopen()s the copy, calls a worker's seccomp
 * filter denies (so the worker died of the failed reply), and then nobody
 * answers the request. What the kernel does with it depends on where the
 * write failed (fuse_dev_do_write): a bad payload (EFAULT) ends the
 * request with EIO; a header it rejects (EINVAL: a length or an error
 * value out of range) leaves the request waiting, and its caller with it,
 * for as long as the mount lives. So every refused reply is followed by a
 * header-only EIO reply of our own: it ends a request still waiting, or
 * meets ENOENT if the kernel ended it already (uniques are never reused,
 * so it cannot reach another request). libfuse is then told ENOENT, its
 * "the request is gone" case, which it does not report.
 *
 * The hook has no splice functions, so libfuse never negotiates splice:
 * requests are read and replies written with read and writev alone (no
 * pipes, which the workers' filter does not allow).
 */
#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/fuse.h>

#include "shmfs/device.h"
#include "shmfs/log.h"
#include "shmfs/passthrough.h"

/* The unique of an interrupt's reply (fuse.h has it only from 7.31 on). */
#define INTERRUPT_BIT (1ULL << 63)

static ssize_t device_read(int fd, void *buf, size_t len, void *userdata)
{
	(void)userdata;
	return read(fd, buf, len);
}

/* After a reply to request unique failed with err: make sure it ends. */
static void answer_again(int fd, uint64_t unique, int err)
{
	struct fuse_out_header eio = {
		.len = sizeof(eio),
		.error = -EIO,
		.unique = unique,
	};
	ssize_t n = write(fd, &eio, sizeof(eio));

	if (n == (ssize_t)sizeof(eio))
		shmfs_log_sys(LOG_ERR, err,
			      "the reply to request %llu was refused; "
			      "answered with EIO",
			      (unsigned long long)unique);
	else if (n < 0 && errno == ENOENT)
		shmfs_log_sys(LOG_ERR, err,
			      "the reply to request %llu failed; "
			      "the kernel answered it with EIO",
			      (unsigned long long)unique);
	else
		shmfs_log_sys(LOG_ERR, n < 0 ? errno : EIO,
			      "the reply to request %llu failed (%d: %s), and "
			      "so did answering it with EIO",
			      (unsigned long long)unique, err, strerror(err));
}

static ssize_t device_writev(int fd, struct iovec *iov, int count,
			     void *userdata)
{
	const struct fuse_out_header *out = iov[0].iov_base;
	ssize_t n;
	int err;

	(void)userdata;
	shmfs_passthrough_filter_reply(iov, count);
	n = writev(fd, iov, count);
	if (n >= 0 || errno == ENOENT)
		return n;
	err = errno;
	/* Notifications (unique 0) and interrupts' replies have no caller. */
	if (iov[0].iov_len < sizeof(*out) || out->unique == 0 ||
	    (out->unique & INTERRUPT_BIT)) {
		errno = err;
		return n;
	}
	answer_again(fd, out->unique, err);
	errno = ENOENT;
	return -1;
}

int shmfs_device_install(struct fuse_session *se)
{
	static const struct fuse_custom_io io = {
		.read = device_read,
		.writev = device_writev,
	};
	int res = fuse_session_custom_io(se, &io, fuse_session_fd(se));

	if (res < 0)
		shmfs_log_sys(LOG_ERR, -res, "fuse_session_custom_io failed");
	return res;
}

/* SPDX-License-Identifier: MIT */
/*
 * Readiness notification to a service manager (systemd's Type=notify): one
 * datagram of newline-separated VAR=value lines to the AF_UNIX socket named
 * by $NOTIFY_SOCKET, as sd_notify(3) documents the protocol, with
 * descriptors attached (SCM_RIGHTS) for the store. Only the master
 * speaks it: shmfs_notify_init takes the variable out of the environment
 * before any worker is forked.
 */
#ifndef SHMFS_NOTIFY_H
#define SHMFS_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

/*
 * Parses a $NOTIFY_SOCKET value: an absolute path, or "@name" for a socket
 * in the abstract namespace. Returns 0 with addr and len filled in;
 * -EINVAL for an empty or relative value, -ENAMETOOLONG for one longer
 * than sun_path, -EAFNOSUPPORT for a vsock: address (not spoken here).
 */
int shmfs_notify_address(const char *value, struct sockaddr_un *addr,
			 socklen_t *len);

/*
 * Reads $NOTIFY_SOCKET, keeps its address and unsets it, so that no child
 * sees it. Returns 1 if notifications will be sent, 0 if the variable is
 * not set, or -errno (logged) if its value cannot be used: then nothing
 * is sent.
 */
int shmfs_notify_init(void);

/*
 * Sends one message ("READY=1", "RELOADING=1\nMONOTONIC_USEC=...", ...).
 * Returns 0 (also when notifications are off), or -errno; the first failure
 * is logged, later ones only at debug level.
 */
int shmfs_notify(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Whether shmfs_notify_init found a usable $NOTIFY_SOCKET. */
bool shmfs_notify_on(void);

/* The most descriptors one message carries (the kernel's SCM_MAX_FD). */
#define SHMFS_NOTIFY_FDS_MAX 253

/*
 * Sends one message with the n descriptors of fds attached (SCM_RIGHTS):
 * the service manager receives its own copies, the caller's stay open.
 * "FDSTORE=1\nFDNAME=fuse" hands fds to systemd's descriptor store (see
 * fdstore.h). Returns 0 (also when notifications are off), -EINVAL for
 * n > SHMFS_NOTIFY_FDS_MAX, or -errno of the send (-EBADF for a closed
 * fd), logged as shmfs_notify logs it.
 */
int shmfs_notify_fds(const int *fds, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * NOTIFY_SOCKET as shmfs_notify_init found it (NULL: unset), so that the
 * master can hand it to the program an upgrade executes.
 */
const char *shmfs_notify_socket(void);

#endif /* SHMFS_NOTIFY_H */

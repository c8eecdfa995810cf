/* SPDX-License-Identifier: MIT */
/*
 * The passthrough protocol (see passthrough.h), in one place so that the
 * FUSE handlers read like hello_ll.c. The INIT patch is a pure function of
 * the reply's bytes; the device hook (device.c) has it applied to the one
 * reply whose unique is INIT's, in the master, before the kernel processes
 * it (inside writev).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <linux/capability.h>

#include "shmfs/log.h"
#include "shmfs/passthrough.h"

static struct {
	uint64_t init_unique; /* INIT's request, while its reply is armed */
	bool armed;
	bool negotiated;
} pt;

/* True if this process has CAP_SYS_ADMIN in its effective set. */
static bool has_sys_admin(void)
{
	struct __user_cap_header_struct head = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	if (syscall(SYS_capget, &head, data) < 0)
		return false;
	return data[CAP_SYS_ADMIN / 32].effective & (1u << CAP_SYS_ADMIN % 32);
}

/* True in the initial user namespace (its uid_map is the identity). */
static bool initial_user_ns(void)
{
	unsigned inner, outer, count;
	FILE *f = fopen("/proc/self/uid_map", "re");
	bool initial = false;

	if (f == NULL)
		return true; /* no /proc: let INIT tell */
	if (fscanf(f, "%u %u %u", &inner, &outer, &count) == 3)
		initial = inner == 0 && outer == 0 && count == UINT32_MAX;
	fclose(f);
	return initial;
}

const char *shmfs_passthrough_probe(void)
{
	struct utsname u;
	unsigned major, minor;

	if (uname(&u) == 0 && sscanf(u.release, "%u.%u", &major, &minor) == 2 &&
	    (major < 6 || (major == 6 && minor < 9)))
		return "the kernel is older than 6.9";
	if (!has_sys_admin())
		return "no CAP_SYS_ADMIN";
	if (!initial_user_ns())
		return "a user namespace (CAP_SYS_ADMIN must be in the "
		       "initial one)";
	return NULL;
}

void shmfs_passthrough_filter_reply(struct iovec *iov, int count)
{
	if (pt.armed && count >= 2 &&
	    iov[0].iov_len == sizeof(struct fuse_out_header)) {
		const struct fuse_out_header *out = iov[0].iov_base;

		if (out->unique == pt.init_unique) {
			pt.armed = false;
			pt.negotiated =
				out->error == 0 &&
				shmfs_passthrough_patch_init(
					iov[1].iov_base, iov[1].iov_len) == 0;
		}
	}
}

bool shmfs_passthrough_prepare(const void *request, size_t len, bool want,
			       const char **why)
{
	const struct fuse_in_header *in = request;
	const struct fuse_init_in *init = (const void *)(in + 1);

	*why = NULL;
	if (!want)
		return false;
	if (len < sizeof(*in) + offsetof(struct fuse_init_in, flags2) +
			    sizeof(init->flags2) ||
	    !(init->flags & FUSE_INIT_EXT) ||
	    !(init->flags2 & SHMFS_FUSE_PASSTHROUGH_FLAGS2)) {
		*why = "the kernel does not offer FUSE passthrough";
		return false;
	}
	pt.init_unique = in->unique;
	pt.armed = true;
	return true;
}

bool shmfs_passthrough_negotiated(void)
{
	return pt.negotiated;
}

int shmfs_passthrough_patch_init(void *init_out, size_t len)
{
	unsigned char *p = init_out;
	uint32_t flags, flags2, depth = 1;

	if (len < SHMFS_INIT_OUT_MAX_STACK_DEPTH + sizeof(depth))
		return -EINVAL;
	memcpy(&flags, p + SHMFS_INIT_OUT_FLAGS, sizeof(flags));
	memcpy(&flags2, p + SHMFS_INIT_OUT_FLAGS2, sizeof(flags2));
	flags |= FUSE_INIT_EXT;
	flags &= ~FUSE_WRITEBACK_CACHE;
	flags2 |= SHMFS_FUSE_PASSTHROUGH_FLAGS2;
	memcpy(p + SHMFS_INIT_OUT_FLAGS, &flags, sizeof(flags));
	memcpy(p + SHMFS_INIT_OUT_FLAGS2, &flags2, sizeof(flags2));
	memcpy(p + SHMFS_INIT_OUT_MAX_STACK_DEPTH, &depth, sizeof(depth));
	return 0;
}

int shmfs_passthrough_open_backing(struct fuse_session *se, int fd)
{
	struct shmfs_fuse_backing_map map = {.fd = fd};
	int id = ioctl(fuse_session_fd(se), SHMFS_FUSE_DEV_IOC_BACKING_OPEN,
		       &map);

	return id < 0 ? -errno : id;
}

void shmfs_passthrough_close_backing(struct fuse_session *se, int id)
{
	uint32_t backing_id = (uint32_t)id;

	if (id > 0 && ioctl(fuse_session_fd(se),
			    SHMFS_FUSE_DEV_IOC_BACKING_CLOSE, &backing_id) < 0)
		shmfs_log_sys(LOG_WARNING, errno,
			      "ioctl(FUSE_DEV_IOC_BACKING_CLOSE, %d) failed",
			      id);
}

void shmfs_passthrough_open_out(struct shmfs_fuse_open_out *out, uint64_t fh,
				int backing_id)
{
	memset(out, 0, sizeof(*out));
	out->fh = fh;
	/* No FLUSH on close: nothing is cached in the daemon to flush. */
	out->open_flags = SHMFS_FOPEN_PASSTHROUGH | FOPEN_NOFLUSH;
	out->backing_id = backing_id;
}

/* SPDX-License-Identifier: MIT */
/*
 * The protocol beyond libfuse 3.14 (see kernel.h).
 *
 * A reply the kernel refuses must not be left to libfuse 3.14: its
 * fuse_send_msg() perror()s it, and glibc's perror() dup()s stderr and
 * fdopen()s the copy, calls a worker's seccomp filter denies (so the worker
 * died of the failed reply), and then nobody answers the request. What the
 * kernel does with it depends on where the write failed (fuse_dev_do_write):
 * a bad payload (EFAULT) ends the request with EIO; a header it rejects
 * (EINVAL: a length or an error value out of range) leaves the request
 * waiting, and its caller with it, for as long as the mount lives. So every
 * refused reply is followed by a header-only EIO reply of our own: it ends
 * a request still waiting, or meets ENOENT if the kernel ended it already.
 * libfuse is then told ENOENT, its "the request is gone" case, which it
 * does not report.
 *
 * The hooks have no splice functions, so libfuse never negotiates splice:
 * requests are read and replies written with read and writev alone (no
 * pipes, which the workers' filter does not allow).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <linux/capability.h>

#include "shmfs/cycle.h"
#include "shmfs/fault.h"
#include "shmfs/kernel.h"
#include "shmfs/log.h"
#include "shmfs/uring.h"

/* The connection, as INIT and the backing files left it. */
static struct {
	uint64_t init_unique; /* INIT's request, while its reply is awaited */
	bool catching;	      /* the INIT hook sees that reply */
	bool patching;	      /* ... and asks for passthrough in it */
	bool negotiated; /* the INIT reply went out asking for passthrough */
	const char *no_passthrough; /* why not; NULL: it can be had */
	int no_passthrough_err;
	/* The exchange as the kernel took it; replaying: fed to libfuse. */
	struct shmfs_kernel_init init;
	bool recorded;
	bool replaying;	   /* the read hook returns init.in, once */
	bool replay_match; /* libfuse's new reply is the recorded one */
	bool want_uring;   /* the INIT reply asks for rings if offered */
	/* A worker serving a ring entry takes the replies to its request. */
	ssize_t (*sink)(const struct iovec *iov, int count, void *arg);
	void *sink_arg;
	uint64_t sink_unique;
} conn;

static void refuse_passthrough(const char *why, int err)
{
	if (conn.no_passthrough == NULL) {
		conn.no_passthrough = why;
		conn.no_passthrough_err = err;
	}
}

/* ------------------------------------------------------------ probe */

bool shmfs_kernel_has_sys_admin(void)
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

const char *shmfs_kernel_passthrough_probe(void)
{
	struct utsname u;
	unsigned major, minor;

	if (uname(&u) == 0 && sscanf(u.release, "%u.%u", &major, &minor) == 2 &&
	    (major < 6 || (major == 6 && minor < 9)))
		return "the kernel is older than 6.9";
	if (!shmfs_kernel_has_sys_admin())
		return "no CAP_SYS_ADMIN";
	if (!initial_user_ns())
		return "a user namespace (CAP_SYS_ADMIN must be in the "
		       "initial one)";
	return NULL;
}

/* ------------------------------------------------------------ the hooks */

static ssize_t read_request(int fd, void *buf, size_t len, void *userdata)
{
	(void)userdata;
	if (conn.replaying) {
		conn.replaying = false;
		if (len < conn.init.in_len) {
			errno = EINVAL;
			return -1;
		}
		memcpy(buf, conn.init.in, conn.init.in_len);
		return conn.init.in_len;
	}
	return read(fd, buf, len);
}

int shmfs_kernel_answer(int fd, uint64_t unique, int err)
{
	struct fuse_out_header out = {
		.len = sizeof(out),
		.error = -err,
		.unique = unique,
	};
	ssize_t n = write(fd, &out, sizeof(out));

	if (n == (ssize_t)sizeof(out))
		return 0;
	return n < 0 ? -errno : -EIO;
}

/* After a reply to request unique failed with err: make sure it ends. */
static void answer_again(int fd, uint64_t unique, int err)
{
	int res = shmfs_kernel_answer(fd, unique, EIO);

	if (res == 0)
		shmfs_log_sys(LOG_ERR, err,
			      "the reply to request %llu was refused; "
			      "answered with EIO",
			      (unsigned long long)unique);
	else if (res == -ENOENT)
		shmfs_log_sys(LOG_ERR, err,
			      "the reply to request %llu failed; "
			      "the kernel answered it with EIO",
			      (unsigned long long)unique);
	else
		shmfs_log_sys(LOG_ERR, -res,
			      "the reply to request %llu failed (%d: %s), and "
			      "so did answering it with EIO",
			      (unsigned long long)unique, err, strerror(err));
}

/* Every reply after INIT: one writev; a refused one is answered again. */
static ssize_t write_reply(int fd, struct iovec *iov, int count, void *userdata)
{
	const struct fuse_out_header *out = iov[0].iov_base;
	ssize_t n;
	int err;

	(void)userdata;
	if (conn.sink != NULL && iov[0].iov_len == sizeof(*out) &&
	    out->unique == conn.sink_unique)
		return conn.sink(iov, count, conn.sink_arg);
	n = writev(fd, iov, count);
	if (n >= 0 || errno == ENOENT)
		return n;
	err = errno;
	/* Notifications (unique 0) and interrupts' replies have no caller. */
	if (iov[0].iov_len < sizeof(*out) || out->unique == 0 ||
	    (out->unique & SHMFS_FUSE_INT_REQ_BIT)) {
		errno = err;
		return n;
	}
	answer_again(fd, out->unique, err);
	errno = ENOENT;
	return -1;
}

static size_t iov_bytes(const struct iovec *iov, int count)
{
	size_t n = 0;

	for (int i = 0; i < count; i++)
		n += iov[i].iov_len;
	return n;
}

/*
 * A replayed INIT's reply is libfuse's to make and ours to swallow: the
 * kernel took the recorded one already and takes no second. It must say
 * what the recorded one said (the same binary and libfuse want the same
 * contract); a reply that does not is logged, and the connection serves
 * under the recorded contract, the kernel's.
 */
static ssize_t swallow_replayed(struct iovec *iov, int count)
{
	const struct fuse_out_header *out = iov[0].iov_base;

	conn.replay_match =
		out->error == 0 && count >= 2 &&
		iov[1].iov_len == conn.init.out_len &&
		memcmp(iov[1].iov_base, conn.init.out, conn.init.out_len) == 0;
	return (ssize_t)iov_bytes(iov, count);
}

static uint32_t recorded_flags2(void);

/* The master's, until INIT is answered: patches and records its reply. */
static ssize_t write_init_reply(int fd, struct iovec *iov, int count,
				void *userdata)
{
	const struct fuse_out_header *out = iov[0].iov_base;
	bool init = conn.catching && count >= 2 &&
		    iov[0].iov_len == sizeof(*out) &&
		    out->unique == conn.init_unique;
	ssize_t n;

	if (!init)
		return write_reply(fd, iov, count, userdata);
	conn.catching = false;
	if (conn.patching)
		conn.negotiated = out->error == 0 &&
				  shmfs_kernel_patch_init(iov[1].iov_base,
							  iov[1].iov_len) == 0;
	/* Rings: asked for if offered; replayed as the kernel took them. */
	if (out->error == 0 &&
	    (conn.recorded
		     ? (recorded_flags2() & SHMFS_FUSE_OVER_IO_URING_FLAGS2)
		     : conn.want_uring &&
			       shmfs_uring_init_no_uring(
				       conn.init.in, conn.init.in_len) == NULL))
		shmfs_uring_patch_init(iov[1].iov_base, iov[1].iov_len);
	if (conn.recorded) /* a replay: the kernel has its reply */
		return swallow_replayed(iov, count);
	n = write_reply(fd, iov, count, userdata);
	if (n >= 0 && out->error == 0 &&
	    iov[1].iov_len <= sizeof(conn.init.out)) {
		memcpy(conn.init.out, iov[1].iov_base, iov[1].iov_len);
		conn.init.out_len = iov[1].iov_len;
		conn.recorded = true;
	}
	return n;
}

/*
 * libfuse 3.14 copies the io into a struct of its own and frees only the
 * last one it was given: the INIT hook's copy stays allocated (32 bytes,
 * once per mount). That is the price of a worker hook with no INIT check.
 */
static int install(struct fuse_session *se, const struct fuse_custom_io *io)
{
	int res = fuse_session_custom_io(se, io, fuse_session_fd(se));

	if (res < 0)
		shmfs_log_sys(LOG_ERR, -res, "fuse_session_custom_io failed");
	return res;
}

/* ------------------------------------------------------------ INIT */

const char *shmfs_kernel_init_no_passthrough(const void *request, size_t len)
{
	const struct fuse_in_header *in = request;
	const struct fuse_init_in *init = (const void *)(in + 1);

	if (len < sizeof(*in) + offsetof(struct fuse_init_in, flags2) +
			    sizeof(init->flags2) ||
	    !(init->flags & FUSE_INIT_EXT) ||
	    !(init->flags2 & SHMFS_FUSE_PASSTHROUGH_FLAGS2))
		return "the kernel does not offer FUSE passthrough";
	return NULL;
}

int shmfs_kernel_patch_init(void *init_out, size_t len)
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

/* Reads INIT and has libfuse answer it (through the INIT hook, if set). */
static int answer_init(struct fuse_session *se)
{
	struct fuse_buf buf = {.mem = NULL};
	int res = fuse_session_receive_buf(se, &buf);
	int err = 0;

	if (res <= 0) {
		err = res < 0 ? res : -EIO;
		shmfs_log_sys(LOG_ERR, -err, "reading FUSE INIT failed");
		goto out;
	}
	const struct fuse_in_header *in = buf.mem;
	if (in->opcode != FUSE_INIT) {
		shmfs_log_error("first request is opcode %u, not FUSE_INIT",
				in->opcode);
		err = -EPROTO;
		goto out;
	}
	const char *why = shmfs_kernel_init_no_passthrough(buf.mem, res);
	conn.init_unique = in->unique;
	conn.catching = true;
	conn.patching = why == NULL;
	if (why != NULL)
		refuse_passthrough(why, 0);
	if (!conn.recorded && (size_t)res <= sizeof(conn.init.in)) {
		memcpy(conn.init.in, buf.mem, res);
		conn.init.in_len = res;
	}
	fuse_session_process_buf(se, &buf);
	if (fuse_session_exited(se)) {
		shmfs_log_error("FUSE INIT failed: the kernel refused the "
				"connection");
		err = -EPROTO;
	}
	conn.catching = false;
	if (!conn.negotiated && why == NULL)
		refuse_passthrough("the INIT reply could not ask for it", 0);
out:
	free(buf.mem);
	return err;
}

int shmfs_kernel_init(struct fuse_session *se)
{
	static const struct fuse_custom_io init_io = {
		.read = read_request,
		.writev = write_init_reply,
	};
	static const struct fuse_custom_io worker_io = {
		.read = read_request,
		.writev = write_reply,
	};
	int err;

	if (install(se, &init_io) < 0) {
		refuse_passthrough("fuse_session_custom_io failed", 0);
		if (conn.replaying) /* without the hook, INIT would be read */
			return -EIO;
		conn.recorded = false;
		return answer_init(se);
	}
	err = answer_init(se);
	if (err == 0)
		install(se, &worker_io); /* else replies keep the INIT check */
	return err;
}

const struct shmfs_kernel_init *shmfs_kernel_init_recorded(void)
{
	return conn.recorded && !conn.replaying ? &conn.init : NULL;
}

/* The flags2 of the recorded reply (0 if it is too short to have them). */
static uint32_t recorded_flags2(void)
{
	uint32_t flags2 = 0;

	if (conn.init.out_len >= SHMFS_INIT_OUT_FLAGS2 + sizeof(flags2))
		memcpy(&flags2, conn.init.out + SHMFS_INIT_OUT_FLAGS2,
		       sizeof(flags2));
	return flags2;
}

int shmfs_kernel_replay_init(struct fuse_session *se,
			     const struct shmfs_kernel_init *rec)
{
	int err;

	if (rec->in_len < sizeof(struct fuse_in_header) ||
	    rec->in_len > sizeof(conn.init.in) ||
	    rec->out_len > sizeof(conn.init.out)) {
		shmfs_log_error("the recorded FUSE INIT is %u bytes, and its "
				"reply %u: not a record of ours",
				rec->in_len, rec->out_len);
		return -EPROTO;
	}
	conn.init = *rec;
	conn.recorded = true;
	conn.replaying = true;
	err = shmfs_kernel_init(se);
	conn.replaying = false;
	if (err < 0)
		return err;
	/* The kernel's contract is the recorded reply's, whatever we said. */
	conn.negotiated =
		(recorded_flags2() & SHMFS_FUSE_PASSTHROUGH_FLAGS2) != 0;
	if (conn.negotiated)
		conn.no_passthrough = NULL;
	else
		refuse_passthrough("the recorded INIT reply did not ask for "
				   "it",
				   0);
	if (!conn.replay_match)
		shmfs_log_warn("FUSE INIT replayed: libfuse's reply differs "
			       "from the one the kernel took (another "
			       "build?); serving under the recorded one");
	return 0;
}

void shmfs_kernel_want_uring(bool want)
{
	conn.want_uring = want;
}

bool shmfs_kernel_uring(void)
{
	return conn.recorded &&
	       (recorded_flags2() & SHMFS_FUSE_OVER_IO_URING_FLAGS2) != 0;
}

size_t shmfs_kernel_uring_payload(void)
{
	uint32_t max_write = 0;
	uint16_t max_pages = 0;

	if (conn.init.out_len >= SHMFS_INIT_OUT_MAX_PAGES + sizeof(max_pages)) {
		memcpy(&max_write, conn.init.out + SHMFS_INIT_OUT_MAX_WRITE,
		       sizeof(max_write));
		memcpy(&max_pages, conn.init.out + SHMFS_INIT_OUT_MAX_PAGES,
		       sizeof(max_pages));
	}
	return shmfs_uring_payload_size(max_write, max_pages,
					(size_t)sysconf(_SC_PAGESIZE));
}

void shmfs_kernel_reply_sink(ssize_t (*sink)(const struct iovec *, int, void *),
			     void *arg, uint64_t unique)
{
	conn.sink = sink;
	conn.sink_arg = arg;
	conn.sink_unique = unique;
}

int shmfs_kernel_abort(const char *mountpoint)
{
	struct statx stx;
	char path[64];
	int fd, err = 0;

	/* Cached attributes only: a request now might never be answered. */
	if (statx(AT_FDCWD, mountpoint, AT_STATX_DONT_SYNC, 0, &stx) < 0)
		return -errno;
	/* The connection's name is the kernel's dev_t of the superblock. */
	snprintf(path, sizeof(path), "/sys/fs/fuse/connections/%u/abort",
		 (stx.stx_dev_major << 20) | stx.stx_dev_minor);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, "1", 1) != 1)
			err = -errno;
		close(fd);
		return err;
	}
	/*
	 * No fusectl mounted there: a forced unmount aborts the connection
	 * first (fuse_umount_begin), then fails with EBUSY while callers
	 * are inside, which is what is wanted.
	 */
	if (umount2(mountpoint, MNT_FORCE) < 0 && errno != EBUSY)
		return -errno;
	return 0;
}

bool shmfs_kernel_can_resend(void)
{
	SHMFS_FAULT_RETURN("no_resend", false);
	const struct fuse_init_in *init =
		(const void *)(conn.init.in + sizeof(struct fuse_in_header));

	return conn.recorded &&
	       conn.init.in_len >=
		       sizeof(struct fuse_in_header) +
			       offsetof(struct fuse_init_in, flags2) +
			       sizeof(init->flags2) &&
	       (init->flags & FUSE_INIT_EXT) &&
	       (init->flags2 & SHMFS_FUSE_HAS_RESEND_FLAGS2);
}

int shmfs_kernel_resend(int fd)
{
	struct fuse_out_header out = {
		.len = sizeof(out),
		.error = SHMFS_FUSE_NOTIFY_RESEND,
		.unique = 0,
	};

	if (!shmfs_kernel_can_resend())
		return -ENOSYS;
	if (write(fd, &out, sizeof(out)) != (ssize_t)sizeof(out))
		return -errno;
	return 0;
}

bool shmfs_kernel_aborted(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT};

	return poll(&p, 1, 0) < 0 || (p.revents & (POLLERR | POLLNVAL));
}

int shmfs_kernel_clone(int fd)
{
	uint32_t master_fd = fd;
	int clone;

	SHMFS_FAULT_RETURN("no_clone", -EACCES);
	clone = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (clone < 0)
		return -errno;
	if (ioctl(clone, FUSE_DEV_IOC_CLONE, &master_fd) < 0) {
		int err = errno;
		close(clone);
		return -err;
	}
	return clone;
}

/* ------------------------------------------------------- backing files */

static int backing_open_ioctl(struct fuse_session *se, int fd)
{
	struct shmfs_fuse_backing_map map = {.fd = fd};
	int id;

	SHMFS_FAULT_RETURN("no_passthrough", -EPERM);
	id = ioctl(fuse_session_fd(se), SHMFS_FUSE_DEV_IOC_BACKING_OPEN, &map);
	return id < 0 ? -errno : id;
}

int shmfs_kernel_backing_open(struct fuse_session *se, int fd)
{
	int id;

	if (conn.no_passthrough)
		return -EPERM;
	id = backing_open_ioctl(se, fd);
	if (id < 0)
		refuse_passthrough("ioctl(FUSE_DEV_IOC_BACKING_OPEN) failed; "
				   "it needs CAP_SYS_ADMIN in the initial "
				   "user namespace",
				   -id);
	return id;
}

void shmfs_kernel_backing_close(struct fuse_session *se, int id)
{
	uint32_t backing_id = (uint32_t)id;

	if (id > 0 && ioctl(fuse_session_fd(se),
			    SHMFS_FUSE_DEV_IOC_BACKING_CLOSE, &backing_id) < 0)
		shmfs_log_sys(LOG_WARNING, errno,
			      "ioctl(FUSE_DEV_IOC_BACKING_CLOSE, %d) failed",
			      id);
}

static int conn_open_backing(void *se, int fd)
{
	return shmfs_kernel_backing_open(se, fd);
}

static void conn_close_backing(void *se, int id)
{
	shmfs_kernel_backing_close(se, id);
}

static const char *conn_no_passthrough(void *se, int *err)
{
	(void)se;
	*err = conn.no_passthrough_err;
	return conn.no_passthrough;
}

void shmfs_kernel_cycle_conn(struct fuse_session *se,
			     struct shmfs_cycle_conn *c)
{
	c->open_backing = conn_open_backing;
	c->close_backing = conn_close_backing;
	c->no_passthrough = conn_no_passthrough;
	c->arg = se;
}

/* ------------------------------------------------------------ replies */

void shmfs_kernel_passthrough_open_out(struct shmfs_fuse_open_out *out,
				       uint64_t fh, int backing_id)
{
	memset(out, 0, sizeof(*out));
	out->fh = fh;
	/* No FLUSH on close: nothing is cached in the daemon to flush. */
	out->open_flags = SHMFS_FOPEN_PASSTHROUGH | FOPEN_NOFLUSH;
	out->backing_id = backing_id;
}

void shmfs_kernel_reply_open_passthrough(fuse_req_t req, uint64_t fh,
					 int backing_id)
{
	struct shmfs_fuse_open_out out;

	shmfs_kernel_passthrough_open_out(&out, fh, backing_id);
	fuse_reply_buf(req, (const char *)&out, sizeof(out));
}

void shmfs_kernel_reply_open_direct(fuse_req_t req, uint64_t fh)
{
	struct fuse_open_out out = {
		.fh = fh,
		.open_flags = FOPEN_DIRECT_IO | FOPEN_PARALLEL_DIRECT_WRITES,
	};

	fuse_reply_buf(req, (const char *)&out, sizeof(out));
}

uint64_t shmfs_kernel_unique(const void *request)
{
	return ((const struct fuse_in_header *)request)->unique;
}

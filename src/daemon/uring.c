/* SPDX-License-Identifier: MIT */
/*
 * FUSE over io_uring, what can be had without a ring (see uring.h, and
 * docs/io_uring.md for the design this prepares).
 *
 * The probe never changes the machine: enable_uring is the
 * administrator's switch, read and never written, and the throw-away ring
 * it makes is closed at once. Every reason it gives names what to change.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <linux/io_uring.h>

#include "shmfs/kernel.h"
#include "shmfs/limits.h"
#include "shmfs/log.h"
#include "shmfs/uring.h"

#define ENABLE_URING "/sys/module/fuse/parameters/enable_uring"

_Static_assert(sizeof(struct io_uring_sqe) == 64, "a plain SQE is 64 bytes");
_Static_assert(offsetof(struct io_uring_sqe, cmd) == SHMFS_URING_SQE_CMD_OFFSET,
	       "the command area starts at byte 48");
_Static_assert(SHMFS_URING_SQE_CMD_OFFSET + SHMFS_URING_SQE_CMD_SIZE ==
		       SHMFS_URING_SQE128_SIZE,
	       "the command area runs to the end of a 128-byte SQE");

/* ------------------------------------------------------------ the probe */

const char *shmfs_uring_why_not(const struct shmfs_uring_facts *f)
{
	if (f->major != 0 && (f->major < 6 || (f->major == 6 && f->minor < 14)))
		return "the kernel is older than 6.14";
	if (f->io_uring_disabled == 2)
		return "io_uring is disabled (kernel.io_uring_disabled = 2)";
	if (f->io_uring_disabled == 1 && !f->may_use_restricted)
		return "io_uring is only for CAP_SYS_ADMIN and "
		       "kernel.io_uring_group (kernel.io_uring_disabled = 1)";
	if (f->setup_errno == ENOSYS)
		return "the kernel has no io_uring";
	if (f->setup_errno == EPERM || f->setup_errno == EACCES)
		return "io_uring_setup is not permitted here (a seccomp "
		       "filter or a container's policy)";
	if (f->setup_errno == EINVAL)
		return "the kernel's io_uring has no 128-byte SQEs";
	if (f->setup_errno != 0)
		return "io_uring_setup failed";
	if (!f->fuse_loaded)
		return "the fuse module is not loaded (its enable_uring "
		       "cannot be read)";
	if (f->enable_uring == 0)
		return "the kernel's fuse has no io_uring "
		       "(CONFIG_FUSE_IO_URING)";
	if (f->enable_uring != 'Y')
		return "the fuse module's enable_uring is off (echo Y "
		       "> " ENABLE_URING ", or fuse.enable_uring=1)";
	return NULL;
}

/* An integer file of /proc; fallback if it cannot be read. */
static long read_long(const char *path, long fallback)
{
	FILE *f = fopen(path, "re");
	long v;

	if (f == NULL)
		return fallback;
	if (fscanf(f, "%ld", &v) != 1)
		v = fallback;
	fclose(f);
	return v;
}

/* io_uring_disabled = 1 lets CAP_SYS_ADMIN and io_uring_group in. */
static bool may_use_restricted(void)
{
	long group = read_long("/proc/sys/kernel/io_uring_group", -1);
	gid_t groups[256];
	int n;

	if (shmfs_kernel_has_sys_admin())
		return true;
	if (group < 0)
		return false;
	if ((gid_t)group == getegid())
		return true;
	n = getgroups(sizeof(groups) / sizeof(*groups), groups);
	for (int i = 0; i < n; i++)
		if (groups[i] == (gid_t)group)
			return true;
	return false;
}

/* enable_uring as read: 'Y', 'N', or 0 if the file is missing. */
static char read_enable_uring(void)
{
	char c = 0;
	int fd = open(ENABLE_URING, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	if (read(fd, &c, 1) != 1)
		c = 'N';
	close(fd);
	return c == '1' ? 'Y' : c;
}

/* A ring with 128-byte SQEs, made and closed: 0 or the errno. */
static int try_setup(void)
{
	struct io_uring_params p = {.flags = IORING_SETUP_SQE128};
	long fd = syscall(SYS_io_uring_setup, 1, &p);

	if (fd < 0)
		return errno;
	close((int)fd);
	return 0;
}

const char *shmfs_uring_probe(void)
{
	struct shmfs_uring_facts f = {.io_uring_disabled = 0};
	struct utsname u;
	struct stat st;

	if (uname(&u) < 0 ||
	    sscanf(u.release, "%u.%u", &f.major, &f.minor) != 2)
		f.major = f.minor = 0;
	/* Kernels before 6.6 have no such switch: io_uring is on. */
	f.io_uring_disabled =
		(int)read_long("/proc/sys/kernel/io_uring_disabled", 0);
	f.may_use_restricted =
		f.io_uring_disabled == 1 ? may_use_restricted() : true;
	f.fuse_loaded = stat("/sys/module/fuse", &st) == 0;
	f.enable_uring = read_enable_uring();
	/* Only where it may be allowed: a denied setup says nothing new. */
	if (f.io_uring_disabled == 0 ||
	    (f.io_uring_disabled == 1 && f.may_use_restricted))
		f.setup_errno = try_setup();
	return shmfs_uring_why_not(&f);
}

/* ------------------------------------------------- the io_uring key */

const char *shmfs_uring_pool_why_not(unsigned workers, unsigned possible)
{
	static char why[160];

	if (possible == 0)
		return "the possible CPUs cannot be read "
		       "(/sys/devices/system/cpu/possible)";
	if (possible > SHMFS_WORKERS_MAX) {
		snprintf(why, sizeof(why),
			 "%u possible CPUs, more than %d workers", possible,
			 SHMFS_WORKERS_MAX);
		return why;
	}
	if (workers != 0 && workers != possible) {
		snprintf(why, sizeof(why),
			 "workers = %u, and rings need one worker per "
			 "possible CPU (workers = auto or %u)",
			 workers, possible);
		return why;
	}
	return NULL;
}

unsigned shmfs_uring_possible_cpus(void)
{
	FILE *f = fopen("/sys/devices/system/cpu/possible", "re");
	unsigned first = 0, last = 0;
	int n;

	if (f == NULL)
		return 0;
	n = fscanf(f, "%u-%u", &first, &last);
	fclose(f);
	if (n == 1)
		last = first;
	/* Queues are numbered by CPU: the kernel's possible set is 0..N-1. */
	return n >= 1 && first == 0 ? last + 1 : 0;
}

const char *shmfs_uring_why_not_here(unsigned workers)
{
	const char *why = shmfs_uring_probe();

	return why ? why
		   : shmfs_uring_pool_why_not(workers,
					      shmfs_uring_possible_cpus());
}

int shmfs_uring_check_start(const struct shmfs_config *cfg, unsigned workers,
			    bool adopting)
{
	const char *why;

	if (cfg->io_uring != SHMFS_IO_URING_ON)
		return 0;
	why = shmfs_uring_why_not_here(workers);
	if (why == NULL)
		return 0;
	if (adopting) {
		shmfs_log_warn("%s: io_uring = on: %s; the adopted mount "
			       "serves as it did",
			       cfg->file, why);
		return 0;
	}
	shmfs_log_error("%s: io_uring = on: %s", cfg->file, why);
	return -1;
}

void shmfs_uring_log_transport(const struct shmfs_config *cfg, unsigned workers,
			       unsigned nqueues)
{
	const struct shmfs_kernel_init *init = shmfs_kernel_init_recorded();
	const char *why;

	if (nqueues > 0) {
		shmfs_log_info("io_uring: serving %u queues, one worker "
			       "pinned to each CPU",
			       nqueues);
		return;
	}
	if (cfg->io_uring == SHMFS_IO_URING_OFF)
		return;
	why = shmfs_uring_why_not_here(workers);
	if (why == NULL && init != NULL)
		why = shmfs_uring_init_no_uring(init->in, init->in_len);
	shmfs_log_info("io_uring: not used: %s",
		       why ? why : "the INIT reply could not ask for it");
}

/* ------------------------------------------------------------ INIT */

const char *shmfs_uring_init_no_uring(const void *request, size_t len)
{
	const unsigned char *init =
		(const unsigned char *)request + sizeof(struct fuse_in_header);
	uint32_t flags, flags2;

	if (len < sizeof(struct fuse_in_header) + SHMFS_INIT_IN_FLAGS2 +
			  sizeof(flags2))
		return "the kernel's INIT has no flags2 (protocol before "
		       "7.36)";
	memcpy(&flags, init + SHMFS_INIT_IN_FLAGS, sizeof(flags));
	memcpy(&flags2, init + SHMFS_INIT_IN_FLAGS2, sizeof(flags2));
	if (!(flags & FUSE_INIT_EXT) ||
	    !(flags2 & SHMFS_FUSE_OVER_IO_URING_FLAGS2))
		return "the kernel did not offer it in INIT (enable_uring "
		       "was off at the mount)";
	return NULL;
}

int shmfs_uring_patch_init(void *init_out, size_t len)
{
	unsigned char *p = init_out;
	uint32_t flags, flags2;

	if (len < SHMFS_INIT_OUT_FLAGS2 + sizeof(flags2))
		return -EINVAL;
	memcpy(&flags, p + SHMFS_INIT_OUT_FLAGS, sizeof(flags));
	memcpy(&flags2, p + SHMFS_INIT_OUT_FLAGS2, sizeof(flags2));
	flags |= FUSE_INIT_EXT;
	flags2 |= SHMFS_FUSE_OVER_IO_URING_FLAGS2;
	memcpy(p + SHMFS_INIT_OUT_FLAGS, &flags, sizeof(flags));
	memcpy(p + SHMFS_INIT_OUT_FLAGS2, &flags2, sizeof(flags2));
	return 0;
}

size_t shmfs_uring_payload_size(uint32_t max_write, uint32_t max_pages,
				size_t page)
{
	size_t size = SHMFS_FUSE_URING_MIN_PAYLOAD;

	if (max_write > size)
		size = max_write;
	if ((size_t)max_pages * page > size)
		size = (size_t)max_pages * page;
	return size;
}

/* ------------------------------------------------------------ SQEs */

/* The common part: a URING_CMD on fuse_fd, its request in the cmd area. */
static void prep_cmd(void *sqe, int fuse_fd, uint32_t cmd_op,
		     const struct shmfs_fuse_uring_cmd_req *req,
		     uint64_t user_data)
{
	struct io_uring_sqe *s = sqe;

	memset(sqe, 0, SHMFS_URING_SQE128_SIZE);
	s->opcode = IORING_OP_URING_CMD;
	s->fd = fuse_fd;
	s->cmd_op = cmd_op;
	s->user_data = user_data;
	memcpy((unsigned char *)sqe + SHMFS_URING_SQE_CMD_OFFSET, req,
	       sizeof(*req));
}

void shmfs_uring_prep_register(void *sqe, int fuse_fd, uint16_t qid,
			       const struct iovec iov[2], uint64_t user_data)
{
	struct shmfs_fuse_uring_cmd_req req = {.qid = qid};
	struct io_uring_sqe *s = sqe;

	prep_cmd(sqe, fuse_fd, SHMFS_FUSE_IO_URING_CMD_REGISTER, &req,
		 user_data);
	s->addr = (uint64_t)(uintptr_t)iov;
	s->len = SHMFS_FUSE_URING_IOV_SEGS;
}

void shmfs_uring_prep_commit(void *sqe, int fuse_fd, uint16_t qid,
			     uint64_t commit_id, uint64_t user_data)
{
	struct shmfs_fuse_uring_cmd_req req = {
		.commit_id = commit_id,
		.qid = qid,
	};

	prep_cmd(sqe, fuse_fd, SHMFS_FUSE_IO_URING_CMD_COMMIT_AND_FETCH, &req,
		 user_data);
}

/* ---------------------------------------------------- a ring entry */

int shmfs_uring_parse(const struct shmfs_fuse_uring_req_header *h,
		      size_t payload_cap, struct shmfs_uring_req *req)
{
	struct fuse_in_header in;
	const struct shmfs_fuse_uring_ent_in_out *ent = &h->ring_ent_in_out;
	uint64_t rest;

	memcpy(&in, h->in_out, sizeof(in));
	if (in.unique == 0 || ent->commit_id != in.unique ||
	    ent->payload_sz > payload_cap || in.len < sizeof(in))
		return -EPROTO;
	rest = (uint64_t)in.len - sizeof(in);
	if (rest < ent->payload_sz ||
	    rest - ent->payload_sz > SHMFS_FUSE_URING_OP_IN_OUT_SZ)
		return -EPROTO;
	*req = (struct shmfs_uring_req){
		.opcode = in.opcode,
		.unique = in.unique,
		.nodeid = in.nodeid,
		.len = in.len,
		.arg0_size = (uint32_t)(rest - ent->payload_sz),
		.payload_sz = ent->payload_sz,
	};
	return 0;
}

void shmfs_uring_error_reply(struct shmfs_fuse_uring_req_header *h,
			     uint64_t unique, int err)
{
	struct fuse_out_header out = {
		.len = sizeof(out),
		.error = -err,
		.unique = unique,
	};

	memcpy(h->in_out, &out, sizeof(out));
	h->ring_ent_in_out.payload_sz = 0;
}

/* ------------------------------------------------------ recovery */

bool shmfs_uring_replayable(const struct shmfs_fuse_uring_req_header *h)
{
	struct fuse_in_header in;
	struct fuse_open_in open;

	memcpy(&in, h->in_out, sizeof(in));
	switch (in.opcode) {
	case FUSE_READ:
	case FUSE_GETATTR:
	case FUSE_LOOKUP:
	case FUSE_STATFS:
		return true;
	case FUSE_WRITE:
		/*
		 * The zone's robust lock: a writer that died holding it left
		 * the length as it was, and the next locker zeroes what it
		 * copied past it (zone.c); bytes it overwrote within are the
		 * ones the replayed write puts there again. So a replay
		 * completes the write, as if the first attempt never ran.
		 */
		return true;
	case FUSE_OPEN:
		/* A truncation done twice undoes writes made in between. */
		memcpy(&open, h->op_in, sizeof(open));
		return !(open.flags & O_TRUNC);
	default:
		return false;
	}
}

enum shmfs_uring_action
shmfs_uring_recovery(const void *hdr, const struct shmfs_uring_record *rec,
		     uint32_t *deaths)
{
	const struct shmfs_fuse_uring_req_header *h = hdr;
	uint64_t unique;

	memcpy(&unique, h->in_out + offsetof(struct fuse_in_header, unique),
	       sizeof(unique));
	*deaths = rec->deaths;
	if (rec->state == SHMFS_URING_FREE)
		return SHMFS_URING_NOTHING;
	/* The kernel put a request there after the worker last looked. */
	if (unique != 0 && unique != rec->unique)
		return SHMFS_URING_SERVE;
	switch (rec->state) {
	case SHMFS_URING_SERVING:
		*deaths = rec->deaths + 1;
		return *deaths < SHMFS_URING_POISON && shmfs_uring_replayable(h)
			       ? SHMFS_URING_REPLAY
			       : SHMFS_URING_FAIL;
	case SHMFS_URING_REPLYING:
		return SHMFS_URING_FAIL; /* the request is half overwritten */
	case SHMFS_URING_COMMITTING:
		return SHMFS_URING_RECOMMIT;
	default: /* ARMED, its reply committed: the exit cancelled it */
		return SHMFS_URING_RELEASE;
	}
}

const char *shmfs_uring_action_name(enum shmfs_uring_action action)
{
	static const char *const names[] = {
		[SHMFS_URING_NOTHING] = "nothing",
		[SHMFS_URING_RELEASE] = "release",
		[SHMFS_URING_SERVE] = "serve",
		[SHMFS_URING_REPLAY] = "replay",
		[SHMFS_URING_FAIL] = "fail",
		[SHMFS_URING_RECOMMIT] = "recommit",
	};

	return action <= SHMFS_URING_RECOMMIT ? names[action] : "?";
}

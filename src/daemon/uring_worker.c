/* SPDX-License-Identifier: MIT */
/*
 * A ring worker (see uring_worker.h and docs/io_uring.md).
 *
 * Every step a worker takes with an entry is recorded in the entry's slot
 * before it is taken (uring.h: ARMED, SERVING, REPLYING, COMMITTING), in
 * memory its replacement inherits; the replacement's decision for each
 * slot is shmfs_uring_recovery. The request is handed to libfuse 3.14 as
 * /dev/fuse would have delivered it: the header and the first argument
 * are copied into the slack just before the payload, which makes the
 * request contiguous without copying its data. libfuse's reply comes back
 * through the writev hook (kernel.c), which hands the reply to this
 * request to reply_into_entry: the header goes into in_out, the body
 * into the payload, and the entry is committed with the next wait, so a
 * request costs one io_uring_enter.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "shmfs/exit.h"
#include "shmfs/fault.h"
#include "shmfs/kernel.h"
#include "shmfs/log.h"
#include "shmfs/uring_worker.h"

/* What a completion is about: the top byte of its user_data. */
enum {
	TAG_ENTRY = 1,	  /* a slot's REGISTER or COMMIT_AND_FETCH */
	TAG_RECOVERY = 2, /* a recovery commit: ENOENT is expected */
	TAG_INPUT = 3,	  /* the device has FORGETs, INTERRUPTs to read */
	TAG_FENCE = 4,	  /* the exit fence (never completes by itself) */
};
#define TAG(t, slot) ((uint64_t)(t) << 56 | (slot))
#define TAG_OF(ud) ((unsigned)((ud) >> 56))
#define SLOT_OF(ud) ((unsigned)((ud)&0xffffffffu))

static struct shmfs_uring_record *record(const struct shmfs_uring_worker *w,
					 unsigned s)
{
	return shmfs_uring_slot_record(w->rings, w->qid, s);
}

static struct shmfs_fuse_uring_req_header *
header(const struct shmfs_uring_worker *w, unsigned s)
{
	return shmfs_uring_slot_header(w->rings, w->qid, s);
}

static void set_state(struct shmfs_uring_record *rec, uint32_t state)
{
	atomic_store_explicit((_Atomic uint32_t *)&rec->state, state,
			      memory_order_release);
}

/* An SQE, or the ring is full: submit what is there and take one. */
static void *sqe(struct shmfs_uring_worker *w)
{
	void *s = shmfs_ring_sqe(&w->ring);

	if (s == NULL && shmfs_ring_enter(&w->ring, false) >= 0)
		s = shmfs_ring_sqe(&w->ring);
	return s;
}

static void queue_poll(struct shmfs_uring_worker *w, int fd, uint64_t tag,
		       bool multishot)
{
	struct io_uring_sqe *s = sqe(w);

	if (s == NULL)
		return;
	s->opcode = IORING_OP_POLL_ADD;
	s->fd = fd;
	s->poll32_events = POLLIN;
	s->len = multishot ? IORING_POLL_ADD_MULTI : 0;
	s->user_data = tag;
}

static void queue_register(struct shmfs_uring_worker *w, unsigned s)
{
	struct iovec iov[2] = {
		{header(w, s), sizeof(struct shmfs_fuse_uring_req_header)},
		{shmfs_uring_slot_payload(w->rings, w->qid, s),
		 w->rings->g.payload},
	};
	void *q = sqe(w);

	if (q == NULL)
		return;
	/* A unique other than the record's is a request the kernel put. */
	memset(header(w, s)->in_out, 0, sizeof(struct fuse_in_header));
	record(w, s)->unique = 0;
	record(w, s)->deaths = 0;
	set_state(record(w, s), SHMFS_URING_ARMED);
	/* The kernel copies the iovecs at the submission, just below. */
	shmfs_uring_prep_register(q, w->devfd, (uint16_t)w->qid, iov,
				  TAG(TAG_ENTRY, s));
	shmfs_ring_enter(&w->ring, false);
	w->entries++;
}

static void queue_commit(struct shmfs_uring_worker *w, unsigned s, int tag)
{
	void *q = sqe(w);

	if (q == NULL)
		return;
	shmfs_uring_prep_commit(q, w->devfd, (uint16_t)w->qid,
				record(w, s)->unique, TAG(tag, s));
}

/* ------------------------------------------------------------ replies */

/* libfuse's reply to the request being served, into the entry. */
static ssize_t reply_into_entry(const struct iovec *iov, int count, void *arg)
{
	struct shmfs_uring_worker *w = arg;
	unsigned s = (unsigned)w->serving;
	struct shmfs_fuse_uring_req_header *h = header(w, s);
	struct shmfs_uring_record *rec = record(w, s);
	unsigned char *payload = shmfs_uring_slot_payload(w->rings, w->qid, s);
	const struct fuse_out_header *out = iov[0].iov_base;
	size_t body = 0, total = iov[0].iov_len;

	set_state(rec, SHMFS_URING_REPLYING);
	SHMFS_FAULT_TAKE("uring_reply_crash", abort());
	/* What /dev/fuse and the ring refuse (EINVAL), as kernel.c does. */
	if (out->error > 0 || out->error <= -512) {
		shmfs_log_sys(LOG_ERR, EINVAL,
			      "the reply to request %llu was refused; "
			      "answered with EIO",
			      (unsigned long long)rec->unique);
		shmfs_uring_error_reply(h, rec->unique, EIO);
		set_state(rec, SHMFS_URING_COMMITTING);
		return (ssize_t)total;
	}
	for (int i = 1; i < count; i++) {
		if (body + iov[i].iov_len > w->rings->g.payload) {
			shmfs_log_error("the reply to request %llu is larger "
					"than a ring entry: EIO",
					(unsigned long long)rec->unique);
			shmfs_uring_error_reply(h, rec->unique, EIO);
			set_state(rec, SHMFS_URING_COMMITTING);
			return (ssize_t)total;
		}
		memcpy(payload + body, iov[i].iov_base, iov[i].iov_len);
		body += iov[i].iov_len;
	}
	memcpy(h->in_out, iov[0].iov_base, sizeof(struct fuse_out_header));
	h->ring_ent_in_out.payload_sz = (uint32_t)body;
	set_state(rec, SHMFS_URING_COMMITTING);
	return (ssize_t)(total + body);
}

/* ------------------------------------------------------------ serving */

/* The request in slot s to libfuse; its reply is committed next. */
static void serve_entry(struct shmfs_uring_worker *w, unsigned s)
{
	struct shmfs_fuse_uring_req_header *h = header(w, s);
	struct shmfs_uring_record *rec = record(w, s);
	unsigned char *payload = shmfs_uring_slot_payload(w->rings, w->qid, s);
	struct shmfs_uring_req req;
	struct fuse_buf buf = {.mem = NULL};

	if (shmfs_uring_parse(h, w->rings->g.payload, &req) < 0) {
		uint64_t unique = h->ring_ent_in_out.commit_id;

		shmfs_log_error("ring entry %u of queue %u holds no request "
				"of the kernel's: answered with EIO",
				s, w->qid);
		rec->unique = unique;
		shmfs_uring_error_reply(h, unique, EIO);
		set_state(rec, SHMFS_URING_COMMITTING);
		queue_commit(w, s, TAG_ENTRY);
		return;
	}
	rec->unique = req.unique;
	set_state(rec, SHMFS_URING_SERVING);
	SHMFS_FAULT_TAKE("uring_serve_crash", abort());
	/* As /dev/fuse would have delivered it: header, arg0, the rest. */
	unsigned char *start =
		payload - sizeof(struct fuse_in_header) - req.arg0_size;
	memcpy(start, h->in_out, sizeof(struct fuse_in_header));
	memcpy(start + sizeof(struct fuse_in_header), h->op_in, req.arg0_size);
	buf.mem = start;
	buf.size = req.len;
	w->serving = (int)s;
	shmfs_kernel_reply_sink(reply_into_entry, w, req.unique);
	fuse_session_process_buf(w->se, &buf);
	shmfs_kernel_reply_sink(NULL, NULL, 0);
	w->serving = -1;
	if (atomic_load((_Atomic uint32_t *)&rec->state) !=
	    SHMFS_URING_COMMITTING) {
		/* libfuse did not answer (it always does): never hang it. */
		shmfs_uring_error_reply(h, req.unique, EIO);
		set_state(rec, SHMFS_URING_COMMITTING);
	}
	atomic_fetch_add_explicit(&w->ws->requests, 1, memory_order_relaxed);
	queue_commit(w, s, TAG_ENTRY);
}

/*
 * FORGET, INTERRUPT (and everything, should the rings have been turned
 * off) on the non-blocking session descriptor, until it is empty.
 * Returns false if the connection ended.
 */
static bool drain_input(struct shmfs_uring_worker *w)
{
	struct fuse_buf buf = {.mem = NULL};
	bool alive = true;

	for (;;) {
		int res = fuse_session_receive_buf(w->se, &buf);

		if (res == -EAGAIN || res == -EINTR)
			break;
		if (res == 0 || res == -ENODEV || res == -ECONNABORTED) {
			alive = false;
			break;
		}
		if (res < 0) {
			if (!w->warned_input)
				shmfs_log_sys(LOG_WARNING, -res,
					      "worker of CPU %u: reading "
					      "/dev/fuse failed",
					      w->qid);
			w->warned_input = true;
			break;
		}
		fuse_session_process_buf(w->se, &buf);
	}
	free(buf.mem);
	return alive;
}

static void kick(const struct shmfs_uring_worker *w);

/* What a completion leaves the loop with. */
enum next { GO_ON, ENDED, CLASSIC };

/* A completion of slot s's command. */
static enum next entry_done(struct shmfs_uring_worker *w, unsigned s, int res,
			    bool recovery)
{
	struct shmfs_uring_record *rec = record(w, s);

	if (res == 0) {
		serve_entry(w, s);
		return GO_ON;
	}
	if (res == -ENOTCONN || res == -ECONNABORTED || res == -ENODEV)
		return ENDED; /* unmounted or aborted: the entries are gone */
	/* A REGISTER refused: the connection's rings are off for good. */
	if (!recovery && rec->state == SHMFS_URING_ARMED &&
	    (res == -EINVAL || res == -EOPNOTSUPP || res == -ENOMEM)) {
		shmfs_log_sys(LOG_WARNING, -res,
			      "io_uring: the kernel refused a ring entry of "
			      "CPU %u; the mount serves /dev/fuse",
			      w->qid);
		atomic_store(w->uring, false);
		return CLASSIC;
	}
	/*
	 * The entry is gone: its request was ended by someone else (a
	 * recovery commit of one the dead worker committed: ENOENT), or
	 * the kernel refused the command. The queue keeps its depth.
	 */
	if (!(recovery && res == -ENOENT))
		shmfs_log_sys(LOG_WARNING, -res,
			      "worker of CPU %u: ring entry %u failed", w->qid,
			      s);
	set_state(rec, SHMFS_URING_FREE);
	w->entries--;
	for (unsigned f = 0;
	     f < w->rings->g.slots && w->entries < SHMFS_URING_DEPTH; f++)
		if (f != s && record(w, f)->state == SHMFS_URING_FREE)
			queue_register(w, f);
	/* What queued while the queue lacked that entry waits for a commit. */
	kick(w);
	return GO_ON;
}

/*
 * The rings are off: /dev/fuse it is, on the slot's blocking descriptor
 * (the caller's loop serves it).
 */
static int classic(struct shmfs_uring_worker *w)
{
	int sessfd = fuse_session_fd(w->se);

	if (w->devfd != sessfd && dup3(w->devfd, sessfd, O_CLOEXEC) < 0) {
		shmfs_log_sys(LOG_ERR, errno, "dup3(%d, %d) failed", w->devfd,
			      sessfd);
		return SHMFS_WORKER_FAILED;
	}
	shmfs_ring_close(&w->ring);
	shmfs_ring_close(&w->fence);
	return SHMFS_URING_CLASSIC;
}

int shmfs_uring_worker_serve(struct shmfs_uring_worker *w,
			     volatile sig_atomic_t *stop)
{
	struct io_uring_cqe *cqe;

	for (unsigned i = 0; i < w->npending; i++)
		serve_entry(w, w->pending[i]);
	w->npending = 0;
	while (!*stop) {
		int res = shmfs_ring_enter(&w->ring, true);

		if (res < 0 && res != -EINTR && res != -EAGAIN &&
		    res != -EBUSY) {
			shmfs_log_sys(LOG_ERR, -res,
				      "worker of CPU %u: io_uring_enter failed",
				      w->qid);
			return SHMFS_WORKER_FAILED;
		}
		while ((cqe = shmfs_ring_cqe(&w->ring)) != NULL) {
			uint64_t ud = cqe->user_data;
			int r = cqe->res;
			unsigned flags = cqe->flags;
			enum next next = GO_ON;

			shmfs_ring_seen(&w->ring);
			switch (TAG_OF(ud)) {
			case TAG_ENTRY:
			case TAG_RECOVERY:
				next = entry_done(w, SLOT_OF(ud), r,
						  TAG_OF(ud) == TAG_RECOVERY);
				break;
			case TAG_INPUT:
				if ((r > 0 && (r & (POLLERR | POLLHUP))) ||
				    !drain_input(w))
					next = ENDED;
				else if (!(flags & IORING_CQE_F_MORE))
					queue_poll(w, fuse_session_fd(w->se),
						   TAG(TAG_INPUT, 0), true);
				break;
			case TAG_FENCE:
				queue_poll(w, w->fence.fd, TAG(TAG_FENCE, 0),
					   false);
				break;
			}
			if (next == ENDED)
				return SHMFS_WORKER_UNMOUNTED;
			if (next == CLASSIC)
				return classic(w);
		}
	}
	return SHMFS_WORKER_STOPPED;
}

/* ------------------------------------------------------------ setup */

/*
 * What the dead worker of this queue held (docs/io_uring.md, "Adoption"):
 * returns true if a worker served it before (the queue needs a kick).
 */
static bool recover(struct shmfs_uring_worker *w)
{
	bool used = false;

	for (unsigned s = 0; s < w->rings->g.slots; s++) {
		struct shmfs_uring_record *rec = record(w, s);
		uint32_t deaths;
		enum shmfs_uring_action a =
			shmfs_uring_recovery(header(w, s), rec, &deaths);

		used |= rec->state != SHMFS_URING_FREE;
		switch (a) {
		case SHMFS_URING_NOTHING:
			break;
		case SHMFS_URING_RELEASE:
			set_state(rec, SHMFS_URING_FREE);
			break;
		case SHMFS_URING_REPLAY:
			rec->deaths = deaths;
			shmfs_log_notice("worker of CPU %u: request %llu of "
					 "the dead worker served again",
					 w->qid,
					 (unsigned long long)rec->unique);
			w->pending[w->npending++] = s;
			w->entries++;
			break;
		case SHMFS_URING_SERVE:
			rec->deaths = 0;
			w->pending[w->npending++] = s;
			w->entries++;
			break;
		case SHMFS_URING_FAIL:
			shmfs_log_notice("worker of CPU %u: request %llu of "
					 "the dead worker answered with EIO",
					 w->qid,
					 (unsigned long long)rec->unique);
			shmfs_uring_error_reply(header(w, s), rec->unique, EIO);
			set_state(rec, SHMFS_URING_COMMITTING);
			queue_commit(w, s, TAG_RECOVERY);
			w->entries++;
			break;
		case SHMFS_URING_RECOMMIT:
			queue_commit(w, s, TAG_RECOVERY);
			w->entries++;
			break;
		}
	}
	return used;
}

/*
 * Requests that queued on qid while it had no entry are fetched only by a
 * commit (a REGISTER never looks at the queue): one statfs from this CPU
 * makes one, and that commit fetches the next, and so on. The kick is a
 * child of the worker, made before its filter goes on (it forks and
 * calls statfs, which the worker may not) and pinned to the worker's CPU;
 * it waits on a pipe and makes one statfs for each byte the worker
 * writes: once the worker's fresh entries are registered, and again each
 * time the worker registers an entry in place of one it lost (a recovery
 * commit the dead worker had made already: its entry is gone, and the
 * requests that came meanwhile wait in the queue).
 */
static void kicker(int rfd, pid_t worker, unsigned qid, const char *mountpoint)
{
	cpu_set_t set;
	char byte;

	/*
	 * It holds nothing of the worker's: not its rings (its exit is its
	 * own), and no descriptor of the connection, which would keep the
	 * connection alive after the daemon's end with this child waiting on
	 * it (for ever, in D state). A worker that dies takes it along.
	 */
	if (rfd > 3)
		close_range(3, (unsigned)rfd - 1, 0);
	close_range((unsigned)rfd + 1, ~0U, 0);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != worker)
		_exit(0);
	prctl(PR_SET_NAME, "shmfs-kick");
	CPU_ZERO(&set);
	CPU_SET(qid, &set);
	/* An offline CPU queues nothing: there is nothing to fetch. */
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		_exit(0);
	while (read(rfd, &byte, 1) == 1) {
		struct statfs st;
		struct timespec later = {0, 20000000}; /* 20 ms */

		/*
		 * Once, and again a little later: the first may land before
		 * the worker's last lost entry is found (then it is fetched
		 * by that entry's replacement commit... or by nothing).
		 */
		statfs(mountpoint, &st);
		nanosleep(&later, NULL);
		statfs(mountpoint, &st);
	}
	_exit(0);
}

static void start_kicker(struct shmfs_uring_worker *w, const char *mountpoint)
{
	int fds[2];
	pid_t worker = getpid(), pid;

	w->kick_fd = -1;
	if (pipe2(fds, O_CLOEXEC) < 0) {
		shmfs_log_sys(LOG_WARNING, errno,
			      "worker of CPU %u: pipe2() of the kick failed",
			      w->qid);
		return;
	}
	pid = fork();
	if (pid == 0)
		kicker(fds[0], worker, w->qid, mountpoint);
	close(fds[0]);
	if (pid < 0) {
		shmfs_log_sys(LOG_WARNING, errno,
			      "worker of CPU %u: fork() of the kick failed",
			      w->qid);
		close(fds[1]);
		return;
	}
	/* A kick the pipe cannot take is one already waiting: enough. */
	fcntl(fds[1], F_SETFL, O_NONBLOCK);
	w->kick_fd = fds[1];
}

static void kick(const struct shmfs_uring_worker *w)
{
	if (w->kick_fd >= 0 && write(w->kick_fd, "k", 1) < 0 && errno != EAGAIN)
		shmfs_log_sys(LOG_WARNING, errno,
			      "worker of CPU %u: the kick failed", w->qid);
}

/* A non-blocking clone of the device, as the session's descriptor. */
static bool take_input(struct fuse_session *se)
{
	int fd = shmfs_kernel_clone(fuse_session_fd(se));
	int sessfd = fuse_session_fd(se);
	bool ok;

	if (fd < 0)
		return false;
	ok = fcntl(fd, F_SETFL, O_NONBLOCK) == 0 &&
	     dup3(fd, sessfd, O_CLOEXEC) == sessfd;
	close(fd);
	return ok;
}

int shmfs_uring_worker_setup(struct shmfs_uring_worker *w,
			     struct fuse_session *se,
			     const struct shmfs_uring_region *rings,
			     unsigned qid, int devfd, const char *mountpoint,
			     struct shmfs_worker_slot *ws, _Atomic bool *uring)
{
	/* What the ring may do: FUSE commands, and polls (see below). */
	static const uint8_t ops[] = {IORING_OP_URING_CMD, IORING_OP_POLL_ADD};
	int err = 0;

	*w = (struct shmfs_uring_worker){
		.se = se,
		.rings = rings,
		.qid = qid,
		.devfd = devfd,
		.ws = ws,
		.serving = -1,
		.uring = uring,
	};
	w->ring.fd = w->fence.fd = -1;
	/* Depth entries, their commits, two polls, and recovery's commits. */
	err = shmfs_ring_setup(&w->ring, 4 * SHMFS_URING_SLOTS);
	if (err == 0)
		err = shmfs_ring_restrict(&w->ring, ops, sizeof(ops));
	if (err == 0)
		err = shmfs_ring_setup(&w->fence, 1);
	if (err < 0) {
		shmfs_log_sys(LOG_ERR, -err,
			      "worker of CPU %u: making its io_uring failed",
			      qid);
		return err;
	}
	/*
	 * The fence: a poll on an io_uring descriptor is a tracked request,
	 * so the worker's exit cancels its idle entries before the task is
	 * marked exiting (docs/io_uring.md), and nobody's request lands in
	 * a dying worker.
	 */
	queue_poll(w, w->fence.fd, TAG(TAG_FENCE, 0), false);
	if (take_input(se))
		queue_poll(w, fuse_session_fd(se), TAG(TAG_INPUT, 0), true);
	else
		shmfs_log_warn("worker of CPU %u: no clone of the device for "
			       "FORGET and INTERRUPT (%s)",
			       qid, "the other workers read them");
	SHMFS_FAULT_TAKE("uring_start_crash", abort());
	SHMFS_FAULT_POINT("uring_setup");
	bool used = recover(w);
	/*
	 * At least one fresh entry, whatever recovery holds: a recovery
	 * commit may find its entry gone (ENOENT) only later, and the kick
	 * below must land on an entry that is there, or it queues behind
	 * what it was to fetch.
	 */
	unsigned fresh = w->entries >= SHMFS_URING_DEPTH
				 ? 1
				 : SHMFS_URING_DEPTH - w->entries;
	for (unsigned s = 0; s < rings->g.slots && fresh > 0; s++)
		if (record(w, s)->state == SHMFS_URING_FREE) {
			queue_register(w, s);
			fresh--;
		}
	shmfs_ring_enter(&w->ring, false);
	start_kicker(w, mountpoint);
	if (used)
		kick(w);
	return 0;
}

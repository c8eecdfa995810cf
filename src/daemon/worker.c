/* SPDX-License-Identifier: MIT */
/*
 * The worker loop. Each worker reads its slot's clone of the session's
 * device (FUSE_DEV_IOC_CLONE), which the master made and keeps: the
 * requests a worker read stay on the connection when it dies, for the
 * master to have them resent (see master.c). Stopping uses a flag of our own,
 * never fuse_session_exit() from a handler (that drops a request already read).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/fuse.h>

#include "shmfs/cycle.h"
#include "shmfs/exit.h"
#include "shmfs/fault.h"
#include "shmfs/kernel.h"
#include "shmfs/log.h"
#include "shmfs/ops.h"
#include "shmfs/privsep.h"
#include "shmfs/record.h"
#include "shmfs/region.h"
#include "shmfs/uring_worker.h"
#include "shmfs/worker.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* A worker that could not set its signals could not be stopped: it leaves. */
static void set(int sig, void (*handler)(int))
{
	struct sigaction sa = {.sa_handler = handler};

	/* No SA_RESTART: a blocked read() must return EINTR to see the flag. */
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, NULL) < 0) {
		shmfs_log_sys(LOG_ERR, errno, "sigaction(%d) failed", sig);
		_exit(SHMFS_WORKER_FAILED);
	}
}

static void setup_signals(bool rings)
{
	sigset_t none;

	set(SIGTERM, on_signal);
	set(SIGINT, on_signal);
	/* The log is the master's to reopen (see log.c). */
	set(SIGUSR1, SIG_IGN);
	set(SIGHUP, SIG_IGN);
	/*
	 * A terminal's job control (^Z, a background write) stops the
	 * master of shmfs -f, not the mount: only SIGSTOP, which cannot be
	 * ignored, stops a worker, and the master continues it (pool.c).
	 */
	set(SIGTSTP, SIG_IGN);
	set(SIGTTIN, SIG_IGN);
	set(SIGTTOU, SIG_IGN);
	set(SIGPIPE, SIG_IGN);
	/* A ring worker's kick (uring_worker.c) is reaped by the kernel. */
	set(SIGCHLD, rings ? SIG_IGN : SIG_DFL);
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) < 0) {
		shmfs_log_sys(LOG_ERR, errno,
			      "sigprocmask(SIG_SETMASK, {}) failed");
		_exit(SHMFS_WORKER_FAILED);
	}
}

/*
 * Reads the slot's clone in place of the session's descriptor, in this
 * process only. Returns true if it does (false: the shared descriptor).
 */
static bool take_device(struct fuse_session *se, int device)
{
	int sessfd = fuse_session_fd(se);
	bool cloned;

	if (device < 0)
		return false;
	cloned = dup3(device, sessfd, O_CLOEXEC) == sessfd;
	if (!cloned)
		shmfs_log_sys(LOG_WARNING, errno, "dup3(%d, %d) failed", device,
			      sessfd);
	close(device);
	return cloned;
}

/* cpu_affinity: a worker per CPU keeps its caches warm. */
static void pin(unsigned slot, int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		shmfs_log_sys(LOG_WARNING, errno,
			      "worker %u: sched_setaffinity(%d) failed", slot,
			      cpu);
}

/* If the master dies outright, no worker serves on alone. */
static void die_with(pid_t master)
{
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0) {
		shmfs_log_sys(LOG_ERR, errno,
			      "prctl(PR_SET_PDEATHSIG, SIGTERM) failed");
		_exit(SHMFS_WORKER_FAILED);
	}
	if (getppid() != master)
		_exit(SHMFS_WORKER_STOPPED);
}

/*
 * Everything a worker needs is in hand (the device clone, the mappings, the
 * log): give up the rest. Changing ids clears the parent-death signal, so
 * it is set again.
 */
static void drop_privileges(struct shmfs_worker_slot *ws,
			    const struct shmfs_worker_opts *opts)
{
	atomic_store(&ws->violation, -1);
	if (shmfs_privsep_drop(opts->user_set, opts->uid, opts->gid) < 0)
		_exit(SHMFS_WORKER_FAILED);
	die_with(opts->master);
	if (shmfs_privsep_seccomp(&ws->violation, SHMFS_WORKER_SECCOMP) < 0)
		_exit(SHMFS_WORKER_FAILED);
	SHMFS_FAULT_TAKE("forbidden_syscall", (void)getpgrp());
}

/* A new worker's slot: its counters start at 0. */
static void take_slot(struct shmfs_worker_slot *ws, bool shared)
{
	atomic_store(&ws->unique, 0);
	atomic_store(&ws->shared_fd, shared);
	atomic_store(&ws->errors, 0);
	atomic_store(&ws->bytes_in, 0);
	atomic_store(&ws->bytes_out, 0);
	atomic_store(&ws->requests, 0);
	atomic_store(&ws->pid, getpid());
}

/*
 * Serves until asked to stop or the connection ends; returns the exit
 * status. On the shared descriptor the request held is recorded, for the
 * master to answer if this worker dies holding it.
 */
static int serve(struct fuse_session *se, struct shmfs_worker_slot *ws,
		 unsigned slot, bool shared)
{
	struct fuse_buf buf = {.mem = NULL};
	int status = SHMFS_WORKER_STOPPED;

	while (!stop) {
		int res = fuse_session_receive_buf(se, &buf);

		if (res == -EINTR || res == -EAGAIN)
			continue;
		if (res == 0 || res == -ENODEV || res == -ECONNABORTED) {
			status = SHMFS_WORKER_UNMOUNTED;
			break;
		}
		if (res < 0) {
			shmfs_log_sys(LOG_ERR, -res,
				      "worker %u: reading /dev/fuse failed",
				      slot);
			status = SHMFS_WORKER_FAILED;
			break;
		}
		if (shared)
			atomic_store(&ws->unique, shmfs_kernel_unique(buf.mem));
		fuse_session_process_buf(se, &buf);
		if (shared)
			atomic_store(&ws->unique, 0);
		atomic_fetch_add_explicit(&ws->requests, 1,
					  memory_order_relaxed);
	}
	free(buf.mem);
	return stop ? SHMFS_WORKER_STOPPED : status;
}

/* The worker of a ring queue; returns only to serve /dev/fuse instead. */
static void run_rings(struct fuse_session *se, struct shmfs_cycle *cycle,
		      const struct shmfs_worker_opts *opts,
		      struct shmfs_worker_slot *ws)
{
	struct shmfs_region *region = shmfs_cycle_region(cycle);
	struct shmfs_uring_worker w;
	int devfd = opts->device;
	int status;

	/* The kernel's rule: queue N takes the requests of CPU N. */
	pin(opts->slot, (int)opts->qid);
	if (devfd < 0)
		devfd = dup(fuse_session_fd(se)); /* the shared descriptor */
	if (devfd < 0 ||
	    shmfs_uring_worker_setup(&w, se, opts->rings, opts->qid, devfd,
				     opts->mountpoint, ws, &region->uring) < 0)
		_exit(SHMFS_WORKER_FAILED);
	atomic_store(&ws->start, shmfs_record_start_time(getpid()));
	drop_privileges(ws, opts);
	take_slot(ws, opts->device < 0);
	shmfs_ops_serve(cycle, ws);
	shmfs_log_debug("worker %u (pid %d) serving the ring of CPU %u",
			opts->slot, (int)getpid(), opts->qid);
	status = shmfs_uring_worker_serve(&w, &stop);
	if (status == SHMFS_URING_CLASSIC) {
		status = serve(se, ws, opts->slot, opts->device < 0);
	}
	shmfs_log_info("worker %u (pid %d) exiting: %llu requests served",
		       opts->slot, (int)getpid(),
		       (unsigned long long)atomic_load(&ws->requests));
	_exit(status);
}

_Noreturn void shmfs_worker_run(struct fuse_session *se,
				struct shmfs_cycle *cycle,
				const struct shmfs_worker_opts *opts)
{
	unsigned slot = opts->slot;
	struct shmfs_region *region = shmfs_cycle_region(cycle);
	struct shmfs_worker_slot *ws = shmfs_region_worker(region, slot);
	int status;

	if (prctl(PR_SET_NAME, "shmfs-worker") < 0)
		shmfs_log_sys(LOG_WARNING, errno,
			      "prctl(PR_SET_NAME, \"shmfs-worker\") failed");
	/* Before any line: a log file is the master's (see log.c). */
	shmfs_log_to_master(&region->log_dropped);
	setup_signals(opts->rings != NULL);
	die_with(opts->master);

	if (opts->rings != NULL)
		run_rings(se, cycle, opts, ws);
	pin(slot, opts->cpu);
	bool shared = !take_device(se, opts->device);
	/* Before the filter: a successor tells us from a reused pid by it. */
	atomic_store(&ws->start, shmfs_record_start_time(getpid()));
	drop_privileges(ws, opts);
	take_slot(ws, shared);
	shmfs_ops_serve(cycle, ws);
	shmfs_log_debug("worker %u (pid %d) serving on %s", slot, (int)getpid(),
			shared ? "the shared descriptor"
			       : "its own clone of the descriptor");

	status = serve(se, ws, slot, shared);
	shmfs_log_info("worker %u (pid %d) exiting: %llu requests served", slot,
		       (int)getpid(),
		       (unsigned long long)atomic_load(&ws->requests));
	_exit(status);
}

/* ------------------------------------------------ the master's side */

/*
 * A worker on the shared descriptor died holding a request: the kernel
 * cannot tell, so the master answers it with EIO. (Cloned workers need
 * none of this: the kernel fails the requests of a closed clone at once.)
 */
static void answer_orphan(struct fuse_session *se, struct shmfs_worker_slot *ws,
			  unsigned slot)
{
	uint64_t unique = atomic_exchange(&ws->unique, 0);
	int res;

	if (!atomic_load(&ws->shared_fd) || unique == 0)
		return;
	res = shmfs_kernel_answer(fuse_session_fd(se), unique, EIO);
	if (res == 0)
		shmfs_log_notice("request %llu of worker %u answered with EIO",
				 (unsigned long long)unique, slot);
	else if (res == -ENOENT) /* the kernel has it no more */
		shmfs_log_info("request %llu of worker %u was answered already",
			       (unsigned long long)unique, slot);
	else
		shmfs_log_sys(LOG_WARNING, -res,
			      "answering request %llu of worker %u failed",
			      (unsigned long long)unique, slot);
}

static void log_death(const struct shmfs_worker_slot *ws, unsigned slot,
		      pid_t pid, int status)
{
	char name[64];

	if (WIFEXITED(status) && WEXITSTATUS(status) == SHMFS_WORKER_SECCOMP) {
		int nr = atomic_load(&ws->violation);

		shmfs_log_error(
			"worker %u (pid %d) made system call %d (%s), "
			"which the seccomp filter denies: replaced",
			slot, (int)pid, nr,
			shmfs_privsep_syscall_name(nr, name, sizeof(name)));
	} else if (WIFSIGNALED(status))
		shmfs_log_error("worker %u (pid %d) killed by signal %d%s",
				slot, (int)pid, WTERMSIG(status),
				WCOREDUMP(status) ? " (core dumped)" : "");
	else
		shmfs_log_error("worker %u (pid %d) exited with status %d",
				slot, (int)pid, WEXITSTATUS(status));
}

bool shmfs_worker_reaped(struct fuse_session *se, struct shmfs_cycle *cycle,
			 unsigned slot, pid_t pid, int status, bool stopping,
			 bool resend, bool *died)
{
	struct shmfs_worker_slot *ws =
		shmfs_region_worker(shmfs_cycle_region(cycle), slot);
	bool clean = WIFEXITED(status) &&
		     (WEXITSTATUS(status) == SHMFS_WORKER_STOPPED ||
		      WEXITSTATUS(status) == SHMFS_WORKER_UNMOUNTED);

	*died = !clean;
	if (!resend)
		answer_orphan(se, ws, slot);
	atomic_store(&ws->unique, 0);
	atomic_store(&ws->pid, 0);
	if (WIFEXITED(status) && WEXITSTATUS(status) == SHMFS_WORKER_UNMOUNTED)
		return true;
	if (!stopping && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		log_death(ws, slot, pid, status);
	return false;
}

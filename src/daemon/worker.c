/* SPDX-License-Identifier: MIT */
/*
 * The worker loop. Each worker reads its own clone of the session's device
 * (FUSE_DEV_IOC_CLONE), so the requests it holds belong to its queue alone:
 * if it dies, the kernel fails them at once instead of leaving their callers
 * hung. Stopping uses a flag of our own, never fuse_session_exit() from a
 * handler (that drops a request already read).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <linux/fuse.h>

#include "shmfs/exit.h"
#include "shmfs/fault.h"
#include "shmfs/log.h"
#include "shmfs/privsep.h"
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

static void setup_signals(void)
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
	set(SIGCHLD, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/*
 * Replaces the session's descriptor, in this process only, by a clone bound
 * to the same connection. Without the right to open /dev/fuse (a non-root
 * daemon where it is not 0666) or to clone it, the worker keeps the shared
 * descriptor, which still serves: one line says so, from slot 0 alone, as
 * every worker meets the same refusal. Returns true if cloned.
 */
static bool clone_device(struct fuse_session *se, unsigned slot)
{
	int sessfd = fuse_session_fd(se);
	uint32_t master_fd = sessfd;
	int fd = shmfs_fault_is("no_clone")
			 ? (errno = EACCES, -1)
			 : open("/dev/fuse", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		if (slot == 0)
			shmfs_log_sys(LOG_WARNING, errno,
				      "open(\"/dev/fuse\") failed: workers "
				      "share one descriptor");
		return false;
	}
	if (ioctl(fd, FUSE_DEV_IOC_CLONE, &master_fd) < 0) {
		if (slot == 0)
			shmfs_log_sys(LOG_WARNING, errno,
				      "ioctl(FUSE_DEV_IOC_CLONE) failed: "
				      "workers share one descriptor");
		close(fd);
		return false;
	}
	bool cloned = dup3(fd, sessfd, O_CLOEXEC) == sessfd;
	if (!cloned)
		shmfs_log_sys(LOG_WARNING, errno, "dup3(%d, %d) failed", fd,
			      sessfd);
	close(fd);
	return cloned;
}

/* cpu_affinity, as nginx's worker_cpu_affinity. */
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
	prctl(PR_SET_PDEATHSIG, SIGTERM);
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
	if (shmfs_fault_take("forbidden_syscall"))
		(void)getpgrp();
}

_Noreturn void shmfs_worker_run(struct fuse_session *se, struct shmfs_fs *fs,
				const struct shmfs_worker_opts *opts)
{
	unsigned slot = opts->slot;
	struct shmfs_worker_slot *ws = shmfs_region_worker(fs->region, slot);
	struct fuse_buf buf = {.mem = NULL};
	int status = SHMFS_WORKER_STOPPED;

	prctl(PR_SET_NAME, "shmfs-worker");
	/* Before any line: a log file is the master's (see log.c). */
	shmfs_log_to_master(&fs->region->log_dropped);
	setup_signals();
	die_with(opts->master);

	pin(slot, opts->cpu);
	bool shared = !clone_device(se, slot);
	drop_privileges(ws, opts);
	atomic_store(&ws->unique, 0);
	atomic_store(&ws->shared_fd, shared);
	atomic_store(&ws->errors, 0);
	atomic_store(&ws->bytes_in, 0);
	atomic_store(&ws->bytes_out, 0);
	atomic_store(&ws->requests, 0);
	atomic_store(&ws->pid, getpid());
	fs->self = ws; /* this process's copy of the userdata */
	shmfs_log_debug("worker %u (pid %d) serving on %s", slot, (int)getpid(),
			shared ? "the shared descriptor"
			       : "its own clone of the descriptor");

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
			atomic_store(
				&ws->unique,
				((struct fuse_in_header *)buf.mem)->unique);
		fuse_session_process_buf(se, &buf);
		if (shared)
			atomic_store(&ws->unique, 0);
		atomic_fetch_add_explicit(&ws->requests, 1,
					  memory_order_relaxed);
	}
	if (stop)
		status = SHMFS_WORKER_STOPPED;

	shmfs_log_info("worker %u (pid %d) exiting: %llu requests served", slot,
		       (int)getpid(),
		       (unsigned long long)atomic_load(&ws->requests));
	free(buf.mem);
	_exit(status);
}

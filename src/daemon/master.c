/* SPDX-License-Identifier: MIT */
/*
 * The master. It takes the signals it cares about synchronously (blocked,
 * read from a signalfd polled with the workers' log pipe), so no state is
 * touched from a handler. It never serves a file request: it answers FUSE
 * INIT before forking (a worker that has not seen INIT answers everything
 * with EIO) and then only supervises the pool, reloads, and writes the
 * workers' log lines to the log file. What it serves is one cycle
 * (cycle.h) at a time.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "master_internal.h"
#include "shmfs/cycle.h"
#include "shmfs/detach.h"
#include "shmfs/exit.h"
#include "shmfs/fault.h"
#include "shmfs/kernel.h"
#include "shmfs/log.h"
#include "shmfs/master.h"
#include "shmfs/mountpoint.h"
#include "shmfs/notify.h"
#include "shmfs/ops.h"
#include "shmfs/pidfile.h"
#include "shmfs/pool.h"
#include "shmfs/region.h"
#include "shmfs/restart.h"
#include "shmfs/safefile.h"
#include "shmfs/uidscan.h"
#include "shmfs/uring.h"
#include "shmfs/worker.h"
#include "shmfs/zonetab.h"

/* Lines libfuse has logged: a failing call it explained needs no more. */
static unsigned fuse_lines;

/*
 * libfuse's messages go to our log. It may build one line from several
 * calls, so pieces are gathered up to the newline.
 */
__attribute__((format(printf, 2, 0))) static void
fuse_log_to_ours(enum fuse_log_level level, const char *fmt, va_list ap)
{
	static char line[512];
	static size_t used;
	int n = vsnprintf(line + used, sizeof(line) - used, fmt, ap);

	if (n < 0)
		return;
	used += (size_t)n < sizeof(line) - used ? (size_t)n
						: sizeof(line) - used - 1;
	if (used > 0 && line[used - 1] != '\n' && used < sizeof(line) - 1)
		return;
	if (used > 0 && line[used - 1] == '\n')
		line[used - 1] = '\0';
	/* libfuse's levels are syslog's priorities. */
	shmfs_log((int)level, "%s", line);
	used = 0;
	fuse_lines++;
}

/*
 * Every zone keeps its memory's file open (holes, st_blocks, passthrough),
 * so the soft limit on descriptors rises to the hard one: a configuration
 * with thousands of zones must not fail on a default limit of 1024. A zone
 * past the hard limit just has no file (-1).
 */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		shmfs_log_sys(LOG_WARNING, errno,
			      "setrlimit(RLIMIT_NOFILE, %llu) failed",
			      (unsigned long long)rl.rlim_max);
}

/* The pidfds of programs' zones polled at once; more wait for the timer. */
#define PROCESS_FDS_MAX 62

/*
 * Waits for the next event: a signal (returned), the workers' log lines
 * (written to the log file), a zone's program exiting (backend =
 * process: shmfs_master_follow acts on it), or the timeout (nanoseconds,
 * -1: none; at most a second while a zone waits for its program).
 * Returns the signal taken, or 0.
 */
static int wait_event(const struct master *m, long long timeout_ns)
{
	struct pollfd fds[2 + PROCESS_FDS_MAX] = {
		{.fd = m->sigfd, .events = POLLIN},
		{.fd = shmfs_log_pipe_fd(), .events = POLLIN}, /* -1: none */
	};
	int pidfds[PROCESS_FDS_MAX];
	bool detached;
	size_t n =
		shmfs_master_process_fds(m, pidfds, PROCESS_FDS_MAX, &detached);
	struct signalfd_siginfo si;
	int ms;

	for (size_t i = 0; i < n; i++)
		fds[2 + i] = (struct pollfd){.fd = pidfds[i], .events = POLLIN};
	if ((detached || n == PROCESS_FDS_MAX) &&
	    (timeout_ns < 0 || timeout_ns > 1000000000LL))
		timeout_ns = 1000000000LL;
	ms = timeout_ns < 0 ? -1 : (int)((timeout_ns + 999999) / 1000000);
	if (poll(fds, 2 + n, ms) <= 0) /* EINTR: the caller comes back */
		return 0;
	if (fds[1].revents)
		shmfs_log_drain();
	if ((fds[0].revents & POLLIN) &&
	    read(m->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		return (int)si.ssi_signo;
	return 0;
}

/* Workers for the running configuration: -w, else workers =. */
static unsigned workers_wanted(const struct master *m)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned n = shmfs_master_workers_asked(m);

	if (m->uring) /* the kernel's rule: a queue per possible CPU */
		return m->rings.g.nqueues;
	if (n == 0) /* auto: one per online CPU */
		n = cpus < 1		       ? 1
		    : cpus > SHMFS_WORKERS_MAX ? SHMFS_WORKERS_MAX
					       : (unsigned)cpus;
	return n;
}

/*
 * Only a master started as root can switch its workers to another user:
 * anyone else keeps its own ids, and user = says nothing.
 */
static bool switch_user(const struct shmfs_config *cfg)
{
	return cfg->user_set && geteuid() == 0;
}

/* The pool's settings from the running configuration (and -w). */
void shmfs_master_configure_pool(struct master *m)
{
	const struct shmfs_config *cfg = &m->cycle->cfg;
	struct shmfs_region *region = shmfs_cycle_region(m->cycle);

	m->pool.nchildren = workers_wanted(m);
	m->pool.backoff = m->uring;
	if (m->uring && shmfs_master_workers_asked(m) != 0 &&
	    shmfs_master_workers_asked(m) != m->pool.nchildren)
		shmfs_log_warn("%s: workers = %u is not applied: the mount "
			       "serves io_uring, one worker per CPU (%u)",
			       cfg->file, shmfs_master_workers_asked(m),
			       m->pool.nchildren);
	m->pool.respawns = &region->respawns;
	m->pool.stops = &region->stops;
	if (cfg->user_line && geteuid() != 0)
		shmfs_log_warn("%s: user = is ignored: the master does not run "
			       "as root, and workers keep its ids",
			       cfg->file);
	if (switch_user(cfg))
		shmfs_uidscan_warn(cfg);
}

/* In a new child of the pool: the worker of slot. */
static void worker_body(void *arg, unsigned slot)
{
	struct master *m = arg;
	const struct shmfs_config *cfg = &m->cycle->cfg;
	struct shmfs_worker_opts opts = {
		.slot = slot,
		.master = m->pid,
		.cpu = cfg->ncpus ? cfg->cpus[slot % cfg->ncpus] : -1,
		.user_set = switch_user(cfg),
		.uid = cfg->user,
		.gid = cfg->group,
	};

	if (m->opts->pidfd >= 0)
		close(m->opts->pidfd);
	if (m->sigfd >= 0)
		close(m->sigfd);
	for (unsigned i = 0; i < SHMFS_WORKERS_MAX; i++)
		if (i != slot && m->clones[i] >= 0)
			close(m->clones[i]);
	opts.device = m->clones[slot];
	if (m->uring) {
		opts.rings = &m->rings;
		opts.qid = slot;
		opts.mountpoint = m->opts->mountpoint;
	}
	shmfs_worker_run(m->se, m->cycle, &opts);
}

static bool worker_reaped(void *arg, unsigned slot, pid_t pid, int status,
			  bool stopping)
{
	struct master *m = arg;
	bool died;
	bool ended =
		shmfs_worker_reaped(m->se, m->cycle, slot, pid, status,
				    stopping, m->resend || m->uring, &died);

	if (m->uring) {
		/*
		 * Its replacement serves what it held (uring_worker.c): the
		 * other workers go on. A slot nobody can fill is watched.
		 */
		m->vacant_since[slot] = shmfs_pool_now();
		m->crashed[slot] =
			!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	} else if (died && m->resend) {
		m->died = true;
		m->died_slot[slot] = true;
		/* Killed (the OOM killer, kill -9) or its own fault? */
		m->crashed[slot] =
			!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	} else if (died && m->clones[slot] >= 0) {
		/*
		 * No resend (a kernel before 6.9): what it read fails
		 * (ECONNABORTED) once the last copy of its clone, ours
		 * and the store's, is closed; the slot gets a new one.
		 */
		close(m->clones[slot]);
		m->clones[slot] = -1;
		m->reclone = true;
	}
	return ended;
}

/*
 * SIGUSR1: the master reopens the log file (rotation). Workers write
 * through the master's pipe, so their next line lands in the new file.
 */
static void reopen_log(void)
{
	int res = shmfs_log_reopen();

	if (res < 0) {
		shmfs_log_sys(LOG_ERR, -res, "reopening the log failed");
		return;
	}
	shmfs_log_notice("log reopened");
}

/*
 * READY=1 once the mount is live and the pool serves, and again after each
 * reload (valid or not: the running configuration serves either way).
 * MAINPID tells the manager which process to watch when it is not the one
 * it started (the daemon detached).
 */
static void notify_ready(const struct master *m)
{
	shmfs_notify("READY=1\nMAINPID=%d\nSTATUS=Serving %zu zone%s on %s "
		     "with %u workers",
		     (int)getpid(), m->cycle->tab->nzones,
		     m->cycle->tab->nzones == 1 ? "" : "s", m->opts->mountpoint,
		     m->pool.nchildren);
}

/*
 * Issue 18: every few seconds, how much of each huge zone is still in
 * 2 MiB pages (a punched hole splits one), for /.stats. Returns the
 * wait until the next measure (-1: no huge zone), no longer than wait.
 */
#define HUGE_MEASURE_NS (5 * 1000000000LL)
static long long measure_huge(struct master *m, long long wait, long long *next)
{
	long long now = shmfs_pool_now();

	if (now >= *next) {
		if (shmfs_zonetab_measure_huge(m->cycle->tab) == 0)
			return wait;
		*next = now + HUGE_MEASURE_NS;
	}
	return wait < 0 || *next - now < wait ? *next - now : wait;
}

/* Returns the exit status: 0, or SHMFS_EXIT_MOUNT if the mount was aborted. */
static int supervise(struct master *m)
{
	long long wait = -1, next_measure = 0;

	for (;;) {
		int sig = wait_event(m, wait);

		if (sig == SIGTERM || sig == SIGINT) {
			shmfs_log_notice("signal %d: stopping", sig);
			shmfs_notify("STOPPING=1\nSTATUS=Stopping (signal %d)",
				     sig);
			return SHMFS_EXIT_OK;
		}
		if (sig == SIGHUP) {
			/* MONOTONIC_USEC: Type=notify-reload wants it. */
			shmfs_notify(
				"RELOADING=1\nMONOTONIC_USEC=%llu\n"
				"STATUS=Reloading",
				(unsigned long long)(shmfs_pool_now() / 1000));
			shmfs_master_reload(m);
			notify_ready(m);
		}
		if (sig == SIGUSR1)
			reopen_log();
		if (sig == SIGUSR2 && shmfs_master_upgrade(m))
			_exit(SHMFS_EXIT_MOUNT); /* the store has it all */
		if (shmfs_pool_reap(&m->pool, false)) {
			shmfs_log_notice("connection closed: unmounted");
			shmfs_notify("STOPPING=1\nSTATUS=Unmounted, stopping");
			return SHMFS_EXIT_OK;
		}
		if (m->died)
			shmfs_master_recover(m);
		if (m->reclone) {
			m->reclone = false;
			shmfs_master_make_clones(m);
			shmfs_master_keep(m);
		}
		shmfs_master_follow(m);
		wait = shmfs_pool_respawn(&m->pool);
		wait = measure_huge(m, wait, &next_measure);
		if (m->uring && shmfs_master_rings_unserved(m)) {
			shmfs_notify("STOPPING=1\nSTATUS=Aborted, stopping");
			return SHMFS_EXIT_MOUNT; /* a service manager restarts
						  */
		}
	}
}

/* After INIT, before the pool: the detached master's log and stdio. */
static void leave_terminal(const struct master *m)
{
	const struct shmfs_config *cfg = &m->cycle->cfg;

	if (m->opts->foreground)
		return;
	/* A log file is open already (see main); syslog starts now. */
	if (cfg->log == NULL || cfg->log[0] != '/')
		shmfs_log_open(cfg->log, cfg->log_level, false);
	/* (only syslog is opened here, and openlog cannot fail) */
	shmfs_detach_stdio();
}

static int serve(struct master *m, const sigset_t *set, int ready,
		 struct shmfs_config *cfg)
{
	const struct shmfs_zonetab *tab = m->cycle->tab;
	bool swapped = false;

	shmfs_kernel_want_uring(
		!m->adopted && m->cycle->cfg.io_uring != SHMFS_IO_URING_OFF &&
		shmfs_uring_why_not_here(shmfs_master_workers_asked(m)) ==
			NULL);
	if (m->adopted ? shmfs_kernel_replay_init(m->se, &m->adopt->init) < 0
		       : shmfs_kernel_init(m->se) < 0)
		return SHMFS_EXIT_MOUNT;
	m->resend = shmfs_kernel_can_resend();
	if (shmfs_master_start_rings(m) < 0)
		return SHMFS_EXIT_MOUNT;
	shmfs_kernel_cycle_conn(m->se, &m->conn);
	shmfs_cycle_bind(m->cycle, &m->conn);
	leave_terminal(m);
	shmfs_detach_ready(ready);

	m->pid = getpid();
	m->sigfd = signalfd(-1, set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (m->sigfd < 0) {
		shmfs_log_sys(LOG_ERR, errno, "signalfd() failed");
		return SHMFS_EXIT_MOUNT;
	}
	if (m->adopted)
		swapped = shmfs_master_take_over(m, cfg);
	shmfs_master_make_clones(m);
	/* Requests are held in the ring buffers from the first worker on. */
	if (m->uring)
		shmfs_master_keep(m);
	if (shmfs_pool_start(&m->pool) < 0)
		return SHMFS_EXIT_MOUNT;
	tab = m->cycle->tab;
	if (swapped)
		shmfs_master_invalidate(m);
	if (!m->adopted)
		shmfs_log_notice("mounted on %s: %zu zone%s, %llu bytes, %u "
				 "workers (%s); shared metadata %zu bytes",
				 m->opts->mountpoint, tab->nzones,
				 tab->nzones == 1 ? "" : "s",
				 (unsigned long long)tab->capacity,
				 m->pool.nchildren,
				 m->uring ? "io_uring" : "/dev/fuse",
				 tab->region_shm.size);
	shmfs_master_keep(m);
	notify_ready(m);
	return supervise(m);
}

/*
 * Blocks the signals the master takes from its signalfd, for the rest of
 * its life: from before the pid is published, a SIGTERM that an early
 * "shmfs -s stop" sends waits for supervise() instead of killing a master
 * that is mounting (which would leave a dead mount behind).
 */
static int block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGUSR1);
	sigaddset(set, SIGUSR2);
	sigaddset(set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, set, NULL) < 0) {
		int err = errno;
		shmfs_log_sys(LOG_ERR, err,
			      "sigprocmask(SIG_BLOCK, {TERM, INT, HUP, USR1, "
			      "USR2, CHLD}) failed");
		return -err;
	}
	return 0;
}

/*
 * Detaches (without -f, and unless this master adopts a live mount), then
 * writes the pid: both before the mount appears, so that whoever sees
 * the mount finds the master's pid.
 */
static int publish_pid(struct master *m, int *ready)
{
	const struct shmfs_master_opts *opts = m->opts;
	int res;

	if (!opts->foreground && !m->adopted && (res = shmfs_detach(ready)) < 0)
		return res;
	if (opts->pidfd >= 0 && (res = shmfs_pidfile_write(opts->pidfd)) < 0) {
		shmfs_log_sys(LOG_ERR, -res, "%s: cannot write the pid",
			      opts->pidfile);
		return res;
	}
	return 0;
}

/* The session, not mounted yet (logged unless libfuse said why). */
static int new_session(struct master *m, int *status)
{
	unsigned before = fuse_lines;

	m->args = m->opts->fuse_args;
	if (m->adopted) {
		if (shmfs_restart_fuse_args(m->adopt, &m->adopted_args) < 0)
			return -ENOMEM;
		m->args = &m->adopted_args;
	}
	/* No userdata: each worker serves one cycle (see ops.h). */
	m->se = fuse_session_new(m->args, &shmfs_ops, sizeof(shmfs_ops), NULL);
	if (m->se == NULL) {
		if (fuse_lines == before)
			shmfs_log_error("bad mount options (see shmfs --help)");
		*status = SHMFS_EXIT_USAGE;
		return -EINVAL;
	}
	return 0;
}

/* The dead master's connection, or a new mount (logged if it fails). */
static int mount(struct master *m)
{
	unsigned before = fuse_lines;
	char dev[32];

	if (m->adopted) {
		snprintf(dev, sizeof(dev), "/dev/fd/%d", m->adopt->fuse);
		if (fuse_session_mount(m->se, dev) != 0) {
			shmfs_log_error("cannot adopt the stored connection");
			return -EIO;
		}
		m->adopt->fuse = -1; /* the session's now */
		return 0;
	}
	if (fuse_session_mount(m->se, m->opts->mountpoint) != 0) {
		if (fuse_lines == before)
			shmfs_log_error("cannot mount on %s",
					m->opts->mountpoint);
		return -EIO;
	}
	return 0;
}

/*
 * The first cycle: the dead master's, or cfg's (then taken). One the
 * dead master's descriptors cannot rebuild is let go, and the start goes
 * on as a fresh one, at the same mount point.
 */
static int first_cycle(struct master *m, struct shmfs_config *cfg)
{
	char *abs;

	if (!m->adopted)
		return shmfs_cycle_create(cfg, NULL, &m->cycle);
	if (shmfs_restart_cycle(m->adopt, cfg->file, &m->cycle) == 0)
		return 0;
	shmfs_restart_discard(m->adopt, "its zones could not be mapped");
	m->adopted = false;
	if (shmfs_mountpoint_check(m->opts->mountpoint, &abs) < 0)
		return -EINVAL;
	free(abs);
	return shmfs_cycle_create(cfg, NULL, &m->cycle);
}

int shmfs_master_run(struct shmfs_config *cfg,
		     const struct shmfs_master_opts *opts)
{
	struct master m = {
		.opts = opts,
		.sigfd = -1,
		.pool = {.body = worker_body, .reaped = worker_reaped},
		.adopt = opts->adopt,
		.adopted = opts->adopt->found,
		.rings = {.fd = -1},
	};
	int status = SHMFS_EXIT_MOUNT, ready = -1;
	sigset_t set;

	for (unsigned i = 0; i < SHMFS_WORKERS_MAX; i++)
		m.clones[i] = -1;
	m.pool.arg = &m;
	fuse_set_log_func(fuse_log_to_ours);
	shmfs_fault_init();
	raise_nofile();
	if (first_cycle(&m, cfg) < 0)
		return status;
	shmfs_master_configure_pool(&m);
	if (new_session(&m, &status) < 0)
		goto out_cycle;
	if (block_signals(&set) < 0 || publish_pid(&m, &ready) < 0 ||
	    mount(&m) < 0)
		goto out_session;

	status = serve(&m, &set, ready, cfg);
	/* Unmount first so that nothing new arrives, then let workers go. */
	if (m.adopted)
		shmfs_mountpoint_release(opts->mountpoint);
	else
		fuse_session_unmount(m.se);
	shmfs_pool_stop(&m.pool);
	/* Nothing written to a file deleted behind us is lost at the stop. */
	shmfs_zonetab_check_files(m.cycle->tab, true);
	/* The mount is gone: so is what a successor would have needed. */
	shmfs_restart_forget(&m.adopt->store);
	for (unsigned i = 0; i < SHMFS_WORKERS_MAX; i++)
		if (m.clones[i] >= 0)
			close(m.clones[i]);
	if (m.sigfd >= 0)
		close(m.sigfd);
	if (m.uring)
		shmfs_uring_region_destroy(&m.rings);
out_session:
	fuse_session_destroy(m.se);
out_cycle:
	fuse_opt_free_args(&m.adopted_args);
	shmfs_cycle_destroy(m.cycle);
	if (status == SHMFS_EXIT_OK)
		shmfs_log_notice("stopped");
	return status;
}

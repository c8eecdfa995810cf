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
#include "shmfs/worker.h"
#include "shmfs/zonetab.h"

struct master {
	const struct shmfs_master_opts *opts;
	struct fuse_session *se;
	struct shmfs_cycle *cycle;    /* what is served now */
	struct shmfs_cycle_conn conn; /* backing files on se's connection */
	struct shmfs_pool pool;
	int sigfd; /* the signalfd (-1: none yet): closed in workers */
	pid_t pid; /* the master's, once detached: workers die with it */
	/*
	 * Each slot's clone of the device, made and kept here (and in the
	 * store) so that what a dead worker read can be resent; -1: none,
	 * the slot's worker reads the shared descriptor.
	 */
	int clones[SHMFS_WORKERS_MAX];
	bool no_clone; /* cloning failed once: every worker shares */
	bool resend;   /* the kernel resends what a dead worker read */
	bool died;     /* a worker died holding requests: resend them */
	bool died_slot[SHMFS_WORKERS_MAX]; /* ... and where */
	bool crashed[SHMFS_WORKERS_MAX];   /* ... not of a SIGKILL */
	struct shmfs_adopt *adopt;     /* the store, and what it gave back */
	bool adopted; /* the connection is a dead master's: libfuse does
		       * not know it mounted it, so we unmount it */
};

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

/*
 * Waits for the next event: a signal (returned), the workers' log lines
 * (written to the log file), or the timeout (nanoseconds, -1: none).
 * Returns the signal taken, or 0.
 */
static int wait_event(int sigfd, long long timeout_ns)
{
	struct pollfd fds[2] = {
		{.fd = sigfd, .events = POLLIN},
		{.fd = shmfs_log_pipe_fd(), .events = POLLIN}, /* -1: none */
	};
	int ms = timeout_ns < 0 ? -1 : (int)((timeout_ns + 999999) / 1000000);
	struct signalfd_siginfo si;

	if (poll(fds, 2, ms) <= 0) /* EINTR: the caller comes back */
		return 0;
	if (fds[1].revents)
		shmfs_log_drain();
	if ((fds[0].revents & POLLIN) &&
	    read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		return (int)si.ssi_signo;
	return 0;
}

/* Workers for the running configuration: -w, else workers =. */
static unsigned workers_wanted(const struct master *m)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned n =
		m->opts->workers_set ? m->opts->workers : m->cycle->cfg.workers;

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
static void configure_pool(struct master *m)
{
	const struct shmfs_config *cfg = &m->cycle->cfg;
	struct shmfs_region *region = shmfs_cycle_region(m->cycle);

	m->pool.nchildren = workers_wanted(m);
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
	shmfs_worker_run(m->se, m->cycle, &opts);
}

static bool worker_reaped(void *arg, unsigned slot, pid_t pid, int status,
			  bool stopping)
{
	struct master *m = arg;
	bool died;
	bool ended = shmfs_worker_reaped(m->se, m->cycle, slot, pid, status,
					 stopping, m->resend, &died);

	if (died && m->resend) {
		m->died = true;
		m->died_slot[slot] = true;
		/* Killed (the OOM killer, kill -9) or its own fault? */
		m->crashed[slot] =
			!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	}
	return ended;
}

/*
 * A clone for every slot of the pool that has none. Without the right to
 * open /dev/fuse (a non-root daemon where it is not 0666) or to clone it,
 * workers read the shared descriptor, which still serves: one line says
 * so.
 */
static void make_clones(struct master *m)
{
	for (unsigned i = 0; i < m->pool.nchildren && !m->no_clone; i++) {
		if (m->clones[i] >= 0)
			continue;
		int fd = shmfs_kernel_clone(fuse_session_fd(m->se));
		if (fd < 0) {
			shmfs_log_sys(LOG_WARNING, -fd,
				      "cloning /dev/fuse failed: workers "
				      "share one descriptor");
			m->no_clone = true;
			break;
		}
		m->clones[i] = fd;
	}
}

static void handover(const struct master *m, struct shmfs_handover *h)
{
	*h = (struct shmfs_handover){
		.cycle = m->cycle,
		.fuse = fuse_session_fd(m->se),
		.clones = m->clones,
		.nclones = SHMFS_WORKERS_MAX,
		.mountpoint = m->opts->mountpoint,
		.args = m->opts->fuse_args,
		.detached = !m->opts->foreground,
	};
}

/* The store holds what the running cycle and connection need. */
static void keep(struct master *m)
{
	struct shmfs_handover h;

	handover(m, &h);
	shmfs_restart_keep(&m->adopt->store, &h);
}

/* A failed notification only delays what the kernel shows; ENOENT: it
 * held nothing of it. */
static void inval_entry(struct fuse_session *se, const char *name, size_t len)
{
	int res = fuse_lowlevel_notify_inval_entry(se, FUSE_ROOT_ID, name, len);

	if (res < 0 && res != -ENOENT)
		shmfs_log_sys(LOG_WARNING, -res,
			      "fuse_lowlevel_notify_inval_entry(\"%.*s\") "
			      "failed",
			      (int)len, name);
}

static void inval_inode(struct fuse_session *se, fuse_ino_t ino)
{
	int res = fuse_lowlevel_notify_inval_inode(se, ino, 0, 0);

	if (res < 0 && res != -ENOENT)
		shmfs_log_sys(LOG_WARNING, -res,
			      "fuse_lowlevel_notify_inval_inode(%llu) failed",
			      (unsigned long long)ino);
}

/*
 * After a reload the kernel still caches what the old cycle said: names
 * that are gone, and attributes and pages of zones that changed. The new
 * workers must be up: dropping pages may need them to write dirty ones.
 */
static void invalidate(struct master *m)
{
	const struct shmfs_cycle *c = m->cycle;
	const struct shmfs_zonetab *tab = c->tab;

	for (size_t i = 0; i < c->ngone; i++)
		inval_entry(m->se, c->gone[i], strlen(c->gone[i]));
	for (size_t i = 0; i < tab->nzones; i++) {
		const struct shmfs_zonetab_entry *e = &tab->entries[i];

		if (e->renumbered) /* the name now leads to a new inode */
			inval_entry(m->se, e->conf.name, e->namelen);
		else if (e->changed)
			inval_inode(m->se, e->ino);
	}
	inval_inode(m->se, FUSE_ROOT_ID);
}

/* The file to reload, read and checked; logged and -errno if invalid. */
static int load_config(const struct master *m, struct shmfs_config *cfg)
{
	char err[1024];
	int res = shmfs_config_load_default(m->opts->config, cfg, err,
					    sizeof(err));

	if (res == 0 && geteuid() == 0 &&
	    (res = shmfs_config_check_user(cfg, err, sizeof(err))) < 0)
		shmfs_config_free(cfg);
	if (res < 0)
		shmfs_log_error("reload: %s; keeping the running configuration",
				err);
	return res;
}

/* The log as the new configuration says; the old one stays if it fails. */
static void reopen_log_as(const struct master *m)
{
	const struct shmfs_config *cfg = &m->cycle->cfg;
	int res = shmfs_log_open(cfg->log,
				 m->opts->debug ? LOG_DEBUG : cfg->log_level,
				 m->opts->foreground);

	if (res < 0)
		shmfs_log_error("reload: %s:%d: log: %s: %s; logging on where "
				"it was",
				cfg->file, cfg->log_line, cfg->log,
				shmfs_file_strerror(res));
}

/*
 * SIGHUP. The new file is read and checked while the old pool serves; an
 * invalid one changes nothing. Then the pool stops (requests wait in the
 * kernel, none fails), the next cycle is built from the running one (it
 * takes over unchanged zones and copies resized ones: no worker can write
 * to them meanwhile), the old cycle is destroyed (removed zones freed), and
 * a new pool starts.
 */
/*
 * With no worker running: the next cycle, built from cfg (taken) and the
 * running one, serves in its place. Returns the files written back, or
 * -errno (the running cycle stays).
 */
static long swap_cycle(struct master *m, struct shmfs_config *cfg)
{
	struct shmfs_cycle *next;
	size_t restored = shmfs_zonetab_check_files(m->cycle->tab, false);

	if (shmfs_cycle_create(cfg, m->cycle, &next) < 0) {
		/* The cause is logged where it failed. */
		shmfs_log_notice("reload failed: keeping the running "
				 "configuration");
		return -EINVAL;
	}
	shmfs_cycle_destroy(m->cycle);
	m->cycle = next;
	reopen_log_as(m);
	configure_pool(m);
	return (long)restored;
}

static void reload(struct master *m)
{
	struct shmfs_config cfg;
	const struct shmfs_cycle *next;
	long restored;

	if (load_config(m, &cfg) < 0)
		return;
	shmfs_pool_stop(&m->pool);
	restored = swap_cycle(m, &cfg);
	make_clones(m);
	shmfs_pool_start(&m->pool);
	if (restored < 0)
		return;
	next = m->cycle;
	invalidate(m);
	keep(m);
	if (restored > 0)
		shmfs_log_notice("reloaded %s: %zu zones, %zu removed, %ld "
				 "file%s written back, %u workers",
				 next->cfg.file, next->tab->nzones, next->ngone,
				 restored, restored == 1 ? "" : "s",
				 m->pool.nchildren);
	else
		shmfs_log_notice("reloaded %s: %zu zones, %zu removed, %u "
				 "workers",
				 next->cfg.file, next->tab->nzones, next->ngone,
				 m->pool.nchildren);
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
 * A worker died holding requests, which stay on the connection (its
 * clone is ours): the others finish what they serve and leave, and once
 * no worker lives the kernel puts every request read and not answered
 * back in the queue, for the new pool to read: the callers wait a few
 * milliseconds and succeed. But a slot whose workers keep crashing (a
 * signal of their own making, not a SIGKILL) right after their start may
 * be fed a request that kills whoever serves it: that slot's clone is
 * closed instead, and what it held fails with ECONNABORTED, as without a
 * resend.
 */
static void recover(struct master *m)
{
	bool poisoned = false;
	unsigned failed = 0;
	int res;

	shmfs_pool_stop(&m->pool);
	for (unsigned i = 0; i < SHMFS_WORKERS_MAX; i++)
		poisoned |= m->died_slot[i] && m->crashed[i] &&
			    m->pool.quick_deaths[i] >= 2 && m->clones[i] >= 0;
	for (unsigned i = 0; i < SHMFS_WORKERS_MAX; i++) {
		if (m->died_slot[i] && poisoned && m->clones[i] >= 0) {
			/* Its last copy gone (ours, the store's), the
			 * kernel ends what it held. */
			close(m->clones[i]);
			m->clones[i] = -1;
			failed++;
		}
		m->died_slot[i] = false;
	}
	m->died = false;
	if (poisoned) {
		shmfs_log_warn("workers kept dying right after their start: "
			       "the requests %s held failed (ECONNABORTED)",
			       failed == 1 ? "one" : "they");
		make_clones(m);
		keep(m);
		return;
	}
	res = shmfs_kernel_resend(fuse_session_fd(m->se));
	if (res < 0)
		shmfs_log_sys(LOG_ERR, -res,
			      "resending the dead worker's requests failed");
	else
		shmfs_log_info("the requests the dead worker held were "
			       "resent");
}

/*
 * SIGUSR2: the binary at the path this one was started from takes over,
 * in this process, once the workers finished what they serve. Returns
 * only if it could not: true if the master must then exit as if it had
 * crashed (what it held is moved), false if nothing was touched.
 */
static bool upgrade(struct master *m)
{
	struct shmfs_handover h;
	const char *path = shmfs_restart_program();

	if (path == NULL || access(path, X_OK) < 0) {
		shmfs_log_sys(LOG_ERR, errno, "upgrade: %s cannot be executed: "
			      "serving on", path ? path : "the program");
		return false;
	}
	shmfs_log_notice("upgrade: stopping the workers, then executing %s",
			 path);
	shmfs_notify("STATUS=Upgrading");
	shmfs_pool_stop(&m->pool);
	handover(m, &h);
	shmfs_restart_exec(&h); /* logged */
	return true;
}

static void supervise(struct master *m, int sigfd)
{
	long long wait = -1;

	for (;;) {
		int sig = wait_event(sigfd, wait);

		if (sig == SIGTERM || sig == SIGINT) {
			shmfs_log_notice("signal %d: stopping", sig);
			shmfs_notify("STOPPING=1\nSTATUS=Stopping (signal %d)",
				     sig);
			return;
		}
		if (sig == SIGHUP) {
			/* MONOTONIC_USEC: Type=notify-reload wants it. */
			shmfs_notify(
				"RELOADING=1\nMONOTONIC_USEC=%llu\n"
				"STATUS=Reloading",
				(unsigned long long)(shmfs_pool_now() / 1000));
			reload(m);
			notify_ready(m);
		}
		if (sig == SIGUSR1)
			reopen_log();
		if (sig == SIGUSR2 && upgrade(m))
			_exit(SHMFS_EXIT_MOUNT); /* the store has it all */
		if (shmfs_pool_reap(&m->pool, false)) {
			shmfs_log_notice("connection closed: unmounted");
			shmfs_notify("STOPPING=1\nSTATUS=Unmounted, stopping");
			return;
		}
		if (m->died)
			recover(m);
		wait = shmfs_pool_respawn(&m->pool);
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

/* Slots' clones the dead master made and stored, reused as they are. */
static void take_clones(struct master *m)
{
	char name[32];

	for (unsigned i = 0; i < SHMFS_WORKERS_MAX; i++) {
		snprintf(name, sizeof(name), "clone.%u", i);
		int fd = shmfs_fdlist_claim(&m->adopt->fds, name);
		if (fd >= 0 && i < m->pool.nchildren)
			m->clones[i] = fd;
		else if (fd >= 0)
			close(fd);
	}
}

/*
 * The dead master's connection is ours: once none of its processes can
 * answer what they read, the kernel resends it; one more master is
 * counted; the current file applies as a reload would (cfg, taken).
 * Returns true if it did (a new cycle serves).
 */
static bool take_over(struct master *m, struct shmfs_config *cfg)
{
	struct shmfs_region *r = shmfs_cycle_region(m->cycle);
	const struct shmfs_zonetab *tab = m->cycle->tab;
	const struct shmfs_config *was = &m->cycle->cfg;
	unsigned killed = shmfs_restart_wait_old(r, m->adopt);
	int res = shmfs_kernel_resend(fuse_session_fd(m->se));
	bool same;

	if (res < 0)
		shmfs_log_sys(res == -ENOSYS ? LOG_WARNING : LOG_ERR, -res,
			      "resending the requests the previous master "
			      "held failed: their callers may wait until "
			      "the mount ends");
	atomic_fetch_add(&r->generation, 1);
	atomic_fetch_add(m->adopt->upgrade ? &r->upgrades : &r->restarts, 1);
	take_clones(m);
	shmfs_log_notice("%s: generation %llu on %s: %zu zone%s, %llu bytes "
			 "adopted%s",
			 m->adopt->upgrade ? "upgraded" : "restarted",
			 (unsigned long long)atomic_load(&r->generation),
			 m->opts->mountpoint, tab->nzones,
			 tab->nzones == 1 ? "" : "s",
			 (unsigned long long)tab->capacity,
			 killed ? "; old workers killed" : "");
	same = was->text && cfg->text && was->text_len == cfg->text_len &&
	       memcmp(was->text, cfg->text, cfg->text_len) == 0;
	if (same) {
		shmfs_config_free(cfg);
		return false;
	}
	return swap_cycle(m, cfg) >= 0;
}

static int serve(struct master *m, const sigset_t *set, int ready,
		 struct shmfs_config *cfg)
{
	const struct shmfs_zonetab *tab = m->cycle->tab;
	bool swapped = false;

	if (m->adopted ? shmfs_kernel_replay_init(m->se, &m->adopt->init) < 0
		       : shmfs_kernel_init(m->se) < 0)
		return SHMFS_EXIT_MOUNT;
	m->resend = shmfs_kernel_can_resend();
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
		swapped = take_over(m, cfg);
	make_clones(m);
	if (shmfs_pool_start(&m->pool) < 0)
		return SHMFS_EXIT_MOUNT;
	tab = m->cycle->tab;
	if (swapped)
		invalidate(m);
	if (!m->adopted)
		shmfs_log_notice("mounted on %s: %zu zone%s, %llu bytes, %u "
				 "workers; shared metadata %zu bytes",
				 m->opts->mountpoint, tab->nzones,
				 tab->nzones == 1 ? "" : "s",
				 (unsigned long long)tab->capacity,
				 m->pool.nchildren, tab->region_shm.size);
	keep(m);
	notify_ready(m);
	supervise(m, m->sigfd);
	return SHMFS_EXIT_OK;
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

	/* No userdata: each worker serves one cycle (see ops.h). */
	m->se = fuse_session_new(m->opts->fuse_args, &shmfs_ops,
				 sizeof(shmfs_ops), NULL);
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
	configure_pool(&m);
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
out_session:
	fuse_session_destroy(m.se);
out_cycle:
	shmfs_cycle_destroy(m.cycle);
	if (status == SHMFS_EXIT_OK)
		shmfs_log_notice("stopped");
	return status;
}

/* SPDX-License-Identifier: MIT */
/*
 * The master, in the manner of nginx's ngx_master_process_cycle: it blocks
 * the signals it cares about and takes them synchronously (from a
 * signalfd, polled with the workers' log pipe), so no state is touched
 * from a handler. It never serves a file request: it answers FUSE INIT
 * before forking (a worker that has not seen INIT answers everything with
 * EIO) and then only supervises the pool, reloads, and writes the workers'
 * log lines to the log file.
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
#include <unistd.h>
#include <linux/fuse.h>

#include "shmfs/device.h"
#include "shmfs/exit.h"
#include "shmfs/fault.h"
#include "shmfs/safefile.h"
#include "shmfs/log.h"
#include "shmfs/master.h"
#include "shmfs/notify.h"
#include "shmfs/passthrough.h"
#include "shmfs/pidfile.h"
#include "shmfs/pool.h"
#include "shmfs/uidscan.h"

struct master {
	const struct shmfs_master_opts *opts;
	/* Why passthrough cannot be had (NULL: it can), and its errno. */
	const char *no_passthrough;
	int no_passthrough_err;
	struct shmfs_config cfg; /* the running configuration, ours */
	struct shmfs_fs fs;	 /* the session's userdata */
	struct shmfs_statsfile stats;
	struct shmfs_pool pool;
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
 * Reads the first request, which must be INIT, and answers it here: the
 * negotiated connection then lives in the session every worker inherits.
 * Passthrough is asked for whenever the kernel offers it, so that a reload
 * can add passthrough zones to a mount that had none; otherwise
 * m->no_passthrough says why.
 */
static int handle_init(struct master *m, struct fuse_session *se)
{
	struct fuse_buf buf = {.mem = NULL};
	int res = fuse_session_receive_buf(se, &buf);
	int err = 0;

	if (res <= 0) {
		shmfs_log_sys(LOG_ERR, res < 0 ? -res : EIO,
			      "reading FUSE INIT failed");
		err = res < 0 ? res : -EIO;
		goto out;
	}
	const struct fuse_in_header *in = buf.mem;
	if (in->opcode != FUSE_INIT) {
		shmfs_log_error("first request is opcode %u, not FUSE_INIT",
				in->opcode);
		err = -EPROTO;
		goto out;
	}
	shmfs_passthrough_prepare(buf.mem, res, true, &m->no_passthrough);
	fuse_session_process_buf(se, &buf);
	if (fuse_session_exited(se)) {
		shmfs_log_error("FUSE INIT failed: the kernel refused the "
				"connection");
		err = -EPROTO;
	}
out:
	free(buf.mem);
	return err;
}

/*
 * A backing id for a zone's memfd, or -errno. The first failure becomes
 * the reason for every later zone (m->no_passthrough), so that one cause
 * is logged once, not once per zone.
 */
static int open_backing(struct master *m, const struct shmfs_zone *zone)
{
	int id;

	if (m->no_passthrough)
		return -EPERM;
	if (!shmfs_passthrough_negotiated()) {
		m->no_passthrough = "the INIT reply could not ask for it";
		return -EPROTO;
	}
	id = shmfs_fault_is("no_passthrough")
		     ? -EPERM
		     : shmfs_passthrough_open_backing(m->pool.se, zone->fd);
	if (id < 0) {
		m->no_passthrough = "ioctl(FUSE_DEV_IOC_BACKING_OPEN) failed; "
				    "it needs CAP_SYS_ADMIN in the initial "
				    "user namespace";
		m->no_passthrough_err = -id;
	}
	return id;
}

/*
 * Registers the memfd of every passthrough zone of tab that has no backing
 * id yet. Where passthrough cannot be had, such zones run in page mode,
 * keeping their fixed size, and one line says why.
 */
static void serve_passthrough(struct master *m, struct shmfs_zonetab *tab)
{
	size_t n = 0, fallback = 0;

	for (size_t i = 0; i < tab->nzones; i++) {
		struct shmfs_zonetab_entry *e = &tab->entries[i];

		if (e->cache != SHMFS_CACHE_PASSTHROUGH || e->backing_id > 0)
			continue;
		int id = open_backing(m, &e->zone);
		if (id < 0) {
			e->cache = SHMFS_CACHE_PAGE;
			fallback++;
			continue;
		}
		e->backing_id = id;
		n++;
	}
	/* An errno of 0 adds nothing to the line. */
	if (fallback > 0)
		shmfs_log_sys(LOG_WARNING, m->no_passthrough_err,
			      "passthrough unavailable: %s: %zu zone%s served "
			      "in page mode, fixed size kept",
			      m->no_passthrough, fallback,
			      fallback == 1 ? "" : "s");
	if (n > 0)
		shmfs_log_info("passthrough: %zu zone%s served by the kernel",
			       n, n == 1 ? "" : "s");
}

/*
 * After a reload: the backing ids of old's zones whose memory tab did not
 * keep are closed (files open on them keep their memfd until closed).
 */
static void close_backings(struct master *m, const struct shmfs_zonetab *old,
			   const struct shmfs_zonetab *tab)
{
	for (size_t i = 0; i < old->nzones; i++) {
		const struct shmfs_zonetab_entry *e = &old->entries[i];
		long k = shmfs_zonetab_find(tab, e->conf.name, e->namelen);

		if (e->backing_id > 0 &&
		    (k < 0 || tab->entries[k].backing_id != e->backing_id))
			shmfs_passthrough_close_backing(m->pool.se,
							e->backing_id);
	}
}

/*
 * Every zone keeps its memory's file open (holes, st_blocks, passthrough),
 * so the soft limit on descriptors rises to the hard one, as nginx's
 * worker_rlimit_nofile would; a zone past it just has no file (-1).
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

/* The pool's settings from the configuration (and -w). */
static void configure_pool(struct master *m)
{
	const struct shmfs_config *cfg = &m->cfg;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned n = m->opts->workers_set ? m->opts->workers : cfg->workers;

	if (n == 0) /* auto: one per online CPU */
		n = cpus < 1		       ? 1
		    : cpus > SHMFS_WORKERS_MAX ? SHMFS_WORKERS_MAX
					       : (unsigned)cpus;
	m->pool.nworkers = n;
	m->pool.ncpus = cfg->ncpus;
	memcpy(m->pool.cpus, cfg->cpus, sizeof(m->pool.cpus));

	/* As nginx: user = means something only to a master started as root. */
	m->pool.user_set = cfg->user_set && geteuid() == 0;
	m->pool.uid = cfg->user;
	m->pool.gid = cfg->group;
	if (cfg->user_line && geteuid() != 0)
		shmfs_log_warn("%s: user = is ignored: the master does not run "
			       "as root, and workers keep its ids",
			       cfg->file);
	if (m->pool.user_set)
		shmfs_uidscan_warn(cfg);
}

/* Points the session at a zone table and its stats arena. */
static void serve_table(struct master *m, struct shmfs_zonetab *tab,
			const struct shmfs_statsfile *stats)
{
	m->fs.tab = tab;
	m->fs.region = tab->region;
	m->stats = *stats;
	m->fs.stats = &m->stats;
	m->fs.generation = atomic_load(&tab->region->reloads);
}

/*
 * After a reload the kernel still caches what the old table said: names
 * that are gone, and attributes and pages of zones that changed. The new
 * workers must be up: dropping pages may need them to write dirty ones.
 */
static void invalidate(struct master *m, char **gone, size_t ngone,
		       const struct shmfs_zonetab *tab)
{
	struct fuse_session *se = m->pool.se;

	for (size_t i = 0; i < ngone; i++)
		if (gone[i] != NULL) /* NULL: strdup failed; ls may lag */
			fuse_lowlevel_notify_inval_entry(
				se, FUSE_ROOT_ID, gone[i], strlen(gone[i]));
	for (size_t i = 0; i < tab->nzones; i++) {
		const struct shmfs_zonetab_entry *e = &tab->entries[i];

		if (e->renumbered) /* the name now leads to a new inode */
			fuse_lowlevel_notify_inval_entry(
				se, FUSE_ROOT_ID, e->conf.name, e->namelen);
		else if (e->changed)
			fuse_lowlevel_notify_inval_inode(se, e->ino, 0, 0);
	}
	fuse_lowlevel_notify_inval_inode(se, FUSE_ROOT_ID, 0, 0);
}

/* Names of old's zones that tab does not have (malloc'd, NULL-free). */
static char **gone_names(const struct shmfs_zonetab *old,
			 const struct shmfs_zonetab *tab, size_t *n)
{
	char **names = calloc(old->nzones + 1, sizeof(*names));

	*n = 0;
	for (size_t i = 0; names && i < old->nzones; i++) {
		const struct shmfs_zonetab_entry *e = &old->entries[i];

		if (shmfs_zonetab_find(tab, e->conf.name, e->namelen) < 0)
			names[(*n)++] = strdup(e->conf.name);
	}
	return names;
}

/*
 * SIGHUP. The new file is read and checked while the old pool serves; an
 * invalid one changes nothing. Then the pool stops (requests wait in the
 * kernel, none fails), the new table takes over unchanged zones and copies
 * resized ones (no worker can write to them meanwhile), the removed zones
 * are freed, and a new pool starts.
 */
static void reload(struct master *m)
{
	struct shmfs_config cfg;
	struct shmfs_zonetab *old = m->fs.tab, *tab;
	struct shmfs_statsfile stats = {0};
	char err[1024];
	size_t ngone, restored;
	int res;

	res = shmfs_config_load_default(m->opts->config, &cfg, err,
					sizeof(err));
	if (res == 0 && geteuid() == 0 &&
	    (res = shmfs_config_check_user(&cfg, err, sizeof(err))) < 0)
		shmfs_config_free(&cfg);
	if (res < 0) {
		shmfs_log_error("reload: %s; keeping the running configuration",
				err);
		return;
	}
	shmfs_pool_stop(&m->pool);
	restored = shmfs_zonetab_check_files(old, false);
	res = shmfs_zonetab_create(&cfg, old, &tab);
	if (res == 0) {
		res = shmfs_statsfile_create(&stats, tab);
		if (res < 0)
			shmfs_zonetab_destroy(tab);
	}
	if (res < 0) {
		shmfs_log_sys(LOG_ERR, -res,
			      "reload: zones not allocated; "
			      "keeping the running configuration");
		shmfs_config_free(&cfg);
		shmfs_pool_start(&m->pool);
		return;
	}

	shmfs_zonetab_adopt(tab, old);
	serve_passthrough(m, tab);
	close_backings(m, old, tab);
	atomic_fetch_add(&tab->region->reloads, 1);
	char **gone = gone_names(old, tab, &ngone);
	shmfs_statsfile_destroy(&m->stats);
	shmfs_zonetab_destroy(old);
	serve_table(m, tab, &stats);
	shmfs_config_free(&m->cfg);
	m->cfg = cfg;
	res = shmfs_log_open(m->cfg.log,
			     m->opts->debug ? LOG_DEBUG : m->cfg.log_level,
			     m->opts->foreground);
	if (res < 0) /* the previous destination is kept */
		shmfs_log_error("reload: %s:%d: log: %s: %s; logging on where "
				"it was",
				m->cfg.file, m->cfg.log_line, m->cfg.log,
				shmfs_file_strerror(res));
	configure_pool(m);
	shmfs_pool_start(&m->pool);
	invalidate(m, gone, gone ? ngone : 0, tab);
	if (restored > 0)
		shmfs_log_notice("reloaded %s: %zu zones, %zu removed, %zu "
				 "file%s written back, %u workers",
				 m->cfg.file, tab->nzones, ngone, restored,
				 restored == 1 ? "" : "s", m->pool.nworkers);
	else
		shmfs_log_notice("reloaded %s: %zu zones, %zu removed, %u "
				 "workers",
				 m->cfg.file, tab->nzones, ngone,
				 m->pool.nworkers);
	for (size_t i = 0; gone && i < ngone; i++)
		free(gone[i]);
	free(gone);
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
		     (int)getpid(), m->fs.tab->nzones,
		     m->fs.tab->nzones == 1 ? "" : "s", m->opts->mountpoint,
		     m->pool.nworkers);
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
		if (shmfs_pool_reap(&m->pool, false)) {
			shmfs_log_notice("connection closed: unmounted");
			shmfs_notify("STOPPING=1\nSTATUS=Unmounted, stopping");
			return;
		}
		wait = shmfs_pool_respawn(&m->pool);
	}
}

/*
 * Detaches before the mount, so that the pid in the pid file, which must be
 * there before the mount appears (an early "shmfs -s stop" reads it), is
 * the master's. The parent waits for the child to say the mount is live
 * (tell_ready) and exits 0, or 2 if the child died first; the child carries
 * on as the master, its messages still on the terminal until then.
 */
static int daemonize(int *ready)
{
	int fds[2];
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0 || (pid = fork()) < 0) {
		int err = errno;
		shmfs_log_sys(LOG_ERR, err, "detaching failed");
		return -err;
	}
	if (pid > 0) {
		char c;

		close(fds[1]);
		_exit(read(fds[0], &c, 1) == 1 ? SHMFS_EXIT_OK
					       : SHMFS_EXIT_MOUNT);
	}
	close(fds[0]);
	*ready = fds[1];

	if (setsid() < 0)
		shmfs_log_sys(LOG_WARNING, errno, "setsid() failed");
	if (chdir("/") < 0)
		shmfs_log_sys(LOG_WARNING, errno, "chdir(\"/\") failed");
	return 0;
}

/* The detached master lets go of the terminal: /dev/null for stdio. */
static void detach_stdio(void)
{
	int fd = open("/dev/null", O_RDWR);

	if (fd < 0) {
		shmfs_log_sys(LOG_WARNING, errno, "open(\"/dev/null\") failed");
		return;
	}
	for (int std = STDIN_FILENO; std <= STDERR_FILENO; std++)
		if (dup2(fd, std) < 0)
			shmfs_log_sys(LOG_WARNING, errno, "dup2(%d, %d) failed",
				      fd, std);
	if (fd > STDERR_FILENO)
		close(fd);
}

/* Lets the waiting parent of daemonize() return to the shell. */
static void tell_ready(int ready)
{
	if (ready < 0)
		return;
	ssize_t unused = write(ready, "", 1);
	(void)unused;
	close(ready);
}

static int serve(struct master *m, const sigset_t *set, int ready)
{
	const struct shmfs_master_opts *opts = m->opts;

	if (handle_init(m, m->pool.se) < 0)
		return SHMFS_EXIT_MOUNT;
	serve_passthrough(m, m->fs.tab);
	if (!opts->foreground) {
		/* A log file is open already (see main); syslog starts now. */
		if (m->cfg.log == NULL || m->cfg.log[0] != '/')
			shmfs_log_open(m->cfg.log, m->cfg.log_level, false);
		/* (only syslog is opened here, and openlog cannot fail) */
		detach_stdio();
	}
	tell_ready(ready);

	int sigfd = signalfd(-1, set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sigfd < 0) {
		shmfs_log_sys(LOG_ERR, errno, "signalfd() failed");
		return SHMFS_EXIT_MOUNT;
	}
	m->pool.sigfd = sigfd; /* closed in workers */

	if (shmfs_pool_start(&m->pool) < 0) {
		m->pool.sigfd = -1;
		close(sigfd);
		return SHMFS_EXIT_MOUNT;
	}
	shmfs_log_notice("mounted on %s: %zu zone%s, %llu bytes, %u workers; "
			 "shared metadata %zu bytes",
			 opts->mountpoint, m->fs.tab->nzones,
			 m->fs.tab->nzones == 1 ? "" : "s",
			 (unsigned long long)m->fs.tab->capacity,
			 m->pool.nworkers, m->fs.tab->region_shm.size);
	notify_ready(m);

	supervise(m, sigfd);
	m->pool.sigfd = -1;
	close(sigfd);
	return SHMFS_EXIT_OK;
}

/*
 * Blocks the signals the master takes from its signalfd, for the rest of
 * its life: from before the pid is published, a SIGTERM that an early
 * "shmfs -s stop" sends waits for supervise() instead of killing a master
 * that is mounting (which would leave a dead mount behind).
 */
static void block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGUSR1);
	sigaddset(set, SIGCHLD);
	sigprocmask(SIG_BLOCK, set, NULL);
}

/*
 * Detaches (without -f), then writes the pid: both before the mount
 * appears, so that whoever sees the mount finds the master's pid.
 */
static int publish_pid(struct master *m, int *ready)
{
	const struct shmfs_master_opts *opts = m->opts;

	if (!opts->foreground && daemonize(ready) < 0)
		return -1;
	if (opts->pidfd >= 0 && shmfs_pidfile_write(opts->pidfd) < 0) {
		shmfs_log_sys(LOG_ERR, errno, "%s: cannot write the pid",
			      opts->pidfile);
		return -1;
	}
	return 0;
}

int shmfs_master_run(struct shmfs_config *cfg,
		     const struct shmfs_master_opts *opts)
{
	struct master m = {
		.opts = opts,
		.cfg = *cfg,
		.fs =
			{
				.uid = geteuid(),
				.gid = getegid(),
				.timeout = SHMFS_CACHE_TIMEOUT,
			},
		.pool = {.pidfd = opts->pidfd, .sigfd = -1, .fs = &m.fs},
	};
	struct shmfs_zonetab *tab;
	struct shmfs_statsfile stats;
	int status = SHMFS_EXIT_MOUNT, ready = -1;
	sigset_t set;

	memset(cfg, 0, sizeof(*cfg)); /* ours now */
	shmfs_notify_init(); /* before any fork: workers never see it */
	fuse_set_log_func(fuse_log_to_ours);
	shmfs_fault_init();
	configure_pool(&m);
	raise_nofile();
	if (shmfs_zonetab_create(&m.cfg, NULL, &tab) < 0)
		goto out_config;
	if (shmfs_statsfile_create(&stats, tab) < 0) {
		shmfs_zonetab_destroy(tab);
		goto out_config;
	}
	serve_table(&m, tab, &stats);

	unsigned before = fuse_lines;
	m.pool.se = fuse_session_new(opts->fuse_args, &shmfs_ops,
				     sizeof(shmfs_ops), &m.fs);
	if (m.pool.se == NULL) {
		if (fuse_lines == before)
			shmfs_log_error("bad mount options (see shmfs --help)");
		status = SHMFS_EXIT_USAGE;
		goto out_zones;
	}
	block_signals(&set);
	if (publish_pid(&m, &ready) < 0)
		goto out_session;
	before = fuse_lines;
	if (fuse_session_mount(m.pool.se, opts->mountpoint) != 0) {
		if (fuse_lines == before)
			shmfs_log_error("cannot mount on %s", opts->mountpoint);
		goto out_session;
	}
	if (shmfs_device_install(m.pool.se) < 0)
		m.no_passthrough = "fuse_session_custom_io failed";

	status = serve(&m, &set, ready);
	/* Unmount first so that nothing new arrives, then let workers go. */
	fuse_session_unmount(m.pool.se);
	shmfs_pool_stop(&m.pool);
	/* Nothing written to a file deleted behind us is lost at the stop. */
	shmfs_zonetab_check_files(m.fs.tab, true);
out_session:
	fuse_session_destroy(m.pool.se);
out_zones:
	shmfs_statsfile_destroy(&m.stats);
	shmfs_zonetab_destroy(m.fs.tab);
out_config:
	shmfs_config_free(&m.cfg);
	if (status == SHMFS_EXIT_OK)
		shmfs_log_notice("stopped");
	return status;
}

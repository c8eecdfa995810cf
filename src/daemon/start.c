/* SPDX-License-Identifier: MIT */
/*
 * The daemon's start (see start.h): everything that can fail before the
 * master allocates a zone fails here, on the terminal, before it detaches.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "shmfs/cli.h"
#include "shmfs/config.h"
#include "shmfs/exit.h"
#include "shmfs/log.h"
#include "shmfs/master.h"
#include "shmfs/mountpoint.h"
#include "shmfs/notify.h"
#include "shmfs/pidfile.h"
#include "shmfs/restart.h"
#include "shmfs/safefile.h"
#include "shmfs/sizing.h"
#include "shmfs/start.h"
#include "shmfs/uring.h"

/*
 * A log file is opened here, detached or not, so that a path that cannot
 * be written fails now, on the terminal, not after detaching.
 */
static int open_log(const struct shmfs_cli *cli, const struct shmfs_config *cfg)
{
	bool file = cfg->log != NULL && cfg->log[0] == '/';
	int res = shmfs_log_open(cli->foreground || file ? cfg->log : NULL,
				 cli->debug ? LOG_DEBUG : cfg->log_level, true);

	if (res < 0)
		shmfs_log_error("%s:%d: log: %s: %s", cfg->file, cfg->log_line,
				cfg->log, shmfs_file_strerror(res));
	return res;
}

/* The pid file, locked (pid = or -p); *fd is -1 without one. */
static int lock_pidfile(const struct shmfs_config *cfg, int *fd)
{
	pid_t holder;
	int res;

	*fd = -1;
	if (cfg->pid == NULL)
		return 0;
	res = shmfs_pidfile_lock(cfg->pid, fd, &holder);
	if (res == -EWOULDBLOCK)
		shmfs_log_error("%s: held by pid %d: another shmfs?", cfg->pid,
				(int)holder);
	else if (res == -EPERM)
		shmfs_log_error("%s: owned by another user: refused", cfg->pid);
	else if (res < 0)
		shmfs_log_error("%s: cannot lock: %s", cfg->pid,
				shmfs_file_strerror(res));
	return res;
}

/* The master, given the mount point and the locked pid file. */
static int run_master(struct shmfs_cli *cli, struct shmfs_config *cfg,
		      const char *mountpoint, int pidfd,
		      struct shmfs_adopt *adopt)
{
	/* Reloads read the file again after the daemon left its cwd. */
	char *config = cli->config ? realpath(cli->config, NULL) : NULL;
	/* The master frees cfg on a reload: the path is kept for the end. */
	char *pidfile = cfg->pid ? strdup(cfg->pid) : NULL;
	struct shmfs_master_opts opts = {
		.mountpoint = mountpoint,
		.config = config ? config : cli->config,
		.workers_set = cli->workers_set,
		.workers = cli->workers,
		.foreground = cli->foreground,
		.debug = cli->debug,
		.fuse_args = &cli->fuse_args,
		.pidfile = pidfile,
		.pidfd = pidfd,
		.adopt = adopt,
	};
	int status = SHMFS_EXIT_USAGE;

	if (cfg->pid && pidfile == NULL)
		shmfs_log_sys(LOG_ERR, ENOMEM, "strdup(\"%s\") failed",
			      cfg->pid);
	else
		status = shmfs_master_run(cfg, &opts);
	shmfs_pidfile_remove(pidfile, pidfd);
	free(pidfile);
	free(config);
	return status;
}

/*
 * libfuse's auto_unmount unmounts as soon as the master's end of its
 * socket closes: on a crash, and on an upgrade's execve. A restart keeps
 * the mount, so the option would only take it away.
 */
static bool auto_unmount(const struct shmfs_cli *cli)
{
	for (int i = 1; i < cli->fuse_args.argc; i++)
		if (strstr(cli->fuse_args.argv[i], "auto_unmount") != NULL)
			return true;
	return false;
}

/*
 * The mount point: a live mount a dead master stored is adopted where its
 * record says, without a look at it (that would wait for an answer only
 * this process can give); anything else is checked.
 */
static int find_mountpoint(struct shmfs_cli *cli, struct shmfs_config *cfg,
			   struct shmfs_adopt *adopt, char **mountpoint)
{
	if (!adopt->found) {
		if (shmfs_sizing_check(cfg) < 0)
			return -ENOMEM; /* the zones could not be mapped */
		return shmfs_mountpoint_check(cli->mountpoint, mountpoint);
	}
	*mountpoint = strdup(adopt->rec.mountpoint);
	if (*mountpoint == NULL)
		return -ENOMEM;
	return 0;
}

/* With the log open: the checks of the machine, then the master. */
static int start(struct shmfs_cli *cli, struct shmfs_config *cfg,
		 struct shmfs_adopt *adopt)
{
	char *mountpoint = NULL;
	int pidfd, status;

	if (cli->source != NULL && cli->suid_dev[0] != '\0')
		shmfs_log_info("mount options dev,suid (mount.fuse3 adds them) "
			       "ignored: shmfs mounts nosuid,nodev");
	if (cfg->nzones == 0)
		shmfs_log_warn("%s: no zones: the mount is an empty directory",
			       cfg->file);
	if (shmfs_uring_check_start(
		    cfg, cli->workers_set ? cli->workers : cfg->workers,
		    adopt->found) < 0)
		status = SHMFS_EXIT_USAGE;
	else if (find_mountpoint(cli, cfg, adopt, &mountpoint) < 0)
		status = SHMFS_EXIT_MOUNT;
	else if (lock_pidfile(cfg, &pidfd) < 0)
		status = SHMFS_EXIT_USAGE;
	else
		status = run_master(cli, cfg, mountpoint, pidfd, adopt);
	free(mountpoint);
	return status;
}

/*
 * The configuration to start with. A restart that found a live mount
 * serves on even if the file broke since the dead master read it (a
 * failed restart would lose the mount): it then runs what the dead master
 * ran, as a failed reload keeps the running configuration.
 */
static int load_config(struct shmfs_cli *cli, struct shmfs_adopt *adopt,
		       struct shmfs_config *cfg)
{
	const char *file =
		cli->config ? cli->config : shmfs_config_default_path();
	int res;

	/* -p and the user check, as for any start (the mistake logged) */
	if (shmfs_config_load_command(cli->config, cli->pidfile, cfg) == 0)
		return 0;
	if (!adopt->found)
		return -EINVAL;
	shmfs_log_notice("%s cannot be used: serving the configuration the "
			 "previous master ran",
			 file);
	res = shmfs_restart_config(adopt, file, cfg);
	if (res == 0 && cli->pidfile) {
		free(cfg->pid);
		cfg->pid = strdup(cli->pidfile);
		if (cfg->pid == NULL) {
			shmfs_config_free(cfg);
			res = -ENOMEM;
		}
	}
	return res;
}

int shmfs_start_daemon(struct shmfs_cli *cli, char **argv)
{
	struct shmfs_adopt adopt;
	struct shmfs_config cfg;
	int status = SHMFS_EXIT_USAGE;

	shmfs_restart_set_argv(argv); /* what an upgrade executes again */
	if (auto_unmount(cli)) {
		shmfs_log_error("-o auto_unmount is refused: it unmounts when "
				"the master goes, and a restart or an upgrade "
				"keeps the mount");
		return status;
	}
	shmfs_notify_init(); /* before any fork: workers never see it */
	if (shmfs_restart_find(&adopt) < 0 ||
	    load_config(cli, &adopt, &cfg) < 0) {
		shmfs_restart_free(&adopt);
		return status;
	}
	if (cli->workers_set)
		cfg.workers = cli->workers; /* the master keeps -w too */
	if (open_log(cli, &cfg) == 0) {
		status = start(cli, &cfg, &adopt);
		shmfs_log_close();
	}
	shmfs_restart_free(&adopt);
	shmfs_config_free(&cfg);
	return status;
}

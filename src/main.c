/* SPDX-License-Identifier: MIT */
/*
 * shmfs: command line -> configuration -> master. Everything else lives in
 * the library that the tests link too.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shmfs/cli.h"
#include "shmfs/config.h"
#include "shmfs/control.h"
#include "shmfs/safefile.h"
#include "shmfs/log.h"
#include "shmfs/master.h"
#include "shmfs/mountpoint.h"
#include "shmfs/kernel.h"
#include "shmfs/pidfile.h"
#include "shmfs/sizing.h"
#include "shmfs/status.h"
#include "shmfs/uidscan.h"
#include "shmfs/value.h"

static int load_config(const struct shmfs_cli *cli, struct shmfs_config *cfg)
{
	char err[1024];
	int res = shmfs_config_load_default(cli->config, cfg, err, sizeof(err));

	if (res < 0)
		shmfs_log_error("%s", err);
	return res;
}

/* -t: a log file that could not be written would fail the start. */
static int check_log(const struct shmfs_config *cfg)
{
	int res;

	if (cfg->log == NULL || cfg->log[0] != '/')
		return 0;
	res = shmfs_file_check_writable(cfg->log);
	if (res < 0)
		shmfs_log_error("%s:%d: log: %s: %s", cfg->file, cfg->log_line,
				cfg->log, shmfs_file_strerror(res));
	return res;
}

/*
 * -t: each shared object as the start would find it (missing, or taken by
 * another program), and the size of one whose size is left out.
 */
static int probe_objects(struct shmfs_config *cfg)
{
	int res = 0;

	for (size_t i = 0; i < cfg->nzones; i++) {
		struct shmfs_zone_config *z = &cfg->zones[i];
		struct shmfs_shm shm;

		if (!shmfs_zone_config_shared(z))
			continue;
		shmfs_zone_config_shm(z, &shm);
		if (shmfs_shm_probe(&shm) < 0)
			res = -1;
		else if (z->size == 0)
			z->size = shm.size;
	}
	return res;
}

int main(int argc, char **argv)
{
	struct shmfs_config cfg = {0};
	struct shmfs_cli cli;
	char err[512] = "";
	int status = SHMFS_EXIT_USAGE;
	int res = shmfs_cli_parse(argc, argv, &cli, err, sizeof(err));

	if (res == -ENOMEM) {
		shmfs_log_sys(LOG_ERR, ENOMEM,
			      "parsing the command line failed");
		goto out_cli;
	} else if (res < 0) {
		shmfs_log_error("%s", err);
		goto out_cli;
	}
	if (cli.help) {
		shmfs_cli_usage(stdout);
		status = SHMFS_EXIT_OK;
		goto out_cli;
	}
	if (cli.version) {
		printf("shmfs %s\nlibfuse %s\n", SHMFS_VERSION,
		       fuse_pkgversion());
#ifdef SHMFS_FAULT_INJECTION
		printf("fault injection: on (SHMFS_FAULT)\n");
#endif
		status = SHMFS_EXIT_OK;
		goto out_cli;
	}

	if (cli.status) { /* reads the mount's /.stats; no config needed */
		status = shmfs_status_run(cli.mountpoint, cli.json);
		goto out_cli;
	}
	if (cli.signal) { /* reads pid = (and checks a reload) itself */
		status = shmfs_control_signal(cli.pidfile, cli.config,
					      cli.signal);
		goto out_cli;
	}
	if (load_config(&cli, &cfg) < 0)
		goto out_cli;
	/* user = matters to a root master only (shmfs_config_check_user). */
	if (geteuid() == 0 &&
	    shmfs_config_check_user(&cfg, err, sizeof(err)) < 0) {
		shmfs_log_error("%s", err);
		goto out_config;
	}
	if (cli.pidfile) { /* -p overrides pid = */
		free(cfg.pid);
		cfg.pid = strdup(cli.pidfile);
		if (cfg.pid == NULL)
			goto out_config;
	}
	if (cli.workers_set)
		cfg.workers = cli.workers; /* for -t; the master keeps -w too */
	if (cli.check) {
		if (geteuid() == 0)
			shmfs_uidscan_warn(&cfg);
		res = probe_objects(&cfg);
		shmfs_config_print(&cfg, shmfs_kernel_passthrough_probe(),
				   stdout);
		status = shmfs_sizing_check(&cfg) < 0 || check_log(&cfg) < 0 ||
					 res < 0
				 ? SHMFS_EXIT_USAGE
				 : SHMFS_EXIT_OK;
		goto out_config;
	}

	int level = cli.debug ? LOG_DEBUG : cfg.log_level;
	/*
	 * A log file is opened here, detached or not, so that a path that
	 * cannot be written fails now, on the terminal, not after detaching.
	 */
	bool file = cfg.log != NULL && cfg.log[0] == '/';
	res = shmfs_log_open(cli.foreground || file ? cfg.log : NULL, level,
			     true);
	if (res < 0) {
		shmfs_log_error("%s:%d: log: %s: %s", cfg.file, cfg.log_line,
				cfg.log, shmfs_file_strerror(res));
		goto out_config;
	}
	if (cli.source != NULL && cli.suid_dev[0] != '\0')
		shmfs_log_info("mount options dev,suid (mount.fuse3 adds them) "
			       "ignored: shmfs mounts nosuid,nodev");
	if (cfg.nzones == 0)
		shmfs_log_warn("%s: no zones: the mount is an empty directory",
			       cfg.file);
	if (shmfs_sizing_check(&cfg) < 0) {
		status = SHMFS_EXIT_MOUNT; /* the zones could not be mapped */
		goto out_log;
	}

	char *mountpoint;
	if (shmfs_mountpoint_check(cli.mountpoint, &mountpoint) < 0) {
		status = SHMFS_EXIT_MOUNT;
		goto out_log;
	}
	int pidfd = -1;
	if (cfg.pid != NULL) {
		pid_t holder;

		res = shmfs_pidfile_lock(cfg.pid, &pidfd, &holder);
		if (res == -EWOULDBLOCK) {
			shmfs_log_error("%s: held by pid %d: another shmfs?",
					cfg.pid, (int)holder);
			goto out_mountpoint;
		} else if (res == -EPERM) {
			shmfs_log_error("%s: owned by another user: refused",
					cfg.pid);
			goto out_mountpoint;
		} else if (res < 0) {
			shmfs_log_error("%s: cannot lock: %s", cfg.pid,
					shmfs_file_strerror(res));
			goto out_mountpoint;
		}
	}
	/* Reloads read the file again after the daemon left its cwd. */
	char *config = cli.config ? realpath(cli.config, NULL) : NULL;
	char *pidfile = cfg.pid ? strdup(cfg.pid) : NULL;
	struct shmfs_master_opts opts = {
		.mountpoint = mountpoint,
		.config = config ? config : cli.config,
		.workers_set = cli.workers_set,
		.workers = cli.workers,
		.foreground = cli.foreground,
		.debug = cli.debug,
		.fuse_args = &cli.fuse_args,
		.pidfile = pidfile,
		.pidfd = pidfd,
	};
	status = shmfs_master_run(&cfg, &opts);
	shmfs_pidfile_remove(pidfile, pidfd);
	free(pidfile);
	free(config);
out_mountpoint:
	free(mountpoint);
out_log:
	shmfs_log_close();
out_config:
	shmfs_config_free(&cfg);
out_cli:
	shmfs_cli_free(&cli);
	return status;
}

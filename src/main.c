/* SPDX-License-Identifier: MIT */
/*
 * shmfs: command line -> configuration -> master. Everything else lives in
 * the library that the tests link too.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shmfs/cli.h"
#include "shmfs/config.h"
#include "shmfs/log.h"
#include "shmfs/master.h"
#include "shmfs/value.h"

static int load_config(const struct shmfs_cli *cli, struct shmfs_config *cfg)
{
	char err[1024];
	int res;

	if (cli->config != NULL)
		res = shmfs_config_load(cli->config, cfg, err, sizeof(err));
	else if (access(SHMFS_CONFIG_PATH, F_OK) == 0)
		res = shmfs_config_load(SHMFS_CONFIG_PATH, cfg, err,
					sizeof(err));
	else
		res = shmfs_config_parse_string(shmfs_default_ini, "<built-in>",
						cfg, err, sizeof(err));
	if (res < 0)
		shmfs_log_error("%s", err);
	return res;
}

static unsigned resolve_workers(unsigned workers)
{
	long cpus;

	if (workers != 0)
		return workers;
	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (cpus < 1)
		return 1;
	return cpus > SHMFS_WORKERS_MAX ? SHMFS_WORKERS_MAX : (unsigned)cpus;
}

int main(int argc, char **argv)
{
	struct shmfs_config cfg = {0};
	struct shmfs_cli cli;
	char err[512];
	int status = SHMFS_EXIT_USAGE;

	if (shmfs_cli_parse(argc, argv, &cli, err, sizeof(err)) < 0) {
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
		status = SHMFS_EXIT_OK;
		goto out_cli;
	}

	if (load_config(&cli, &cfg) < 0)
		goto out_cli;
	if (cli.workers_set)
		cfg.workers = cli.workers;
	if (cli.check) {
		shmfs_config_print(&cfg, stdout);
		status = SHMFS_EXIT_OK;
		goto out_config;
	}

	int level = cli.debug ? LOG_DEBUG : cfg.log_level;
	int res = shmfs_log_open(cli.foreground ? cfg.log : NULL, level, true);
	if (res < 0) {
		shmfs_log_sys(LOG_ERR, -res, "%s: cannot open the log",
			      cfg.log);
		goto out_config;
	}
	if (cfg.nzones == 0)
		shmfs_log_warn("%s: no zones: the mount is an empty directory",
			       cfg.file);

	/* The daemon leaves the working directory: keep an absolute path. */
	char *mountpoint = realpath(cli.mountpoint, NULL);
	if (mountpoint == NULL) {
		shmfs_log_sys(LOG_ERR, errno, "cannot mount on %s",
			      cli.mountpoint);
		status = SHMFS_EXIT_MOUNT;
		goto out_config;
	}
	struct shmfs_master_opts opts = {
		.mountpoint = mountpoint,
		.workers = resolve_workers(cfg.workers),
		.foreground = cli.foreground,
		.fuse_args = &cli.fuse_args,
	};
	status = shmfs_master_run(&cfg, &opts);
	free(mountpoint);
	shmfs_log_close();
out_config:
	shmfs_config_free(&cfg);
out_cli:
	shmfs_cli_free(&cli);
	return status;
}

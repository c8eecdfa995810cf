/* SPDX-License-Identifier: MIT */
/*
 * shmfs: the command line picks one program, each in a file of its own:
 * the daemon (daemon/start.c), -t (tools/check.c), -s (tools/control.c),
 * status (tools/status_run.c), and --help and --version here.
 */
#include <errno.h>
#include <stdio.h>

#include "shmfs/check.h"
#include "shmfs/cli.h"
#include "shmfs/control.h"
#include "shmfs/exit.h"
#include "shmfs/kernel.h"
#include "shmfs/log.h"
#include "shmfs/start.h"
#include "shmfs/status.h"
#include "shmfs/uring.h"

static int help(void)
{
	shmfs_cli_usage(stdout);
	return SHMFS_EXIT_OK;
}

static int version(void)
{
	printf("shmfs %s\nlibfuse %s\n", SHMFS_VERSION, fuse_pkgversion());
#ifdef SHMFS_FAULT_INJECTION
	printf("fault injection: on (SHMFS_FAULT)\n");
#endif
	return SHMFS_EXIT_OK;
}

int main(int argc, char **argv)
{
	struct shmfs_cli cli;
	char err[512] = "";
	int status = SHMFS_EXIT_USAGE;
	int res = shmfs_cli_parse(argc, argv, &cli, err, sizeof(err));

	if (res == -ENOMEM)
		shmfs_log_sys(LOG_ERR, ENOMEM,
			      "parsing the command line failed");
	else if (res < 0)
		shmfs_log_error("%s", err);
	else if (cli.help)
		status = help();
	else if (cli.version)
		status = version();
	else if (cli.status)
		status = shmfs_status_run(cli.mountpoint, cli.json);
	else if (cli.signal)
		status = shmfs_control_signal(cli.pidfile, cli.config,
					      cli.signal);
	else if (cli.check)
		status = shmfs_check_run(&cli, shmfs_kernel_passthrough_probe(),
					 shmfs_uring_probe());
	else
		status = shmfs_start_daemon(&cli, argv);
	shmfs_cli_free(&cli);
	return status;
}

/* SPDX-License-Identifier: MIT */
/*
 * shmfs -t (see check.h): everything the start would refuse, found
 * without allocating a zone, mounting or writing a file.
 */
#include <stdio.h>
#include <unistd.h>

#include "shmfs/check.h"
#include "shmfs/cli.h"
#include "shmfs/config.h"
#include "shmfs/exit.h"
#include "shmfs/log.h"
#include "shmfs/safefile.h"
#include "shmfs/shm.h"
#include "shmfs/sizing.h"
#include "shmfs/uidscan.h"
#include "shmfs/uring.h"

/* A log file that could not be written would fail the start. */
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
 * Each shared object as the start would find it (missing, taken by
 * another program or a running shmfs, or a previous run's leftover that
 * the start adopts), and the capacity of one whose size is left out.
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
		else if (z->capacity == 0)
			z->capacity = shm.size;
	}
	return res;
}

/*
 * The transport, as the summary line ends: rings where they can be had
 * (no_uring NULL: the machine allows them; the pool must fit), else
 * /dev/fuse and why (what the start logs for io_uring = auto).
 */
static const char *transport(const struct shmfs_config *cfg,
			     const char *no_uring, char *buf, size_t len)
{
	if (cfg->io_uring == SHMFS_IO_URING_OFF)
		return "/dev/fuse (io_uring = off)";
	if (no_uring == NULL) {
		snprintf(buf, len,
			 "io_uring (%u queues, one worker pinned to each CPU)",
			 shmfs_uring_possible_cpus());
		return buf;
	}
	snprintf(buf, len, "/dev/fuse (io_uring: not used: %s)", no_uring);
	return buf;
}

/* io_uring = on fails the start (shmfs_uring_check_start): so here. */
static int check_uring(const struct shmfs_config *cfg, const char *no_uring)
{
	if (cfg->io_uring != SHMFS_IO_URING_ON || no_uring == NULL)
		return 0;
	shmfs_log_error("%s: io_uring = on: %s", cfg->file, no_uring);
	return -1;
}

int shmfs_check_run(const struct shmfs_cli *cli, const char *no_passthrough,
		    const char *no_uring)
{
	struct shmfs_config cfg;
	int probed, sized, logged, uring;
	char line[256];

	if (shmfs_config_load_command(cli->config, cli->pidfile, &cfg) < 0)
		return SHMFS_EXIT_USAGE;
	if (cli->workers_set)
		cfg.workers = cli->workers;
	if (geteuid() == 0)
		shmfs_uidscan_warn(&cfg);
	if (no_uring == NULL)
		no_uring = shmfs_uring_pool_why_not(
			cfg.workers, shmfs_uring_possible_cpus());
	probed = probe_objects(&cfg);
	shmfs_config_print(&cfg, no_passthrough,
			   transport(&cfg, no_uring, line, sizeof(line)),
			   stdout);
	sized = shmfs_sizing_check(&cfg);
	logged = sized < 0 ? 0 : check_log(&cfg);
	uring = check_uring(&cfg, no_uring);
	shmfs_config_free(&cfg);
	return probed < 0 || sized < 0 || logged < 0 || uring < 0
		       ? SHMFS_EXIT_USAGE
		       : SHMFS_EXIT_OK;
}

/* SPDX-License-Identifier: MIT */
/*
 * shmfs -t: the configuration checked as the start would check it,
 * changing nothing, and its zones printed as a table.
 */
#ifndef SHMFS_CHECK_H
#define SHMFS_CHECK_H

struct shmfs_cli;

/*
 * Loads the configuration of cli (-c, -p, -w), warns of what shares the
 * workers' uid (as root), probes each shared object as the start would
 * find it, prints the zone table (shmfs_config_print, no_passthrough
 * saying why passthrough cannot be had here, or NULL; its summary ends
 * with the transport, no_uring saying why rings cannot be had, or NULL)
 * and checks the machine's limits, the log file and io_uring = on, which
 * the start refuses. Returns SHMFS_EXIT_OK, or SHMFS_EXIT_USAGE with
 * every problem logged.
 */
int shmfs_check_run(const struct shmfs_cli *cli, const char *no_passthrough,
		    const char *no_uring);

#endif /* SHMFS_CHECK_H */

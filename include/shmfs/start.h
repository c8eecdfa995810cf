/* SPDX-License-Identifier: MIT */
/*
 * The daemon's start, from the command line to a running master: the
 * configuration loaded and checked, the log opened, the machine's limits,
 * the mount point and the pid file taken, then shmfs_master_run.
 */
#ifndef SHMFS_START_H
#define SHMFS_START_H

struct shmfs_cli;

/*
 * Runs the daemon that cli describes to its end. Returns its exit status:
 * SHMFS_EXIT_OK, SHMFS_EXIT_USAGE (the configuration, the log or the pid
 * file refused: nothing mounted), SHMFS_EXIT_MOUNT (the zones or the mount
 * could not be had), each with its reason logged.
 */
int shmfs_start_daemon(struct shmfs_cli *cli, char **argv);

#endif /* SHMFS_START_H */

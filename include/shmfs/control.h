/* SPDX-License-Identifier: MIT */
/*
 * "shmfs -s stop|reload|reopen": finds the master through its pid file and
 * signals it. The pid file is -p FILE, or the pid = of the ini file, read
 * leniently: a file broken since the start must not keep anyone from
 * stopping the daemon it started.
 */
#ifndef SHMFS_CONTROL_H
#define SHMFS_CONTROL_H

/* How long "-s stop" waits for the master to exit. */
#define SHMFS_STOP_TIMEOUT_S 15

/*
 * The value of pid = in [shmfs] of the file at path (NULL: the default
 * file, if it exists), found without parsing the rest: the first such line
 * wins, an inline comment is cut. Returns a malloc'd path, or NULL.
 */
char *shmfs_control_find_pid(const char *path);

/*
 * Sends sig to the master named by pidfile (NULL: found in config as
 * above). For SIGTERM, returns only once the master has exited, or after
 * SHMFS_STOP_TIMEOUT_S with a message. Returns an exit status: 0, or 1
 * with one line logged.
 */
int shmfs_control_signal(const char *pidfile, const char *config, int sig);

#endif /* SHMFS_CONTROL_H */

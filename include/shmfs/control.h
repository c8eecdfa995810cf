/* SPDX-License-Identifier: MIT */
/*
 * "shmfs -s stop|reload|reopen|upgrade": finds the master through its pid
 * file and signals it. The pid file is -p FILE, or the pid = of the ini
 * file as the daemon's parser reads it (shmfs_config_load_pid): a mistake
 * further down is a warning for stop, reopen and upgrade, but a reload of
 * a file that would not load is refused before any signal.
 */
#ifndef SHMFS_CONTROL_H
#define SHMFS_CONTROL_H

/* How long "-s stop" waits for the master to exit. */
#define SHMFS_STOP_TIMEOUT_S 15

/*
 * Sends sig to the master named by pidfile (NULL: found in config, or the
 * default file, as above). For SIGHUP, config (or the default) is loaded
 * first, even with pidfile, and a mistake is the error. For SIGTERM,
 * returns only once the master has exited, or after SHMFS_STOP_TIMEOUT_S
 * with a message. For SIGUSR2 (upgrade), a master that neither blocks,
 * ignores nor catches it (one from before upgrades, which it would kill)
 * is not signalled, and that is the error. Returns an exit status: 0, or
 * 1 with one line logged.
 */
int shmfs_control_signal(const char *pidfile, const char *config, int sig);

#endif /* SHMFS_CONTROL_H */

/* SPDX-License-Identifier: MIT */
/*
 * The daemon leaving its terminal (without -f): it detaches before the
 * mount, so that the pid in the pid file, which must be there before the
 * mount appears (an early "shmfs -s stop" reads it), is the master's. The
 * shell's process waits until the mount is live and then exits 0, or 2 if
 * the master died first.
 */
#ifndef SHMFS_DETACH_H
#define SHMFS_DETACH_H

/*
 * Forks: the parent waits for shmfs_detach_ready and exits; the child
 * returns 0 in a session of its own, in "/", with *ready the descriptor to
 * pass to shmfs_detach_ready. Its messages still go to the terminal.
 * Returns -errno (logged, naming the call) if it cannot detach.
 */
int shmfs_detach(int *ready);

/* Once the log is where it goes for good: /dev/null for stdio. */
void shmfs_detach_stdio(void);

/* The mount is live: lets the waiting parent return; ready < 0 ignored. */
void shmfs_detach_ready(int ready);

#endif /* SHMFS_DETACH_H */

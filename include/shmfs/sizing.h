/* SPDX-License-Identifier: MIT */
/*
 * What this machine allows a configuration, checked by "shmfs -t" and
 * before anything is allocated: every zone is one memory mapping
 * (vm.max_map_count) and most keep a descriptor (RLIMIT_NOFILE); sizes
 * rounded up to a page and zones that add up to more than RAM + swap are
 * said, with the numbers, though they are allowed.
 */
#ifndef SHMFS_SIZING_H
#define SHMFS_SIZING_H

struct shmfs_config;

/*
 * Logs a warning for each size that was rounded up (the first few, then a
 * count) and for a total beyond RAM + swap. Returns 0, or -E2BIG (logged,
 * naming the limit and how many zones would fit) if the zones need more
 * mappings or descriptors than the machine gives a process.
 */
int shmfs_sizing_check(const struct shmfs_config *cfg);

#endif /* SHMFS_SIZING_H */

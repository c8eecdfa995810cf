/* SPDX-License-Identifier: MIT */
/*
 * The machine's limits against a configuration (see sizing.h). Each is read
 * from where the kernel publishes it, at the time of the check.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>

#include "shmfs/config.h"
#include "shmfs/log.h"
#include "shmfs/sizing.h"

/* Rounded sizes named one by one; past that, a count. */
#define ROUNDED_SHOWN 3

/*
 * Mappings a daemon has besides its zones: the binary, libraries, heap,
 * stacks, the shared region and the stats arena, with room to spare.
 */
#define MAPPINGS_OWN 256

/* Descriptors besides the zones': stdio, /dev/fuse, the log, the pid file. */
#define FDS_OWN 64

static long read_long(const char *path)
{
	FILE *f = fopen(path, "re");
	long v = -1;

	if (f == NULL)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static void warn_rounded(const struct shmfs_config *cfg)
{
	size_t n = 0;

	for (size_t i = 0; i < cfg->nzones; i++) {
		const struct shmfs_zone_config *z = &cfg->zones[i];

		/*
		 * A size left out (requested_line 0) is a shared object's own,
		 * which -t may have filled in: exact, never rounded.
		 */
		if (z->requested_line == 0 || z->requested == z->capacity)
			continue;
		if (n++ < ROUNDED_SHOWN)
			shmfs_log_warn("%s:%d: size %" PRIu64 " of zone \"%s\" "
				       "is rounded up to %" PRIu64
				       " bytes (whole %spages)",
				       cfg->file, z->requested_line,
				       z->requested, z->name, z->capacity,
				       z->huge_pages ? "2 MiB " : "");
	}
	if (n > ROUNDED_SHOWN)
		shmfs_log_warn("%s: %zu more sizes are rounded up to whole "
			       "pages",
			       cfg->file, n - ROUNDED_SHOWN);
}

static void warn_memory(const struct shmfs_config *cfg)
{
	struct sysinfo si;
	uint64_t total = 0, memory;

	if (sysinfo(&si) < 0)
		return;
	for (size_t i = 0; i < cfg->nzones; i++)
		total += cfg->zones[i].capacity;
	memory = ((uint64_t)si.totalram + si.totalswap) * si.mem_unit;
	if (total > memory)
		shmfs_log_warn("%s: the zones add up to %" PRIu64 " bytes, "
			       "more than RAM + swap (%" PRIu64 " bytes): "
			       "filling them all would exhaust the machine's "
			       "memory",
			       cfg->file, total, memory);
}

/*
 * Zones that cannot be had without a descriptor of their own (see
 * backend.h: a memfd, a posix object, a file). Anon and devzero keep
 * their memory's file only where it can be had, and do without it past
 * the limit.
 */
static size_t zones_with_fd(const struct shmfs_config *cfg)
{
	size_t n = 0;

	for (size_t i = 0; i < cfg->nzones; i++)
		n += shmfs_backend_info(cfg->zones[i].backend)->needs_fd;
	return n;
}

/*
 * Issue 18: zones resident from the start (populate, huge pages) are
 * allocated before the mount: more than RAM + swap cannot start, more
 * than RAM swaps from the start (and a swapped huge page is split). A
 * shared object's exact size that is not whole 2 MiB pages leaves its
 * tail in 4 KiB pages.
 */
static int check_resident(const struct shmfs_config *cfg)
{
	uint64_t resident = 0, ram, swap;
	struct sysinfo si;

	for (size_t i = 0; i < cfg->nzones; i++) {
		const struct shmfs_zone_config *z = &cfg->zones[i];

		resident += z->populate ? z->capacity : 0;
		if (z->huge_pages && z->capacity % SHMFS_HUGE_SIZE)
			shmfs_log_warn("%s:%d: zone \"%s\": %" PRIu64
				       " bytes are not whole 2 MiB pages: "
				       "the last %" PRIu64
				       " bytes stay in 4 KiB pages",
				       cfg->file, z->huge_line, z->name,
				       z->capacity,
				       z->capacity % SHMFS_HUGE_SIZE);
	}
	if (resident == 0 || sysinfo(&si) < 0)
		return 0;
	ram = (uint64_t)si.totalram * si.mem_unit;
	swap = (uint64_t)si.totalswap * si.mem_unit;
	if (resident > ram + swap) {
		shmfs_log_error("%s: the zones resident from the start "
				"(populate, huge_pages) add up to %" PRIu64
				" bytes, more than RAM + swap (%" PRIu64
				" bytes): they cannot be allocated",
				cfg->file, resident, ram + swap);
		return -E2BIG;
	}
	if (resident > ram)
		shmfs_log_warn("%s: the zones resident from the start add up "
			       "to %" PRIu64 " bytes, more than RAM (%" PRIu64
			       " bytes): part of them is swapped from the "
			       "start",
			       cfg->file, resident, ram);
	return 0;
}

int shmfs_sizing_check(const struct shmfs_config *cfg)
{
	int err;
	long maps = read_long("/proc/sys/vm/max_map_count");
	struct rlimit rl;

	warn_rounded(cfg);
	warn_memory(cfg);
	err = check_resident(cfg);
	if (err)
		return err;
	if (maps > MAPPINGS_OWN &&
	    cfg->nzones > (size_t)(maps - MAPPINGS_OWN)) {
		shmfs_log_error(
			"%s: %zu zones need %zu memory mappings, more "
			"than vm.max_map_count (%ld) allows: at most "
			"%ld zones fit (raise it with sysctl "
			"vm.max_map_count=%zu)",
			cfg->file, cfg->nzones, cfg->nzones + MAPPINGS_OWN,
			maps, maps - MAPPINGS_OWN, cfg->nzones + MAPPINGS_OWN);
		return -E2BIG;
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max > FDS_OWN &&
	    zones_with_fd(cfg) > rl.rlim_max - FDS_OWN) {
		shmfs_log_error("%s: %zu zones need a descriptor each "
				"(memfd, posix, file), more than the hard "
				"RLIMIT_NOFILE (%llu) allows: at most %llu fit",
				cfg->file, zones_with_fd(cfg),
				(unsigned long long)rl.rlim_max,
				(unsigned long long)(rl.rlim_max - FDS_OWN));
		return -E2BIG;
	}
	return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * Huge pages, up-front allocation and the memory policy of a zone (see
 * huge.h). MADV_COLLAPSE (Linux 6.1) turns a 2 MiB extent of shmem into
 * one huge page whatever shmem_enabled says, given an aligned mapping and
 * one present page in the extent; one call per extent, since a call over
 * the whole zone stops at the first empty one. No global setting is ever
 * changed; what the kernel really gave is read back from smaps.
 */
#include <errno.h>
#include <inttypes.h>
#include <linux/mempolicy.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shmfs/fault.h"
#include "shmfs/huge.h"
#include "shmfs/log.h"

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define MASK_BITS (8 * sizeof(unsigned long))

static const char *const huge_names[] = {
	[SHMFS_HUGE_OFF] = "off",
	[SHMFS_HUGE_TRY] = "try",
	[SHMFS_HUGE_ON] = "on",
};

const char *shmfs_huge_mode_name(enum shmfs_huge_mode mode)
{
	return mode <= SHMFS_HUGE_ON ? huge_names[mode] : "?";
}

size_t shmfs_huge_reserve_len(size_t size, size_t align, size_t page)
{
	return shmfs_huge_align_up(size, page) + align - page;
}

uintptr_t shmfs_huge_aligned_in(uintptr_t base, size_t align)
{
	return (uintptr_t)shmfs_huge_align_up(base, align);
}

/* The ranges being summed, and the one the lines that follow are in. */
struct smaps_walk {
	struct shmfs_huge_range *r;
	size_t n;
	struct shmfs_huge_range *in;
};

/* The range (sorted by start) that [lo, hi) lies within, or NULL. */
static struct shmfs_huge_range *range_of(const struct smaps_walk *w,
					 uintptr_t lo, uintptr_t hi)
{
	size_t a = 0, b = w->n;

	while (a < b) { /* the first range starting past lo: b */
		size_t m = a + (b - a) / 2;

		if (w->r[m].start <= lo)
			a = m + 1;
		else
			b = m;
	}
	if (b == 0 || lo >= hi || hi > w->r[b - 1].end)
		return NULL;
	return &w->r[b - 1];
}

/* One line of smaps: a mapping's header, or one of its "Key: N kB". */
static void smaps_line(struct smaps_walk *w, const char *line)
{
	unsigned long lo, hi, kb;
	char c;

	if (sscanf(line, "%lx-%lx %c", &lo, &hi, &c) == 3) {
		w->in = range_of(w, lo, hi);
		if (w->in)
			w->in->found = true;
		return;
	}
	if (w->in == NULL)
		return;
	if (sscanf(line, "ShmemPmdMapped: %lu kB", &kb) == 1)
		w->in->pmd += (uint64_t)kb << 10;
	else if (sscanf(line, "Rss: %lu kB", &kb) == 1)
		w->in->rss += (uint64_t)kb << 10;
}

static void walk_init(struct smaps_walk *w, struct shmfs_huge_range *r,
		      size_t n)
{
	*w = (struct smaps_walk){.r = r, .n = n};
	for (size_t i = 0; i < n; i++) {
		r[i].pmd = r[i].rss = 0;
		r[i].found = false;
	}
}

void shmfs_huge_smaps_parse_ranges(const char *text, struct shmfs_huge_range *r,
				   size_t n)
{
	struct smaps_walk w;
	char line[256];

	walk_init(&w, r, n);
	while (*text != '\0') {
		size_t len = strcspn(text, "\n");
		size_t k = len < sizeof(line) - 1 ? len : sizeof(line) - 1;

		memcpy(line, text, k);
		line[k] = '\0';
		smaps_line(&w, line);
		text += len + (text[len] == '\n');
	}
}

int shmfs_huge_smaps_parse(const char *text, uintptr_t start, uintptr_t end,
			   uint64_t *pmd_bytes, uint64_t *rss_bytes)
{
	struct shmfs_huge_range r = {.start = start, .end = end};

	shmfs_huge_smaps_parse_ranges(text, &r, 1);
	*pmd_bytes = r.pmd;
	*rss_bytes = r.rss;
	return r.found ? 0 : -ENOENT;
}

int shmfs_huge_measure_ranges(struct shmfs_huge_range *r, size_t n)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	struct smaps_walk w;
	char line[256];

	if (f == NULL)
		return -errno;
	walk_init(&w, r, n);
	while (fgets(line, sizeof(line), f)) {
		size_t len = strlen(line);

		smaps_line(&w, line);
		/* The rest of a line too long (a path): not a header. */
		while (len == sizeof(line) - 1 && line[len - 1] != '\n' &&
		       fgets(line, sizeof(line), f))
			len = strlen(line);
	}
	fclose(f);
	return 0;
}

int shmfs_huge_measure(const void *addr, size_t size, uint64_t *pmd_bytes,
		       uint64_t *rss_bytes)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	struct shmfs_huge_range r = {
		.start = (uintptr_t)addr,
		.end = (uintptr_t)addr + shmfs_huge_align_up(size, page),
	};
	int err = shmfs_huge_measure_ranges(&r, 1);

	*pmd_bytes = r.pmd;
	*rss_bytes = r.rss;
	return err ? err : r.found ? 0 : -ENOENT;
}

int shmfs_numa_parse_list(const char *list, unsigned long *mask)
{
	const char *p = list;

	memset(mask, 0, SHMFS_NUMA_NODES_MAX / 8);
	while (*p != '\0' && *p != '\n') {
		char *end;
		unsigned long lo = strtoul(p, &end, 10), hi = lo;

		if (end == p)
			return -EINVAL;
		if (*end == '-') {
			p = end + 1;
			hi = strtoul(p, &end, 10);
			if (end == p || hi < lo)
				return -EINVAL;
		}
		if (hi >= SHMFS_NUMA_NODES_MAX)
			return -EINVAL;
		for (unsigned long n = lo; n <= hi; n++)
			mask[n / MASK_BITS] |= 1UL << (n % MASK_BITS);
		p = end;
		if (*p == ',')
			p++;
		else if (*p != '\0' && *p != '\n')
			return -EINVAL;
	}
	return 0;
}

int shmfs_numa_args(enum shmfs_numa_policy policy, int node, const char *online,
		    struct shmfs_mbind_args *args)
{
	memset(args, 0, sizeof(*args));
	/* get_nodes() reads maxnode - 1 bits: one more than the mask's. */
	args->maxnode = SHMFS_NUMA_NODES_MAX + 1;
	/* Pages an adopted object already has move to the policy too. */
	args->flags = MPOL_MF_MOVE;
	if (node >= 0) {
		if (node >= SHMFS_NUMA_NODES_MAX)
			return -EINVAL;
		args->mode = MPOL_BIND;
		args->mask[node / MASK_BITS] = 1UL << (node % MASK_BITS);
		return 0;
	}
	if (policy != SHMFS_NUMA_INTERLEAVE) {
		args->mode = MPOL_DEFAULT;
		return 1;
	}
	args->mode = MPOL_INTERLEAVE;
	return shmfs_numa_parse_list(online, args->mask);
}

bool shmfs_numa_node_exists(const char *sysfs, int node)
{
	char path[512];
	struct stat st;

	if (node < 0 || node >= SHMFS_NUMA_NODES_MAX)
		return false;
	snprintf(path, sizeof(path), "%s/devices/system/node", sysfs);
	if (stat(path, &st) < 0)
		return node == 0; /* a kernel without NUMA: one node */
	snprintf(path, sizeof(path), "%s/devices/system/node/node%d", sysfs,
		 node);
	return stat(path, &st) == 0;
}

/* The online nodes' list, "0" where the kernel has no NUMA. */
static void online_nodes(char *buf, size_t len)
{
	FILE *f = fopen("/sys/devices/system/node/online", "re");

	if (f == NULL || fgets(buf, (int)len, f) == NULL)
		snprintf(buf, len, "0");
	if (f)
		fclose(f);
}

static int set_policy(void *addr, size_t size, const char *label,
		      const struct shmfs_placement *pl)
{
	struct shmfs_mbind_args a;
	char online[256];
	int ret;

	online_nodes(online, sizeof(online));
	ret = shmfs_numa_args(pl->numa, pl->node, online, &a);
	if (ret == 1)
		return 0;
	if (ret < 0) {
		shmfs_log_error("%s:%d: zone \"%s\": no node list to "
				"interleave over (/sys/devices/system/node/"
				"online: \"%s\")",
				pl->file, pl->numa_line, label, online);
		return ret;
	}
	if (syscall(SYS_mbind, addr, size, a.mode, a.mask, a.maxnode, a.flags) <
	    0) {
		int err = errno;

		shmfs_log_sys(LOG_ERR, err,
			      "%s:%d: zone \"%s\": mbind(%p, %zu, %s, node "
			      "%d) failed",
			      pl->file, pl->numa_line, label, addr, size,
			      a.mode == MPOL_BIND ? "MPOL_BIND"
						  : "MPOL_INTERLEAVE",
			      pl->node);
		return -err;
	}
	return 0;
}

static int populate(void *addr, size_t len, const char *label)
{
	if (len == 0 || madvise(addr, len, MADV_POPULATE_WRITE) == 0)
		return 0;
	int err = errno;
	shmfs_log_sys(LOG_ERR, err,
		      "zone \"%s\": madvise(%p, %zu, MADV_POPULATE_WRITE) "
		      "failed: the memory cannot be had",
		      label, addr, len);
	return -err;
}

/* One extent: 0 or -errno. The fault point is a kernel that refuses. */
static int collapse(void *extent)
{
	SHMFS_FAULT_RETURN("no_collapse", -EINVAL);
	return madvise(extent, SHMFS_HUGE_SIZE, MADV_COLLAPSE) < 0 ? -errno : 0;
}

/* Why the zone is not in huge pages, as try's warning and on's error say. */
static void say_fallback(const char *label, const struct shmfs_placement *pl,
			 const char *why)
{
	if (pl->huge == SHMFS_HUGE_ON)
		shmfs_log_error("%s:%d: zone \"%s\": huge_pages = on: %s: "
				"refused (huge_pages = try runs it in 4 KiB "
				"pages)",
				pl->file, pl->huge_line, label, why);
	else
		shmfs_log_warn("%s:%d: zone \"%s\": huge_pages = try: %s: "
			       "running in 4 KiB pages there",
			       pl->file, pl->huge_line, label, why);
}

/*
 * Touches one page per extent and collapses each, then checks smaps.
 * Returns 0 with *fell_back for what try accepts, -errno otherwise.
 */
static int make_huge(unsigned char *addr, size_t size, const char *label,
		     const struct shmfs_placement *pl, bool *fell_back)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t whole = shmfs_huge_whole_end(size), failed = 0, first = 0;
	uint64_t pmd, rss;
	int first_err = 0, err;
	char why[256];

	for (size_t off = 0; off < whole; off += SHMFS_HUGE_SIZE) {
		err = populate(addr + off, page, label);
		if (err)
			return err;
		err = collapse(addr + off);
		if (err == 0)
			continue;
		if (failed++ == 0) {
			first = off;
			first_err = -err;
		}
		if (pl->huge == SHMFS_HUGE_ON)
			break;
	}
	if (failed) {
		snprintf(why, sizeof(why),
			 "%zu of %zu extents not collapsed (the first at "
			 "offset %zu: madvise(MADV_COLLAPSE) failed: %s)",
			 failed, whole / SHMFS_HUGE_SIZE, first,
			 strerror(first_err));
		say_fallback(label, pl, why);
		*fell_back = true;
		return pl->huge == SHMFS_HUGE_ON ? -first_err : 0;
	}
	err = shmfs_huge_measure(addr, size, &pmd, &rss);
	if (err == 0 && pmd < whole) {
		snprintf(why, sizeof(why),
			 "/proc/self/smaps shows %" PRIu64 " of %zu bytes "
			 "in 2 MiB pages (ShmemPmdMapped)",
			 pmd, whole);
		say_fallback(label, pl, why);
		*fell_back = true;
		return pl->huge == SHMFS_HUGE_ON ? -EOPNOTSUPP : 0;
	}
	return 0;
}

int shmfs_huge_prepare(void *addr, size_t size, const char *label,
		       const struct shmfs_placement *pl,
		       struct shmfs_huge_result *res)
{
	size_t whole = shmfs_huge_whole_end(size);
	int err;

	memset(res, 0, sizeof(*res));
	if (!shmfs_placement_any(pl))
		return 0;
	err = set_policy(addr, size, label, pl);
	if (err)
		return err;
	if (pl->huge != SHMFS_HUGE_OFF) {
		if (whole == 0) {
			say_fallback(label, pl, "smaller than one 2 MiB page");
			res->fell_back = true;
			if (pl->huge == SHMFS_HUGE_ON)
				return -EINVAL;
		} else {
			err = make_huge(addr, size, label, pl, &res->fell_back);
			if (err)
				return err;
		}
	}
	/* What no extent holds now: the tail, and a fallback's pages. */
	if (pl->populate || pl->huge != SHMFS_HUGE_OFF) {
		err = res->fell_back || pl->huge == SHMFS_HUGE_OFF
			      ? populate(addr, size, label)
			      : populate((unsigned char *)addr + whole,
					 size - whole, label);
		if (err)
			return err;
	}
	if (shmfs_huge_measure(addr, size, &res->huge_bytes, &res->rss_bytes))
		res->huge_bytes = res->rss_bytes = 0;
	return 0;
}

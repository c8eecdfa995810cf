/* SPDX-License-Identifier: MIT */
/*
 * A zone's memory made resident and placed before any fork (issue 18):
 * huge_pages = off|try|on collapses the zone's shmem into 2 MiB pages
 * with MADV_COLLAPSE, one extent per call, in a mapping aligned to 2 MiB;
 * populate = yes allocates every page at the start (charged to the
 * daemon); numa_node = N or numa = interleave sets the object's memory
 * policy (mbind) before a page exists. What the kernel really gave is
 * read back from /proc/self/smaps (ShmemPmdMapped of the zone's range).
 * The pure parts (alignment, extents, smaps text, mbind's arguments)
 * are separate functions, for the unit tests.
 */
#ifndef SHMFS_HUGE_H
#define SHMFS_HUGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The one huge page size shmfs asks for: a PMD on x86-64 and arm64 (4K). */
#define SHMFS_HUGE_SIZE ((size_t)2 << 20)

/* huge_pages =: PostgreSQL's convention. */
enum shmfs_huge_mode {
	SHMFS_HUGE_OFF, /* 4 KiB pages, as the kernel's settings give */
	SHMFS_HUGE_TRY, /* 2 MiB pages, else 4 KiB with one warning line */
	SHMFS_HUGE_ON,	/* 2 MiB pages, else the zone does not start */
};

/* The value's name as written in the ini file ("off", "try", "on"). */
const char *shmfs_huge_mode_name(enum shmfs_huge_mode mode);

/* numa =: the policy of the zone's object (numa_node = N is BIND). */
enum shmfs_numa_policy {
	SHMFS_NUMA_DEFAULT,    /* the faulting process's (its local node) */
	SHMFS_NUMA_INTERLEAVE, /* pages spread over every online node */
};

/* The most nodes a mask holds (the kernel's NODES_SHIFT is at most 10). */
#define SHMFS_NUMA_NODES_MAX 1024

/* What the zone asks of its memory, from its configuration. */
struct shmfs_placement {
	enum shmfs_huge_mode huge;
	bool populate;
	enum shmfs_numa_policy numa;
	int node; /* numa_node =; -1: none */
	/* For messages: the file and the lines of huge_pages = and numa. */
	const char *file;
	int huge_line;
	int numa_line;
};

/* Whether the placement does anything (a zone left as it always was). */
static inline bool shmfs_placement_any(const struct shmfs_placement *pl)
{
	return pl->huge != SHMFS_HUGE_OFF || pl->populate ||
	       pl->numa != SHMFS_NUMA_DEFAULT || pl->node >= 0;
}

/* x rounded up to a multiple of align (a power of two); no overflow check. */
static inline uint64_t shmfs_huge_align_up(uint64_t x, uint64_t align)
{
	return (x + align - 1) & ~(align - 1);
}

/*
 * The reservation that holds an aligned mapping of size bytes: len bytes
 * to reserve (size plus one alignment less a page), and, given the
 * address the reservation got, the aligned start inside it. page and
 * align are powers of two, align >= page.
 */
size_t shmfs_huge_reserve_len(size_t size, size_t align, size_t page);
uintptr_t shmfs_huge_aligned_in(uintptr_t base, size_t align);

/*
 * The extents of a zone of size bytes (2 MiB aligned): the whole ones are
 * [0, shmfs_huge_whole_end(size)), one MADV_COLLAPSE each; the tail past
 * them (a size that is not a multiple of 2 MiB: a shared object's exact
 * size) stays in 4 KiB pages.
 */
static inline size_t shmfs_huge_whole_end(size_t size)
{
	return size & ~(SHMFS_HUGE_SIZE - 1);
}

/*
 * From the text of /proc/PID/smaps, the sums over the mappings that lie
 * within [start, end) of ShmemPmdMapped (bytes in 2 MiB pages) and Rss
 * (bytes resident), in bytes. Returns 0, or -ENOENT if no mapping of the
 * text lies in the range.
 */
int shmfs_huge_smaps_parse(const char *text, uintptr_t start, uintptr_t end,
			   uint64_t *pmd_bytes, uint64_t *rss_bytes);

/*
 * The same, read from /proc/self/smaps for the zone mapped at addr (size
 * bytes). Returns 0 or -errno (not logged).
 */
int shmfs_huge_measure(const void *addr, size_t size, uint64_t *pmd_bytes,
		       uint64_t *rss_bytes);

/*
 * Several zones in one pass over smaps (the master measures every huge
 * zone every few seconds): ranges sorted by start, not overlapping; each
 * gets the sums of the mappings within it, and found where there is one.
 * tag is the caller's (which zone the range is).
 */
struct shmfs_huge_range {
	uintptr_t start, end;
	uint64_t pmd, rss;
	bool found;
	size_t tag;
};
void shmfs_huge_smaps_parse_ranges(const char *text, struct shmfs_huge_range *r,
				   size_t n);

/* The same, read from /proc/self/smaps. Returns 0 or -errno. */
int shmfs_huge_measure_ranges(struct shmfs_huge_range *r, size_t n);

/* mbind(2)'s arguments, besides the range. */
struct shmfs_mbind_args {
	int mode; /* MPOL_DEFAULT, MPOL_BIND or MPOL_INTERLEAVE */
	unsigned long mask[SHMFS_NUMA_NODES_MAX / (8 * sizeof(unsigned long))];
	unsigned long maxnode; /* the kernel reads maxnode - 1 bits */
	unsigned flags;
};

/*
 * The arguments for policy and node (numa_node; -1: none), online being
 * the kernel's list of online nodes ("0-3,8", /sys/devices/system/node/
 * online) for interleave. Returns 0; 1 when there is nothing to call
 * (the default policy); -EINVAL for a node past SHMFS_NUMA_NODES_MAX or
 * a malformed list.
 */
int shmfs_numa_args(enum shmfs_numa_policy policy, int node, const char *online,
		    struct shmfs_mbind_args *args);

/*
 * Parses a node list ("0", "0-3,8") into mask (SHMFS_NUMA_NODES_MAX
 * bits, cleared first). Returns 0 or -EINVAL.
 */
int shmfs_numa_parse_list(const char *list, unsigned long *mask);

/*
 * Whether node exists on this machine: sysfs/devices/system/node/nodeN
 * (sysfs: "/sys", a test's own tree); a kernel without NUMA (no such
 * directory) has node 0 only.
 */
bool shmfs_numa_node_exists(const char *sysfs, int node);

/*
 * What shmfs_huge_prepare reports of a zone: bytes in 2 MiB pages and
 * resident, once it is done; why it fell back (try), for -t and logs.
 */
struct shmfs_huge_result {
	uint64_t huge_bytes;
	uint64_t rss_bytes;
	bool fell_back;
};

/*
 * Applies pl to the zone mapped at addr (size bytes, 2 MiB aligned when
 * huge pages are asked): the memory policy first (mbind), then the pages
 * (one per extent where they are collapsed, every page for populate),
 * then MADV_COLLAPSE extent by extent, then the smaps check. label names
 * the zone in messages. huge_pages = try logs one warning line on a
 * fallback and returns 0; on logs "FILE:LINE: ..." and returns -errno
 * (-EOPNOTSUPP when the kernel gave fewer huge pages than asked). A
 * failed mbind or populate is an error whatever huge_pages says.
 */
int shmfs_huge_prepare(void *addr, size_t size, const char *label,
		       const struct shmfs_placement *pl,
		       struct shmfs_huge_result *res);

#endif /* SHMFS_HUGE_H */

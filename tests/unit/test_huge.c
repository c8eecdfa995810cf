/* SPDX-License-Identifier: MIT */
/*
 * Huge pages and placement (issue 18): the alignment of a zone's
 * reservation, its extents, smaps' text, mbind's arguments, the node
 * check against a sysfs tree, the keys as the configuration reads them,
 * and, on this kernel, a real collapse of a 2 MiB aligned memfd.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/mempolicy.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "shmfs/config.h"
#include "shmfs/huge.h"
#include "shmfs/shm.h"
#include "shmfs/sizing.h"

#define MiB ((size_t)1 << 20)

static void a_reservation_holds_the_zone_at_a_2_mib_boundary(void **state)
{
	(void)state;
	size_t len = shmfs_huge_reserve_len(8 * MiB, SHMFS_HUGE_SIZE, 4096);

	assert_int_equal(len, 10 * MiB - 4096);
	/* The worst page-aligned base: one page past a boundary. */
	uintptr_t base = 0x7f0000200000 + 4096;
	uintptr_t at = shmfs_huge_aligned_in(base, SHMFS_HUGE_SIZE);

	assert_int_equal(at % SHMFS_HUGE_SIZE, 0);
	assert_true(at >= base && at + 8 * MiB <= base + len);
	/* An aligned base is used as it is. */
	assert_int_equal(shmfs_huge_aligned_in(0x7f0000400000, SHMFS_HUGE_SIZE),
			 0x7f0000400000);
	/* A size that is not whole pages is rounded up first. */
	assert_int_equal(shmfs_huge_reserve_len(100, SHMFS_HUGE_SIZE, 4096),
			 2 * MiB);
}

static void only_whole_extents_are_collapsed_the_tail_stays_small(void **s)
{
	(void)s;
	assert_int_equal(shmfs_huge_whole_end(8 * MiB), 8 * MiB);
	assert_int_equal(shmfs_huge_whole_end(8 * MiB + 4096), 8 * MiB);
	assert_int_equal(shmfs_huge_whole_end(2 * MiB - 1), 0);
	assert_int_equal(shmfs_huge_whole_end(3 * MiB) / SHMFS_HUGE_SIZE, 1);
	assert_int_equal(shmfs_huge_align_up(3 * MiB, SHMFS_HUGE_SIZE),
			 4 * MiB);
}

static const char smaps[] =
	"55d0a0000000-55d0a0006000 r--p 00000000 fe:01 123 /usr/bin/shmfs\n"
	"Size:                 24 kB\n"
	"Rss:                  24 kB\n"
	"ShmemPmdMapped:        0 kB\n"
	"FilePmdMapped:        0 kB\n"
	"7f0000200000-7f0000600000 rw-s 00000000 00:01 42 /memfd:shmfs:big "
	"(deleted)\n"
	"Size:               4096 kB\n"
	"Rss:                4096 kB\n"
	"ShmemPmdMapped:     2048 kB\n"
	"7f0000600000-7f0000800000 rw-s 00400000 00:01 42 /memfd:shmfs:big "
	"(deleted)\n"
	"Rss:                 512 kB\n"
	"ShmemPmdMapped:        0 kB\n"
	"7f0000800000-7f0000a00000 rw-s 00000000 00:01 43 /dev/zero (deleted)\n"
	"Rss:                2048 kB\n"
	"ShmemPmdMapped:     2048 kB\n";

static void smaps_sums_the_mappings_within_the_zone_only(void **state)
{
	uint64_t pmd, rss;

	(void)state;
	/* The zone split in two mappings (an mprotect, a madvise). */
	assert_int_equal(shmfs_huge_smaps_parse(smaps, 0x7f0000200000,
						0x7f0000800000, &pmd, &rss),
			 0);
	assert_int_equal(pmd, 2 * MiB);
	assert_int_equal(rss, 4 * MiB + 512 * 1024);
	/* The next mapping is another zone's. */
	assert_int_equal(shmfs_huge_smaps_parse(smaps, 0x7f0000800000,
						0x7f0000a00000, &pmd, &rss),
			 0);
	assert_int_equal(pmd, 2 * MiB);
	/* A range with no mapping of its own. */
	assert_int_equal(shmfs_huge_smaps_parse(smaps, 0x7f0000300000,
						0x7f0000400000, &pmd, &rss),
			 -ENOENT);
	assert_int_equal(pmd, 0);
}

static void one_pass_over_smaps_measures_every_zone(void **state)
{
	struct shmfs_huge_range r[] = {
		{.start = 0x7f0000200000, .end = 0x7f0000800000, .tag = 7},
		{.start = 0x7f0000800000, .end = 0x7f0000a00000, .tag = 3},
		{.start = 0x7f0000a00000, .end = 0x7f0000c00000, .tag = 1},
		{.start = 0x7f0000c00000, .end = 0x7f0000e00000, .tag = 2},
	};

	(void)state;
	shmfs_huge_smaps_parse_ranges(smaps, r, 4);
	assert_true(r[0].found && r[1].found);
	assert_int_equal(r[0].pmd, 2 * MiB);
	assert_int_equal(r[0].rss, 4 * MiB + 512 * 1024);
	assert_int_equal(r[1].pmd, 2 * MiB);
	assert_int_equal(r[1].rss, 2 * MiB);
	assert_false(r[2].found);
	assert_int_equal(r[2].pmd, 0);
	assert_int_equal(r[0].tag, 7);
	/* A mapping that starts below a range is not in it. */
	r[0].start = 0x7f0000300000;
	shmfs_huge_smaps_parse_ranges(smaps, r, 4);
	assert_true(r[0].found);
	assert_int_equal(r[0].pmd, 0);
	assert_int_equal(r[0].rss, 512 * 1024);
}

static void a_node_binds_interleave_spreads_over_the_online_nodes(void **s)
{
	struct shmfs_mbind_args a;

	(void)s;
	assert_int_equal(shmfs_numa_args(SHMFS_NUMA_DEFAULT, -1, "0", &a), 1);
	assert_int_equal(shmfs_numa_args(SHMFS_NUMA_DEFAULT, 3, "0-3", &a), 0);
	assert_int_equal(a.mode, MPOL_BIND);
	assert_int_equal(a.mask[0], 1UL << 3);
	assert_int_equal(a.maxnode, SHMFS_NUMA_NODES_MAX + 1);
	assert_int_equal(a.flags, MPOL_MF_MOVE);
	assert_int_equal(shmfs_numa_args(SHMFS_NUMA_DEFAULT, 65, "0", &a), 0);
	assert_int_equal(a.mask[0], 0);
	assert_int_equal(a.mask[1], 1UL << 1);
	assert_int_equal(
		shmfs_numa_args(SHMFS_NUMA_INTERLEAVE, -1, "0-2,5\n", &a), 0);
	assert_int_equal(a.mode, MPOL_INTERLEAVE);
	assert_int_equal(a.mask[0], 0x27);
	assert_int_equal(shmfs_numa_args(SHMFS_NUMA_DEFAULT,
					 SHMFS_NUMA_NODES_MAX, "0", &a),
			 -EINVAL);
	assert_int_equal(shmfs_numa_args(SHMFS_NUMA_INTERLEAVE, -1, "0-", &a),
			 -EINVAL);
}

static void node_lists_parse_as_the_kernel_writes_them(void **state)
{
	unsigned long mask[SHMFS_NUMA_NODES_MAX / (8 * sizeof(long))];

	(void)state;
	assert_int_equal(shmfs_numa_parse_list("0", mask), 0);
	assert_int_equal(mask[0], 1);
	assert_int_equal(shmfs_numa_parse_list("1,3-4,1023", mask), 0);
	assert_int_equal(mask[0], 0x1a);
	assert_int_equal(mask[15], 1UL << 63);
	assert_int_equal(shmfs_numa_parse_list("3-1", mask), -EINVAL);
	assert_int_equal(shmfs_numa_parse_list("1024", mask), -EINVAL);
	assert_int_equal(shmfs_numa_parse_list("a", mask), -EINVAL);
	assert_int_equal(shmfs_numa_parse_list("1;2", mask), -EINVAL);
}

static void a_node_exists_where_sysfs_has_its_directory(void **state)
{
	char root[] = "/tmp/test_huge.XXXXXX", path[PATH_MAX];

	(void)state;
	assert_non_null(mkdtemp(root));
	/* No node directory at all: a kernel without NUMA, node 0 only. */
	assert_true(shmfs_numa_node_exists(root, 0));
	assert_false(shmfs_numa_node_exists(root, 1));
	snprintf(path, sizeof(path), "%s/devices", root);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/devices/system", root);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/devices/system/node", root);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/devices/system/node/node2", root);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_true(shmfs_numa_node_exists(root, 2));
	assert_false(shmfs_numa_node_exists(root, 0));
	assert_false(shmfs_numa_node_exists(root, -1));
	rmdir(path);
	snprintf(path, sizeof(path), "%s/devices/system/node", root);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/devices/system", root);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/devices", root);
	rmdir(path);
	assert_int_equal(rmdir(root), 0);
}

/* The message of ini's parse ("" if it parses). */
static const char *parse(const char *ini, struct shmfs_config *cfg)
{
	static char err[512];
	int ret;

	err[0] = '\0';
	ret = shmfs_config_parse_string(ini, "t.ini", cfg, err, sizeof(err));
	assert_true(ret == 0 || ret == -EINVAL);
	assert_true((ret == 0) == (err[0] == '\0'));
	return err;
}

static void huge_pages_implies_populate_and_rounds_to_2_mib(void **state)
{
	struct shmfs_config cfg;

	(void)state;
	assert_string_equal(parse("[shmfs]\nhuge_pages = try\n"
				  "[zone:a]\nsize = 3M\n"
				  "[zone:b]\nsize = 3M\nhuge_pages = off\n"
				  "[zone:c]\nsize = 3M\nbackend = posix\n",
				  &cfg),
			    "");
	assert_int_equal(cfg.zones[0].huge_pages, SHMFS_HUGE_TRY);
	assert_true(cfg.zones[0].populate);
	assert_int_equal(cfg.zones[0].capacity, 4 * MiB);
	assert_int_equal(cfg.zones[0].huge_line, 2);
	assert_int_equal(cfg.zones[1].huge_pages, SHMFS_HUGE_OFF);
	assert_false(cfg.zones[1].populate);
	assert_int_equal(cfg.zones[1].capacity, 3 * MiB);
	/* A shared object's size is exact. */
	assert_int_equal(cfg.zones[2].capacity, 3 * MiB);
	assert_true(cfg.zones[2].populate);
	assert_int_equal(cfg.zones[2].numa_node, -1);
	shmfs_config_free(&cfg);

	assert_string_equal(parse("[zone:a]\nsize = 1M\npopulate = yes\n"
				  "numa = interleave\n",
				  &cfg),
			    "");
	assert_true(cfg.zones[0].populate);
	assert_int_equal(cfg.zones[0].numa, SHMFS_NUMA_INTERLEAVE);
	assert_int_equal(cfg.zones[0].numa_line, 4);
	assert_int_equal(cfg.zones[0].capacity, 1 * MiB);
	shmfs_config_free(&cfg);

	assert_string_equal(parse("[zone:a]\nsize = 1M\nnuma_node = 0\n", &cfg),
			    "");
	assert_int_equal(cfg.zones[0].numa_node, 0);
	shmfs_config_free(&cfg);
}

static void the_keys_mistakes_name_their_line(void **state)
{
	struct shmfs_config cfg;

	(void)state;
	assert_string_equal(
		parse("[zone:a]\nsize = 1M\nhuge_pages = yes\n", &cfg),
		"t.ini:3: huge_pages: \"yes\" is not off, try or on");
	assert_string_equal(
		parse("[zone:a]\nsize = 1M\nhuge_pages = on\npopulate = no\n",
		      &cfg),
		"t.ini:4: populate: huge_pages = on makes the zone resident "
		"from the start: populate = no cannot be had with it");
	assert_string_equal(
		parse("[zone:a]\nsize = 1M\nnuma_node = 999\n", &cfg),
		"t.ini:3: numa_node: \"999\" is not a node of this "
		"machine (see /sys/devices/system/node/)");
	assert_string_equal(parse("[zone:a]\nsize = 1M\nnuma_node = x\n", &cfg),
			    "t.ini:3: numa_node: \"x\" is not a node number "
			    "(or none)");
	assert_string_equal(parse("[zone:a]\nsize = 1M\nnuma_node = 0\n"
				  "numa = interleave\n",
				  &cfg),
			    "t.ini:4: [zone:a]: numa_node = 0 and numa = "
			    "interleave exclude each other");
	assert_string_equal(parse("[zone:f]\nbackend = file\npath = /tmp/x\n"
				  "huge_pages = try\n",
				  &cfg),
			    "t.ini:4: huge_pages: not for backend = file (its "
			    "pages are the file's page cache)");
	assert_string_equal(parse("[zone:a]\nsize = 1M\nnuma = near\n", &cfg),
			    "t.ini:3: numa: \"near\" is not default or "
			    "interleave");
	assert_string_equal(
		parse("[zone:a]\nsize = 4M\ncache = passthrough\n"
		      "huge_pages = hugetlb\n",
		      &cfg),
		"t.ini:4: huge_pages: \"hugetlb\" is not supported: shmfs "
		"collapses a zone's shmem into 2 MiB pages (off, try, on) and "
		"never uses a hugetlb pool, whose memory write(2) cannot store "
		"into (no passthrough zone, no page cache)");
}

/* A file zone takes none of [shmfs]'s defaults of these keys. */
static void a_file_zone_ignores_the_global_huge_pages(void **state)
{
	struct shmfs_config cfg;

	(void)state;
	assert_string_equal(parse("[shmfs]\nhuge_pages = on\n"
				  "[zone:f]\nbackend = file\npath = /tmp/x\n",
				  &cfg),
			    "");
	assert_int_equal(cfg.zones[0].huge_pages, SHMFS_HUGE_OFF);
	assert_false(cfg.zones[0].populate);
	shmfs_config_free(&cfg);
}

/* Zones resident from the start count against RAM + swap; others do not. */
static void populated_zones_beyond_the_machine_are_refused(void **state)
{
	struct shmfs_config cfg;

	(void)state;
	assert_string_equal(
		parse("[zone:a]\nsize = 32T\npopulate = yes\n", &cfg), "");
	assert_int_equal(shmfs_sizing_check(&cfg), -E2BIG);
	shmfs_config_free(&cfg);
	assert_string_equal(
		parse("[zone:a]\nsize = 32T\nhuge_pages = try\n", &cfg), "");
	assert_int_equal(shmfs_sizing_check(&cfg), -E2BIG);
	shmfs_config_free(&cfg);
	/* Only warned of: pages come as they are written. */
	assert_string_equal(parse("[zone:a]\nsize = 32T\n", &cfg), "");
	assert_int_equal(shmfs_sizing_check(&cfg), 0);
	shmfs_config_free(&cfg);
}

/* The real thing, on this kernel: an anonymous zone of 4 MiB. */
static void an_anon_zone_is_mapped_aligned_and_in_2_mib_pages(void **state)
{
	struct shmfs_shm shm = {
		.size = 4 * MiB,
		.backend = SHMFS_BACKEND_ANON,
		.label = "t",
		.fd = -1,
		.place = {.huge = SHMFS_HUGE_ON,
			  .populate = true,
			  .node = -1,
			  .file = "t.ini",
			  .huge_line = 3},
	};

	(void)state;
	assert_int_equal(shmfs_shm_alloc(&shm), 0);
	assert_int_equal((uintptr_t)shm.addr % SHMFS_HUGE_SIZE, 0);
	assert_int_equal(shm.huge.huge_bytes, 4 * MiB);
	assert_int_equal(shm.huge.rss_bytes, 4 * MiB);
	assert_false(shm.huge.fell_back);
	shmfs_shm_free(&shm);
}

static void populate_alone_makes_every_page_resident(void **state)
{
	struct shmfs_shm shm = {
		.size = 1 * MiB,
		.backend = SHMFS_BACKEND_MEMFD,
		.label = "t",
		.fd = -1,
		.place = {.populate = true, .node = -1},
	};
	struct stat st;

	(void)state;
	assert_int_equal(shmfs_shm_alloc(&shm), 0);
	assert_int_equal(shm.huge.rss_bytes, 1 * MiB);
	assert_int_equal(shm.huge.huge_bytes, 0);
	assert_int_equal(fstat(shm.fd, &st), 0);
	assert_int_equal((uint64_t)st.st_blocks * 512, 1 * MiB);
	shmfs_shm_free(&shm);
}

/* On a one-node machine node 0 binds: mbind is called and succeeds. */
static void binding_to_node_0_succeeds_here(void **state)
{
	struct shmfs_shm shm = {
		.size = 2 * MiB,
		.backend = SHMFS_BACKEND_MEMFD,
		.label = "t",
		.fd = -1,
		.place = {.populate = true, .node = 0, .file = "t.ini"},
	};

	(void)state;
	assert_int_equal(shmfs_shm_alloc(&shm), 0);
	shmfs_shm_free(&shm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			a_reservation_holds_the_zone_at_a_2_mib_boundary),
		cmocka_unit_test(
			only_whole_extents_are_collapsed_the_tail_stays_small),
		cmocka_unit_test(smaps_sums_the_mappings_within_the_zone_only),
		cmocka_unit_test(one_pass_over_smaps_measures_every_zone),
		cmocka_unit_test(
			a_node_binds_interleave_spreads_over_the_online_nodes),
		cmocka_unit_test(node_lists_parse_as_the_kernel_writes_them),
		cmocka_unit_test(a_node_exists_where_sysfs_has_its_directory),
		cmocka_unit_test(
			huge_pages_implies_populate_and_rounds_to_2_mib),
		cmocka_unit_test(the_keys_mistakes_name_their_line),
		cmocka_unit_test(a_file_zone_ignores_the_global_huge_pages),
		cmocka_unit_test(
			populated_zones_beyond_the_machine_are_refused),
		cmocka_unit_test(
			an_anon_zone_is_mapped_aligned_and_in_2_mib_pages),
		cmocka_unit_test(populate_alone_makes_every_page_resident),
		cmocka_unit_test(binding_to_node_0_succeeds_here),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

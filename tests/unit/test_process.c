/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of backend = process's pure parts (process.h): a line of
 * /proc/PID/maps, which mappings a zone may show, the name found in a
 * mapping's first bytes, and how the selectors pick one mapping.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "shmfs/process.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static void a_maps_line_of_an_nginx_zone_parses(void **s)
{
	char line[] = "7f020ca1e000-7f020d41e000 rw-s 00000000 00:01 6024"
		      "                       /dev/zero (deleted)\n";
	struct shmfs_maps_entry e;

	(void)s;
	assert_int_equal(shmfs_process_parse_maps(line, &e), 0);
	assert_true(e.start == 0x7f020ca1e000ULL);
	assert_true(e.end == 0x7f020d41e000ULL);
	assert_true(e.offset == 0);
	assert_string_equal(e.perms, "rw-s");
	assert_true(e.inode == 6024);
	assert_string_equal(e.path, "/dev/zero (deleted)");
	assert_true(shmfs_process_candidate(&e));
}

static void a_maps_line_without_a_path_parses(void **s)
{
	char line[] = "7ffd1000-7ffd3000 rw-p 00000000 00:00 0\n";
	struct shmfs_maps_entry e;

	(void)s;
	assert_int_equal(shmfs_process_parse_maps(line, &e), 0);
	assert_string_equal(e.path, "");
	assert_false(shmfs_process_candidate(&e));
}

static void malformed_maps_lines_are_refused(void **s)
{
	static const char *const bad[] = {
		"", "garbage", "7f00-7e00 rw-s 0 00:01 1 /dev/zero (deleted)",
		"7f00-7f10 rw-s 0 00:01", "7f00 rw-s 0 00:01 1 x"};
	struct shmfs_maps_entry e;
	char line[128];

	(void)s;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(line, sizeof(line), "%s", bad[i]);
		assert_int_equal(shmfs_process_parse_maps(line, &e), -EINVAL);
	}
}

/* Shared and a shmem file nobody opens by name; nothing else. */
static void only_anonymous_shared_mappings_are_candidates(void **s)
{
	static const struct {
		const char *line;
		bool yes;
	} cases[] = {
		{"1000-2000 rw-s 0 00:01 5 /dev/zero (deleted)", true},
		{"1000-2000 r--s 0 00:01 5 /dev/zero (deleted)", true},
		{"1000-2000 rw-s 0 00:01 5 /SYSV0052e2c1 (deleted)", true},
		{"1000-2000 rw-s 0 00:01 5 /memfd:pool (deleted)", true},
		{"1000-2000 rw-p 0 00:01 5 /dev/zero (deleted)", false},
		{"1000-2000 rw-s 0 00:19 5 /dev/shm/app", false},
		{"1000-2000 rw-s 0 08:01 5 /var/lib/data.bin", false},
		{"1000-2000 rw-s 0 00:05 5 /dev/zero", false},
	};
	struct shmfs_maps_entry e;
	char line[128];

	(void)s;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		snprintf(line, sizeof(line), "%s", cases[i].line);
		assert_int_equal(shmfs_process_parse_maps(line, &e), 0);
		if (shmfs_process_candidate(&e) != cases[i].yes)
			fail_msg("%s: %s", cases[i].line,
				 cases[i].yes ? "not a candidate"
					      : "candidate");
	}
}

static void address_ranges_parse_as_maps_writes_them(void **s)
{
	uint64_t a, b;

	(void)s;
	assert_int_equal(shmfs_process_parse_range("7f0-7f1", &a, &b), 0);
	assert_true(a == 0x7f0 && b == 0x7f1);
	assert_int_equal(
		shmfs_process_parse_range("7f020ca1e000-7f020d41e000", &a, &b),
		0);
	assert_true(a == 0x7f020ca1e000ULL && b == 0x7f020d41e000ULL);
	assert_int_equal(shmfs_process_parse_range("2000-1000", &a, &b),
			 -EINVAL);
	assert_int_equal(shmfs_process_parse_range("1000", &a, &b), -EINVAL);
	assert_int_equal(shmfs_process_parse_range("-1000", &a, &b), -EINVAL);
	assert_int_equal(shmfs_process_parse_range("1000-", &a, &b), -EINVAL);
	assert_int_equal(shmfs_process_parse_range("1000-2000x", &a, &b),
			 -EINVAL);
}

static void an_nginx_zone_is_named_by_its_zone_tag(void **s)
{
	unsigned char buf[256] = {0};
	char name[SHMFS_PROCESS_NAME_MAX];
	static const char text[] = " in limit_req zone \"one\"";

	(void)s;
	memcpy(buf, "some-other-text", 15); /* a run before the tag */
	memcpy(buf + 100, text, sizeof(text));
	assert_true(shmfs_process_name(buf, sizeof(buf), name, sizeof(name)));
	assert_string_equal(name, "one");
}

static void without_a_tag_the_first_printable_run_names_it(void **s)
{
	unsigned char buf[64] = {0};
	char name[SHMFS_PROCESS_NAME_MAX];

	(void)s;
	memcpy(buf + 3, "ab", 2); /* too short */
	memcpy(buf + 10, "scoreboard", 10);
	assert_true(shmfs_process_name(buf, sizeof(buf), name, sizeof(name)));
	assert_string_equal(name, "scoreboard");
	memset(buf, 0, sizeof(buf));
	assert_false(shmfs_process_name(buf, sizeof(buf), name, sizeof(name)));
	assert_string_equal(name, "");
}

static void a_long_name_is_cut_to_fit(void **s)
{
	unsigned char buf[200];
	char name[8];

	(void)s;
	memset(buf, 'x', sizeof(buf));
	assert_true(shmfs_process_name(buf, sizeof(buf), name, sizeof(name)));
	assert_string_equal(name, "xxxxxxx");
}

/* Three mappings: 1 MiB "one", 2 MiB "two" and 2 MiB "three". */
static const struct shmfs_process_candidate cands[] = {
	{.start = 0x1000, .end = 0x101000, .matched = true, .name = "one"},
	{.start = 0x200000, .end = 0x400000, .name = "two"},
	{.start = 0x400000, .end = 0x600000, .name = "three"},
};

static void each_selector_picks_its_one_mapping(void **s)
{
	struct shmfs_process_want match = {.match = "x"};
	struct shmfs_process_want size = {.size = 0x100000};
	struct shmfs_process_want at = {.start = 0x400000, .end = 0x600000};
	size_t count;

	(void)s;
	assert_int_equal(shmfs_process_select(cands, 3, &match, &count), 0);
	assert_int_equal(shmfs_process_select(cands, 3, &size, &count), 0);
	assert_int_equal(shmfs_process_select(cands, 3, &at, &count), 2);
	assert_int_equal(count, 1);
}

static void several_or_none_are_errors(void **s)
{
	struct shmfs_process_want two = {.size = 0x200000};
	struct shmfs_process_want none = {.size = 0x300000};
	struct shmfs_process_want both = {.match = "x", .size = 0x200000};
	size_t count;

	(void)s;
	assert_int_equal(shmfs_process_select(cands, 3, &two, &count),
			 -ENOTUNIQ);
	assert_int_equal(count, 2);
	assert_int_equal(shmfs_process_select(cands, 3, &none, &count),
			 -ENOENT);
	assert_int_equal(count, 0);
	/* Every selector given must hold. */
	assert_int_equal(shmfs_process_select(cands, 3, &both, &count),
			 -ENOENT);
	assert_int_equal(shmfs_process_select(cands, 0, &two, &count), -ENOENT);
}

static void a_candidate_is_listed_with_its_address_size_and_name(void **s)
{
	char text[128];

	(void)s;
	shmfs_process_candidate_text(&cands[0], text, sizeof(text));
	assert_string_equal(text, "1000-101000 1048576 bytes \"one\"");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_maps_line_of_an_nginx_zone_parses),
		cmocka_unit_test(a_maps_line_without_a_path_parses),
		cmocka_unit_test(malformed_maps_lines_are_refused),
		cmocka_unit_test(only_anonymous_shared_mappings_are_candidates),
		cmocka_unit_test(address_ranges_parse_as_maps_writes_them),
		cmocka_unit_test(an_nginx_zone_is_named_by_its_zone_tag),
		cmocka_unit_test(
			without_a_tag_the_first_printable_run_names_it),
		cmocka_unit_test(a_long_name_is_cut_to_fit),
		cmocka_unit_test(each_selector_picks_its_one_mapping),
		cmocka_unit_test(several_or_none_are_errors),
		cmocka_unit_test(
			a_candidate_is_listed_with_its_address_size_and_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the single-value parsers: every accepted spelling of a
 * size, mode, pool size, user, group and log level, and the errors for the
 * rest.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>

#include "shmfs/limits.h"
#include "shmfs/parse.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct size_case {
	const char *text;
	int ret;
	uint64_t bytes;
};

static void check_sizes(const struct size_case *cases, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		uint64_t v = 12345;
		int ret = shmfs_parse_size(cases[i].text, &v);

		if (ret != cases[i].ret ||
		    v != (cases[i].ret ? 12345 : cases[i].bytes))
			fail_msg("size \"%s\": returned %d, set %llu",
				 cases[i].text, ret, (unsigned long long)v);
	}
}

static void size_without_suffix_is_bytes(void **state)
{
	static const struct size_case cases[] = {
		{"0", 0, 0},
		{"1", 0, 1},
		{"4097", 0, 4097},
		{"007", 0, 7},
		{"70368744177664", 0, (uint64_t)1 << 46},
	};

	(void)state;
	check_sizes(cases, ARRAY_SIZE(cases));
}

static void size_with_suffix_is_a_power_of_1024(void **state)
{
	static const struct size_case cases[] = {
		{"1k", 0, 1024},
		{"1K", 0, 1024},
		{"3m", 0, (uint64_t)3 << 20},
		{"64M", 0, (uint64_t)64 << 20},
		{"2g", 0, (uint64_t)2 << 30},
		{"2G", 0, (uint64_t)2 << 30},
		{"1t", 0, (uint64_t)1 << 40},
		{"64T", 0, (uint64_t)64 << 40},
		{"0K", 0, 0},
	};

	(void)state;
	check_sizes(cases, ARRAY_SIZE(cases));
}

static void size_is_not_rounded_to_a_page(void **state)
{
	static const struct size_case cases[] = {
		{"1", 0, 1},
		{"4095", 0, 4095},
	};

	(void)state;
	check_sizes(cases, ARRAY_SIZE(cases));
}

static void size_above_the_maximum_is_out_of_range(void **state)
{
	static const struct size_case cases[] = {
		{"70368744177665", -ERANGE, 0},
		{"65T", -ERANGE, 0},
		{"65537G", -ERANGE, 0},
		{"18446744073709551615", -ERANGE, 0},
		{"18446744073709551616", -ERANGE, 0},
		{"99999999999999999999999", -ERANGE, 0},
		{"99999999999999999999999K", -ERANGE, 0},
		{"17179869184T", -ERANGE, 0},
	};

	(void)state;
	check_sizes(cases, ARRAY_SIZE(cases));
}

static void size_that_is_not_digits_and_one_suffix_is_invalid(void **state)
{
	static const struct size_case cases[] = {
		{"", -EINVAL, 0},     {"12Q", -EINVAL, 0},
		{"1.5M", -EINVAL, 0}, {"-1", -EINVAL, 0},
		{"+1", -EINVAL, 0},   {" 1", -EINVAL, 0},
		{"1 ", -EINVAL, 0},   {"1 M", -EINVAL, 0},
		{"1MB", -EINVAL, 0},  {"1KiB", -EINVAL, 0},
		{"0x10", -EINVAL, 0}, {"M", -EINVAL, 0},
		{"1e3", -EINVAL, 0},  {"99999999999999999999999Q", -EINVAL, 0},
	};

	(void)state;
	check_sizes(cases, ARRAY_SIZE(cases));
}

static void mode_is_octal_up_to_07777(void **state)
{
	static const struct {
		const char *text;
		int ret;
		mode_t mode;
	} cases[] = {
		{"0600", 0, 0600},
		{"640", 0, 0640},
		{"0", 0, 0},
		{"7777", 0, 07777},
		{"04755", 0, 04755},
		{"000000644", 0, 0644},
		{"10000", -ERANGE, 0},
		{"77777777777777777777777", -ERANGE, 0},
		{"0999", -EINVAL, 0},
		{"", -EINVAL, 0},
		{"0o644", -EINVAL, 0},
		{"rw-", -EINVAL, 0},
		{"-600", -EINVAL, 0},
		{"644 ", -EINVAL, 0},
		{"99999999999999999999", -EINVAL, 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		mode_t m = 01;
		int ret = shmfs_parse_mode(cases[i].text, &m);

		if (ret != cases[i].ret ||
		    m != (cases[i].ret ? 01 : cases[i].mode))
			fail_msg("mode \"%s\": returned %d, set %o",
				 cases[i].text, ret, (unsigned)m);
	}
}

static void workers_is_auto_or_1_to_256(void **state)
{
	static const struct {
		const char *text;
		int ret;
		unsigned workers;
	} cases[] = {
		{"auto", 0, 0},
		{"1", 0, 1},
		{"4", 0, 4},
		{"256", 0, 256},
		{"0", -ERANGE, 0},
		{"257", -ERANGE, 0},
		{"99999999999999999999999", -ERANGE, 0},
		{"", -EINVAL, 0},
		{"AUTO", -EINVAL, 0},
		{"-1", -EINVAL, 0},
		{"4 ", -EINVAL, 0},
		{"two", -EINVAL, 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		unsigned w = 77;
		int ret = shmfs_parse_workers(cases[i].text, &w);

		if (ret != cases[i].ret ||
		    w != (cases[i].ret ? 77 : cases[i].workers))
			fail_msg("workers \"%s\": returned %d, set %u",
				 cases[i].text, ret, w);
	}
}

static void uid_is_a_number_or_a_user_name(void **state)
{
	uid_t uid = 42;

	(void)state;
	assert_int_equal(shmfs_parse_uid("0", &uid), 0);
	assert_int_equal(uid, 0);
	assert_int_equal(shmfs_parse_uid("1000", &uid), 0);
	assert_int_equal(uid, 1000);
	assert_int_equal(shmfs_parse_uid("4294967294", &uid), 0);
	assert_true(uid == 4294967294u);
	uid = 42;
	assert_int_equal(shmfs_parse_uid("root", &uid), 0);
	assert_int_equal(uid, 0);
}

static void uid_that_does_not_fit_or_is_minus_one_is_out_of_range(void **state)
{
	uid_t uid = 42;

	(void)state;
	assert_int_equal(shmfs_parse_uid("4294967295", &uid), -ERANGE);
	assert_int_equal(shmfs_parse_uid("4294967296", &uid), -ERANGE);
	assert_int_equal(shmfs_parse_uid("99999999999999999999999", &uid),
			 -ERANGE);
	assert_int_equal(uid, 42);
}

static void uid_of_an_unknown_user_is_not_found(void **state)
{
	uid_t uid = 42;

	(void)state;
	assert_int_equal(shmfs_parse_uid("nosuchuser-shmfs", &uid), -ENOENT);
	assert_int_equal(shmfs_parse_uid("-1", &uid), -ENOENT);
	assert_int_equal(shmfs_parse_uid("", &uid), -EINVAL);
	assert_int_equal(uid, 42);
}

static void gid_is_a_number_or_a_group_name(void **state)
{
	gid_t gid = 42;

	(void)state;
	assert_int_equal(shmfs_parse_gid("100", &gid), 0);
	assert_int_equal(gid, 100);
	assert_int_equal(shmfs_parse_gid("root", &gid), 0);
	assert_int_equal(gid, 0);
	gid = 42;
	assert_int_equal(shmfs_parse_gid("4294967295", &gid), -ERANGE);
	assert_int_equal(shmfs_parse_gid("nosuchgroup-shmfs", &gid), -ENOENT);
	assert_int_equal(shmfs_parse_gid("", &gid), -EINVAL);
	assert_int_equal(gid, 42);
}

static void log_levels_are_syslog_priorities_both_ways(void **state)
{
	static const struct {
		const char *name;
		int level;
	} cases[] = {
		{"debug", LOG_DEBUG},	{"info", LOG_INFO},
		{"notice", LOG_NOTICE}, {"warn", LOG_WARNING},
		{"error", LOG_ERR},	{"alert", LOG_ALERT},
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		int level = -1;

		assert_int_equal(shmfs_parse_log_level(cases[i].name, &level),
				 0);
		assert_int_equal(level, cases[i].level);
	}
}

static void unknown_log_level_is_invalid(void **state)
{
	int level = -1;

	(void)state;
	assert_int_equal(shmfs_parse_log_level("warning", &level), -EINVAL);
	assert_int_equal(shmfs_parse_log_level("DEBUG", &level), -EINVAL);
	assert_int_equal(shmfs_parse_log_level("", &level), -EINVAL);
	assert_int_equal(level, -1);
}

static void cpu_affinity_is_off_auto_or_a_list_of_online_cpus(void **state)
{
	unsigned short cpus[8];
	unsigned n = 99;
	long online = sysconf(_SC_NPROCESSORS_ONLN);

	(void)state;
	assert_int_equal(shmfs_parse_cpus("off", cpus, 8, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(shmfs_parse_cpus("auto", cpus, 8, &n), 0);
	assert_int_equal(n, online < 8 ? online : 8);
	assert_int_equal(cpus[0], 0);
	assert_int_equal(shmfs_parse_cpus("0", cpus, 8, &n), 0);
	assert_int_equal(n, 1);
	if (online >= 2) {
		assert_int_equal(shmfs_parse_cpus(" 1, 0 ", cpus, 8, &n), 0);
		assert_int_equal(n, 2);
		assert_int_equal(cpus[0], 1);
		assert_int_equal(cpus[1], 0);
	}
	/* Malformed, offline, repeated, too many. */
	assert_int_equal(shmfs_parse_cpus("x", cpus, 8, &n), -EINVAL);
	assert_int_equal(shmfs_parse_cpus("0-1", cpus, 8, &n), -EINVAL);
	assert_int_equal(shmfs_parse_cpus(",", cpus, 8, &n), -EINVAL);
	assert_int_equal(shmfs_parse_cpus("99999", cpus, 8, &n), -ERANGE);
	assert_int_equal(shmfs_parse_cpus("0 0", cpus, 8, &n), -ERANGE);
	assert_int_equal(shmfs_parse_cpus("0", cpus, 0, &n), -ERANGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(size_without_suffix_is_bytes),
		cmocka_unit_test(size_with_suffix_is_a_power_of_1024),
		cmocka_unit_test(size_is_not_rounded_to_a_page),
		cmocka_unit_test(size_above_the_maximum_is_out_of_range),
		cmocka_unit_test(
			size_that_is_not_digits_and_one_suffix_is_invalid),
		cmocka_unit_test(mode_is_octal_up_to_07777),
		cmocka_unit_test(workers_is_auto_or_1_to_256),
		cmocka_unit_test(uid_is_a_number_or_a_user_name),
		cmocka_unit_test(
			uid_that_does_not_fit_or_is_minus_one_is_out_of_range),
		cmocka_unit_test(uid_of_an_unknown_user_is_not_found),
		cmocka_unit_test(gid_is_a_number_or_a_group_name),
		cmocka_unit_test(log_levels_are_syslog_priorities_both_ways),
		cmocka_unit_test(unknown_log_level_is_invalid),
		cmocka_unit_test(
			cpu_affinity_is_off_auto_or_a_list_of_online_cpus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/*
 * shmfs status without a mount: the /.stats text parsed into zones and
 * workers (names with dots, unknown fields skipped, every malformed line
 * named), sizes written as df -h writes them, and the table and the JSON
 * printed from a parsed text.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "shmfs/status.h"

static const char sample[] = "uptime 3725\n"
			     "reloads 1\n"
			     "respawns 0\n"
			     "workers 2\n"
			     "worker.0.pid 4711\n"
			     "worker.0.requests 1834\n"
			     "worker.0.errors 3\n"
			     "worker.0.bytes_in 1048576\n"
			     "worker.0.bytes_out 65536\n"
			     "worker.2.pid 4713\n"
			     "worker.2.requests 7\n"
			     "worker.2.errors 0\n"
			     "worker.2.bytes_in 0\n"
			     "worker.2.bytes_out 0\n"
			     "zones 2\n"
			     "zone.cache.backend anon\n"
			     "zone.cache.cache page\n"
			     "zone.cache.mode 0600\n"
			     "zone.cache.object -\n"
			     "zone.cache.capacity 67108864\n"
			     "zone.cache.length 1048576\n"
			     "zone.cache.used 1048576\n"
			     "zone.cache.reads 16\n"
			     "zone.cache.writes 8\n"
			     "zone.cache.bytes_in 1048576\n"
			     "zone.cache.bytes_out 65536\n"
			     "zone.x.y-z_1.backend sysv\n"
			     "zone.x.y-z_1.cache direct\n"
			     "zone.x.y-z_1.mode 0640\n"
			     "zone.x.y-z_1.object key 0x2a attach\n"
			     "zone.x.y-z_1.capacity 8192\n"
			     "zone.x.y-z_1.length 8192\n"
			     "zone.x.y-z_1.used 8192\n"
			     "zone.x.y-z_1.reads 0\n"
			     "zone.x.y-z_1.writes 2\n"
			     "zone.x.y-z_1.bytes_in 8192\n"
			     "zone.x.y-z_1.bytes_out 0\n";

static int parse(const char *text, struct shmfs_status *st, char *err,
		 size_t errlen)
{
	return shmfs_status_parse(text, strlen(text), st, err, errlen);
}

static void a_stats_text_gives_its_zones_and_workers(void **state)
{
	struct shmfs_status st;
	char err[256] = "";

	(void)state;
	assert_int_equal(parse(sample, &st, err, sizeof(err)), 0);
	assert_int_equal(st.daemon.value[SHMFS_FIGURE_UPTIME], 3725);
	assert_int_equal(st.daemon.value[SHMFS_FIGURE_RELOADS], 1);
	assert_int_equal(st.nworkers, 2);
	assert_int_equal(st.workers[0].slot, 0);
	assert_int_equal(st.workers[0].value[SHMFS_FIGURE_WORKER_PID], 4711);
	assert_int_equal(st.workers[0].value[SHMFS_FIGURE_WORKER_REQUESTS],
			 1834);
	assert_int_equal(st.workers[0].value[SHMFS_FIGURE_WORKER_ERRORS], 3);
	assert_int_equal(st.workers[1].slot, 2);
	assert_int_equal(st.workers[1].value[SHMFS_FIGURE_WORKER_PID], 4713);
	assert_int_equal(st.nzones, 2);
	assert_string_equal(st.zones[0].name, "cache");
	assert_string_equal(st.zones[0].text[SHMFS_FIGURE_ZONE_BACKEND],
			    "anon");
	assert_int_equal(st.zones[0].value[SHMFS_FIGURE_ZONE_CAPACITY],
			 67108864);
	assert_int_equal(st.zones[0].value[SHMFS_FIGURE_ZONE_BYTES_OUT], 65536);
	/* The field is after the last dot. */
	assert_string_equal(st.zones[1].name, "x.y-z_1");
	assert_string_equal(st.zones[1].text[SHMFS_FIGURE_ZONE_CACHE],
			    "direct");
	assert_string_equal(st.zones[1].text[SHMFS_FIGURE_ZONE_MODE], "0640");
	/* A text value is the rest of the line, blanks and all. */
	assert_string_equal(st.zones[1].text[SHMFS_FIGURE_ZONE_OBJECT],
			    "key 0x2a attach");
	assert_int_equal(st.zones[1].value[SHMFS_FIGURE_ZONE_USED], 8192);
	shmfs_status_free(&st);
}

static void unknown_names_and_fields_are_skipped(void **state)
{
	struct shmfs_status st;
	char err[256] = "";

	(void)state;
	assert_int_equal(parse("uptime 1\nnew_figure 7\nworker.0.pid 9\n"
			       "worker.0.cpu 12.5%\nzones 1\n"
			       "zone.z.backend_path /dev/shm/a b\n"
			       "zone.z.capacity 4096\n",
			       &st, err, sizeof(err)),
			 0);
	assert_int_equal(st.nworkers, 1);
	assert_int_equal(st.nzones, 1);
	/* Without used (an older daemon), the length stands for it. */
	assert_false(st.zones[0].has[SHMFS_FIGURE_ZONE_USED]);
	assert_null(st.zones[0].text[SHMFS_FIGURE_ZONE_BACKEND]);
	shmfs_status_free(&st);
}

static void each_malformed_text_is_refused_with_its_line(void **state)
{
	static const struct {
		const char *text, *err;
	} cases[] = {
		{"uptime 1\nzones 0\nnospace\n",
		 "3: \"nospace\" is not a \"name value\" line"},
		{"uptime x\nzones 0\n", "1: uptime: \"x\" is not a number"},
		{"uptime 1\nzones 1\nzone.a.capacity -4\n",
		 "3: zone.a.capacity: \"-4\" is not a number"},
		{"uptime 1\nzones 1\nzone.a.capacity 18446744073709551616\n",
		 "3: zone.a.capacity: \"18446744073709551616\" is not a "
		 "number"},
		{"uptime 1\nworker.x.pid 3\n", "2: worker.x.pid: not "
					       "worker.SLOT.FIELD"},
		{"uptime 1\nzones 1\nzone..capacity 3\n",
		 "3: zone..capacity: not zone.NAME.FIELD"},
		{"zones 0\n",
		 "2: no \"uptime\" line: not the /.stats of shmfs"},
		{"<html>\n", "1: \"<html>\" is not a \"name value\" line"},
		{"", "1: no \"uptime\" line: not the /.stats of shmfs"},
		{"uptime 1\nzones 2\nzone.a.capacity 4096\n",
		 "4: \"zones 2\" but 1 listed"},
		{"uptime 1\nzones 1\nzone.a.length 0\n",
		 "4: zone a has no capacity"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct shmfs_status st;
		char err[256] = "";

		assert_int_equal(parse(cases[i].text, &st, err, sizeof(err)),
				 -EINVAL);
		assert_string_equal(err, cases[i].err);
		shmfs_status_free(&st);
	}
}

static void sizes_are_written_as_df_h_writes_them(void **state)
{
	static const struct {
		uint64_t bytes;
		const char *text;
	} cases[] = {
		{0, "0"},
		{512, "512"},
		{1023, "1023"},
		{1024, "1.0K"},
		{1025, "1.1K"},
		{1536, "1.5K"},
		{10 * 1024 - 1, "10K"},
		{10 * 1024, "10K"},
		{1023 * 1024 + 1, "1.0M"},
		{64 << 20, "64M"},
		{(64ULL << 40), "64T"},
		{UINT64_MAX, "16E"},
	};
	char buf[16];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(
			shmfs_status_human(cases[i].bytes, buf, sizeof(buf)),
			cases[i].text);
}

/* What a printer writes, into a string. */
static char *printed(void (*print)(const struct shmfs_status *, const char *,
				   FILE *),
		     const struct shmfs_status *st)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	print(st, "/mnt/shm", f);
	assert_int_equal(fclose(f), 0);
	return text;
}

static void the_table_shows_zones_as_df_would_and_the_workers(void **state)
{
	struct shmfs_status st;
	char err[256];
	char *text;

	(void)state;
	assert_int_equal(parse(sample, &st, err, sizeof(err)), 0);
	text = printed(shmfs_status_print, &st);
	assert_string_equal(
		text,
		"shmfs on /mnt/shm: up 1h02m, 2 zones, 65M, 1.1M used; "
		"2 workers, 1 reload, 0 respawns\n"
		"\n"
		"ZONE     SIZE  USED AVAIL USE% USAGE                  MODE "
		"CACHE  BACKEND OBJECT\n"
		"cache     64M  1.0M   63M   2% [#...................] 0600 "
		"page   anon    -\n"
		"x.y-z_1  8.0K  8.0K     0 100% [####################] 0640 "
		"direct sysv    key 0x2a attach\n"
		"\n"
		"WORKER  PID REQUESTS ERRORS\n"
		"     0 4711     1834      3\n"
		"     2 4713        7      0\n");
	free(text);
	shmfs_status_free(&st);
}

/* A path as long as a path can be, whole in the table and the JSON. */
static void an_object_of_any_length_is_printed_whole(void **state)
{
	static char path[PATH_MAX], text[PATH_MAX + 256];
	struct shmfs_status st;
	char err[256];
	char *out;

	(void)state;
	path[0] = '/';
	memset(path + 1, 'a', sizeof(path) - 2);
	path[sizeof(path) - 1] = '\0';
	snprintf(text, sizeof(text),
		 "uptime 1\nzones 1\nzone.f.backend file\n"
		 "zone.f.object %s attach\nzone.f.capacity 4096\n",
		 path);
	assert_int_equal(parse(text, &st, err, sizeof(err)), 0);
	assert_int_equal(strlen(st.zones[0].text[SHMFS_FIGURE_ZONE_OBJECT]),
			 strlen(path) + 7);
	out = printed(shmfs_status_print, &st);
	assert_non_null(strstr(out, path));
	free(out);
	out = printed(shmfs_status_print_json, &st);
	assert_non_null(strstr(out, path));
	free(out);
	shmfs_status_free(&st);
}

static void the_json_holds_every_figure(void **state)
{
	struct shmfs_status st;
	char err[256];
	char *text;

	(void)state;
	assert_int_equal(parse("uptime 5\nreloads 0\nrespawns 2\nworkers 1\n"
			       "worker.0.pid 10\nzones 1\n"
			       "zone.a\"b.capacity 4096\n"
			       "zone.a\"b.length 100\n",
			       &st, err, sizeof(err)),
			 0);
	text = printed(shmfs_status_print_json, &st);
	assert_string_equal(
		text,
		"{\n"
		"  \"mountpoint\": \"/mnt/shm\",\n"
		"  \"uptime\": 5,\n"
		"  \"reloads\": 0,\n"
		"  \"respawns\": 2,\n"
		"  \"zones\": [\n"
		"    {\"name\": \"a\\\"b\", \"backend\": null, \"cache\": "
		"null, \"mode\": null, \"object\": null, \"capacity\": 4096, "
		"\"length\": "
		"100, \"reads\": 0, \"writes\": 0, \"bytes_in\": 0, "
		"\"bytes_out\": 0, \"used\": 100, \"use_percent\": 3}\n"
		"  ],\n"
		"  \"workers\": [\n"
		"    {\"slot\": 0, \"pid\": 10, \"requests\": 0, "
		"\"errors\": 0, \"bytes_in\": 0, \"bytes_out\": 0}\n"
		"  ]\n"
		"}\n");
	free(text);
	shmfs_status_free(&st);

	assert_int_equal(parse("uptime 5\nzones 0\n", &st, err, sizeof(err)),
			 0);
	text = printed(shmfs_status_print_json, &st);
	assert_string_equal(text, "{\n"
				  "  \"mountpoint\": \"/mnt/shm\",\n"
				  "  \"uptime\": 5,\n"
				  "  \"reloads\": 0,\n"
				  "  \"respawns\": 0,\n"
				  "  \"zones\": [],\n"
				  "  \"workers\": []\n"
				  "}\n");
	free(text);
	shmfs_status_free(&st);
}

/*
 * The workers found stopped and the log lines lost (figures added after
 * the first /.stats) are in the summary and the JSON when /.stats has
 * them; an older daemon's text shows neither (the tests above).
 */
static void stops_and_dropped_log_lines_show_when_stats_has_them(void **state)
{
	static const char text[] = "uptime 5\nreloads 0\nrespawns 2\n"
				   "stops 1\nlog_dropped 12\nzones 0\n";
	struct shmfs_status st;
	char err[256];
	char *out;

	(void)state;
	assert_int_equal(parse(text, &st, err, sizeof(err)), 0);
	out = printed(shmfs_status_print, &st);
	assert_string_equal(out, "shmfs on /mnt/shm: up 5s, 0 zones, 0, 0 "
				 "used; 0 workers, 0 reloads, 2 respawns, "
				 "1 stop, 12 dropped log lines\n"
				 "\n"
				 "WORKER PID REQUESTS ERRORS\n");
	free(out);
	out = printed(shmfs_status_print_json, &st);
	assert_string_equal(out, "{\n"
				 "  \"mountpoint\": \"/mnt/shm\",\n"
				 "  \"uptime\": 5,\n"
				 "  \"reloads\": 0,\n"
				 "  \"respawns\": 2,\n"
				 "  \"stops\": 1,\n"
				 "  \"log_dropped\": 12,\n"
				 "  \"zones\": [],\n"
				 "  \"workers\": []\n"
				 "}\n");
	free(out);
	shmfs_status_free(&st);
}

/*
 * The masters of the mount (figures added with restarts): the generation
 * reads "generation N" in the summary, before the counts it sums up;
 * restarts and upgrades are counted like the others. An older daemon's
 * text has none of them and shows none (the tests above).
 */
static void
the_generation_restarts_and_upgrades_show_when_stats_has_them(void **state)
{
	static const char text[] = "uptime 5\nreloads 1\nrespawns 0\n"
				   "stops 0\nlog_dropped 0\ngeneration 4\n"
				   "restarts 2\nupgrades 1\nzones 0\n";
	struct shmfs_status st;
	char err[256];
	char *out;

	(void)state;
	assert_int_equal(parse(text, &st, err, sizeof(err)), 0);
	out = printed(shmfs_status_print, &st);
	assert_string_equal(out, "shmfs on /mnt/shm: up 5s, 0 zones, 0, 0 "
				 "used; 0 workers, 1 reload, 0 respawns, "
				 "0 stops, 0 dropped log lines, "
				 "generation 4, 2 restarts, 1 upgrade\n"
				 "\n"
				 "WORKER PID REQUESTS ERRORS\n");
	free(out);
	out = printed(shmfs_status_print_json, &st);
	assert_string_equal(out, "{\n"
				 "  \"mountpoint\": \"/mnt/shm\",\n"
				 "  \"uptime\": 5,\n"
				 "  \"reloads\": 1,\n"
				 "  \"respawns\": 0,\n"
				 "  \"stops\": 0,\n"
				 "  \"log_dropped\": 0,\n"
				 "  \"generation\": 4,\n"
				 "  \"restarts\": 2,\n"
				 "  \"upgrades\": 1,\n"
				 "  \"zones\": [],\n"
				 "  \"workers\": []\n"
				 "}\n");
	free(out);
	shmfs_status_free(&st);

	/* The first master of a mount: generation 1, no restart. */
	assert_int_equal(parse("uptime 5\ngeneration 1\nrestarts 0\n"
			       "upgrades 0\nzones 0\n",
			       &st, err, sizeof(err)),
			 0);
	out = printed(shmfs_status_print, &st);
	assert_non_null(strstr(out, "0 workers, 0 reloads, 0 respawns, "
				    "generation 1, 0 restarts, 0 upgrades\n"));
	free(out);
	shmfs_status_free(&st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_stats_text_gives_its_zones_and_workers),
		cmocka_unit_test(unknown_names_and_fields_are_skipped),
		cmocka_unit_test(each_malformed_text_is_refused_with_its_line),
		cmocka_unit_test(sizes_are_written_as_df_h_writes_them),
		cmocka_unit_test(
			the_table_shows_zones_as_df_would_and_the_workers),
		cmocka_unit_test(an_object_of_any_length_is_printed_whole),
		cmocka_unit_test(the_json_holds_every_figure),
		cmocka_unit_test(
			stops_and_dropped_log_lines_show_when_stats_has_them),
		cmocka_unit_test(
			the_generation_restarts_and_upgrades_show_when_stats_has_them),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

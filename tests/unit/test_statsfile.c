/* SPDX-License-Identifier: MIT */
/*
 * /.stats and /.metrics without FUSE: a snapshot shows the counters of the
 * region in both formats (the masters' generation among them), zone names with
 * dots stay whole, label values are escaped, the largest figures fit a slot,
 * and the two files share the per-user quota.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "shmfs/config.h"
#include "shmfs/cycle.h"
#include "shmfs/statsfile.h"
#include "shmfs/zonetab.h"

struct fixture {
	struct shmfs_config cfg; /* the cycle's once made */
	struct shmfs_cycle *cycle;
	struct shmfs_zonetab *tab;     /* the cycle's */
	struct shmfs_statsfile *stats; /* likewise */
	char text[8 << 20];	       /* a snapshot of the largest test */
};

static struct fixture *make(const char *ini)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];

	assert_non_null(f);
	assert_int_equal(shmfs_config_parse_string(ini, "t.ini", &f->cfg, err,
						   sizeof(err)),
			 0);
	assert_int_equal(shmfs_cycle_create(&f->cfg, NULL, &f->cycle), 0);
	f->tab = f->cycle->tab;
	f->stats = &f->cycle->stats;
	return f;
}

static void unmake(struct fixture *f)
{
	shmfs_cycle_destroy(f->cycle);
	free(f);
}

/* Renders a snapshot as uid 0 into f->text; returns shmfs_statsfile_open's. */
static int snapshot(struct fixture *f, enum shmfs_statsfile_format format)
{
	const void *p;
	size_t n, len = 0;
	uint64_t fh;
	int res = shmfs_statsfile_open(f->stats, f->cycle, format, 0, &fh);

	if (res < 0)
		return res;
	/* In small reads, as the kernel may ask. */
	do {
		assert_int_equal(
			shmfs_statsfile_read(f->stats, fh, len, 4096, &p, &n),
			0);
		assert_true(len + n < sizeof(f->text));
		memcpy(f->text + len, p, n);
		len += n;
	} while (n > 0);
	f->text[len] = '\0';
	shmfs_statsfile_release(f->stats, fh);
	return 0;
}

static void has_line(const struct fixture *f, const char *line)
{
	size_t n = strlen(line);
	const char *t = f->text;

	for (const char *p = t; (p = strstr(p, line)) != NULL; p++)
		if ((p == t || p[-1] == '\n') && p[n] == '\n')
			return;
	fail_msg("no line \"%s\" in:\n%s", line, t);
}

static const char *ini = "[zone:a]\nsize = 8K\n"
			 "[zone:x.y-z_1]\nsize = 4K\nbackend = devzero\n"
			 "cache = direct\nmode = 0640\n";

static void both_formats_show_the_counters_of_the_region(void **state)
{
	struct fixture *f = make(ini);
	struct shmfs_region *r = f->tab->region;

	(void)state;
	atomic_store(&r->reloads, 2);
	atomic_store(&r->workers[3].pid, 4711);
	atomic_store(&r->workers[3].requests, 12);
	atomic_store(&r->workers[3].errors, 1);
	atomic_store(&r->workers[3].bytes_in, 300);
	atomic_store(&f->tab->entries[1].zone.meta->length, 300);
	atomic_store(&f->tab->entries[1].zone.meta->writes, 2);
	atomic_store(&f->tab->entries[1].zone.meta->bytes_in, 300);

	assert_int_equal(snapshot(f, SHMFS_STATSFILE_TEXT), 0);
	has_line(f, "reloads 2");
	has_line(f, "workers 1");
	has_line(f, "worker.3.pid 4711");
	has_line(f, "worker.3.requests 12");
	has_line(f, "worker.3.errors 1");
	has_line(f, "zones 2");
	has_line(f, "zone.a.capacity 8192");
	has_line(f, "zone.a.mode 0600");
	has_line(f, "zone.x.y-z_1.backend devzero");
	has_line(f, "zone.x.y-z_1.object -");
	has_line(f, "zone.x.y-z_1.cache direct");
	has_line(f, "zone.x.y-z_1.mode 0640");
	has_line(f, "zone.x.y-z_1.length 300");
	has_line(f, "zone.x.y-z_1.used 300");
	has_line(f, "zone.x.y-z_1.bytes_in 300");
	assert_null(strstr(f->text, "worker.0."));

	assert_int_equal(snapshot(f, SHMFS_STATSFILE_PROMETHEUS), 0);
	has_line(f, "# TYPE shmfs_reloads_total counter");
	has_line(f, "shmfs_reloads_total 2");
	has_line(f, "shmfs_workers 1");
	has_line(f, "# TYPE shmfs_worker_requests_total counter");
	has_line(f, "shmfs_worker_requests_total{worker=\"3\"} 12");
	has_line(f, "shmfs_worker_errors_total{worker=\"3\"} 1");
	has_line(f, "shmfs_worker_pid{worker=\"3\"} 4711");
	has_line(f, "shmfs_zone_info{zone=\"x.y-z_1\",backend=\"devzero\","
		    "object=\"-\",cache=\"direct\",mode=\"0640\"} 1");
	has_line(f, "# TYPE shmfs_zone_capacity_bytes gauge");
	has_line(f, "shmfs_zone_capacity_bytes{zone=\"a\"} 8192");
	has_line(f, "shmfs_zone_used_bytes{zone=\"x.y-z_1\"} 300");
	has_line(f, "shmfs_zone_writes_total{zone=\"x.y-z_1\"} 2");
	has_line(f, "shmfs_zone_written_bytes_total{zone=\"x.y-z_1\"} 300");
	assert_null(strstr(f->text, "worker=\"0\""));
	unmake(f);
}

/*
 * The masters of the mount: a fresh table is generation 1, and the
 * restarts and upgrades the region counts show in both files, the
 * generation as a gauge (it is not a count of events).
 */
static void both_formats_show_the_generation_restarts_and_upgrades(void **s)
{
	struct fixture *f = make(ini);
	struct shmfs_region *r = f->tab->region;

	(void)s;
	assert_int_equal(snapshot(f, SHMFS_STATSFILE_TEXT), 0);
	has_line(f, "generation 1");
	has_line(f, "restarts 0");
	has_line(f, "upgrades 0");
	atomic_store(&r->generation, 4);
	atomic_store(&r->restarts, 2);
	atomic_store(&r->upgrades, 1);
	assert_int_equal(snapshot(f, SHMFS_STATSFILE_TEXT), 0);
	has_line(f, "generation 4");
	has_line(f, "restarts 2");
	has_line(f, "upgrades 1");
	/* After the older daemon figures: those keep their lines' order. */
	assert_true(strstr(f->text,
			   "log_dropped 0\ngeneration 4\n"
			   "restarts 2\nupgrades 1\ntransport /dev/fuse\n"
			   "workers ") != NULL);

	assert_int_equal(snapshot(f, SHMFS_STATSFILE_PROMETHEUS), 0);
	has_line(f, "# TYPE shmfs_generation gauge");
	has_line(f, "shmfs_generation 4");
	has_line(f, "# TYPE shmfs_restarts_total counter");
	has_line(f, "shmfs_restarts_total 2");
	has_line(f, "# TYPE shmfs_upgrades_total counter");
	has_line(f, "shmfs_upgrades_total 1");
	unmake(f);
}

/*
 * The transport is what the region says (a worker clears it when the
 * kernel turns the rings off), in both files.
 */
static void both_formats_show_the_transport(void **s)
{
	struct fixture *f = make(ini);

	(void)s;
	assert_int_equal(snapshot(f, SHMFS_STATSFILE_TEXT), 0);
	has_line(f, "transport /dev/fuse");
	assert_int_equal(snapshot(f, SHMFS_STATSFILE_PROMETHEUS), 0);
	has_line(f, "# TYPE shmfs_transport_info gauge");
	has_line(f, "shmfs_transport_info{transport=\"/dev/fuse\"} 1");
	atomic_store(&f->tab->region->uring, true);
	assert_int_equal(snapshot(f, SHMFS_STATSFILE_TEXT), 0);
	has_line(f, "transport io_uring");
	assert_int_equal(snapshot(f, SHMFS_STATSFILE_PROMETHEUS), 0);
	has_line(f, "shmfs_transport_info{transport=\"io_uring\"} 1");
	unmake(f);
}

/* Each family once, its HELP and TYPE lines before its samples. */
static void
every_metric_family_is_announced_once_before_its_samples(void **state)
{
	struct fixture *f = make(ini);
	char seen[64][64];
	size_t nseen = 0;
	char current[64] = "";

	(void)state;
	atomic_store(&f->tab->region->workers[0].pid, 1);
	assert_int_equal(snapshot(f, SHMFS_STATSFILE_PROMETHEUS), 0);
	for (char *line = strtok(f->text, "\n"); line != NULL;
	     line = strtok(NULL, "\n")) {
		char name[64];

		if (sscanf(line, "# TYPE %63s", name) == 1) {
			for (size_t i = 0; i < nseen; i++)
				assert_string_not_equal(seen[i], name);
			assert_true(nseen < 64);
			strcpy(seen[nseen++], name);
			strcpy(current, name);
			continue;
		}
		if (line[0] == '#')
			continue;
		assert_int_equal(sscanf(line, "%63[^{ ]", name), 1);
		assert_string_equal(name, current);
	}
	assert_true(nseen >= 15);
	unmake(f);
}

/*
 * Every worker slot taken, a thousand zones with the longest labels, one
 * with the longest name, every counter at its maximum: both texts still
 * fit the slot. Short names, since a name is counted in every line of its
 * zone; many zones, so that the slack of the worker lines cannot hide a
 * zone's lines outgrowing their share.
 */
static void the_largest_figures_fit_a_slot_in_both_formats(void **state)
{
	enum { N = 1000 };
	size_t cap = (N + 1) * (SHMFS_NAME_MAX + 80) + 1;
	char *big = malloc(cap), *p = big, name[SHMFS_NAME_MAX + 1];
	struct fixture *f;

	(void)state;
	assert_non_null(big);
	memset(name, 'n', SHMFS_NAME_MAX);
	name[SHMFS_NAME_MAX] = '\0';
	p += sprintf(p, "[zone:%s]\nsize = 4K\n", name);
	for (int i = 0; i < N; i++)
		p += sprintf(p,
			     "[zone:z%03d]\nsize = 4K\nbackend = devzero\n"
			     "cache = direct\nmode = 01777\n",
			     i);
	f = make(big);
	free(big);
	struct shmfs_region *r = f->tab->region;
	for (unsigned i = 0; i < SHMFS_WORKERS_MAX; i++) {
		atomic_store(&r->workers[i].pid, 2147483647);
		atomic_store(&r->workers[i].requests, UINT64_MAX);
		atomic_store(&r->workers[i].errors, UINT64_MAX);
		atomic_store(&r->workers[i].bytes_in, UINT64_MAX);
		atomic_store(&r->workers[i].bytes_out, UINT64_MAX);
	}
	atomic_store(&r->reloads, UINT64_MAX);
	atomic_store(&r->respawns, UINT64_MAX);
	atomic_store(&r->generation, UINT64_MAX);
	atomic_store(&r->restarts, UINT64_MAX);
	atomic_store(&r->upgrades, UINT64_MAX);
	for (size_t i = 0; i < f->tab->nzones; i++) {
		struct shmfs_zone_meta *m = f->tab->entries[i].zone.meta;

		/* The figures only: no byte of the zone is touched. */
		atomic_store(&m->length, 64ULL << 40);
		atomic_store(&m->reads, UINT64_MAX);
		atomic_store(&m->writes, UINT64_MAX);
		atomic_store(&m->bytes_in, UINT64_MAX);
		atomic_store(&m->bytes_out, UINT64_MAX);
	}
	assert_int_equal(snapshot(f, SHMFS_STATSFILE_TEXT), 0);
	has_line(f, "worker.255.bytes_out 18446744073709551615");
	has_line(f, "zone.z999.used 70368744177664");
	assert_int_equal(snapshot(f, SHMFS_STATSFILE_PROMETHEUS), 0);
	has_line(f, "shmfs_zone_read_bytes_total{zone=\"z999\"} "
		    "18446744073709551615");
	unmake(f);
}

/*
 * A file zone at the longest path a config line holds: its object is whole
 * in both formats (a 32-byte buffer once cut it at 31).
 */
static void an_object_path_of_any_length_is_shown_whole(void **state)
{
	char dir[] = "/tmp/shmfs-stats.XXXXXX", path[200], conf[300], line[512];
	struct fixture *f;
	size_t len;

	(void)state;
	assert_non_null(mkdtemp(dir));
	len = (size_t)snprintf(path, sizeof(path), "%s/", dir);
	/* "path = " and the newline: 198 bytes a line, 190 for the path. */
	memset(path + len, 'p', 190 - len);
	path[190] = '\0';
	snprintf(conf, sizeof(conf),
		 "[zone:f]\nbackend = file\nsize = 4K\npath = %s\n", path);
	f = make(conf);
	assert_int_equal(snapshot(f, SHMFS_STATSFILE_TEXT), 0);
	snprintf(line, sizeof(line), "zone.f.object %s", path);
	has_line(f, line);
	assert_int_equal(snapshot(f, SHMFS_STATSFILE_PROMETHEUS), 0);
	snprintf(line, sizeof(line),
		 "shmfs_zone_info{zone=\"f\",backend=\"file\",object=\"%s\","
		 "cache=\"direct\",mode=\"0600\"} 1",
		 path);
	has_line(f, line);
	unmake(f);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

/*
 * The clock set back before the mount: the uptime is 0, never negative
 * (shmfs status refused "uptime -3600" as not a number).
 */
static void the_uptime_is_0_while_the_clock_is_before_the_mount(void **state)
{
	struct fixture *f = make(ini);

	(void)state;
	clock_gettime(CLOCK_REALTIME, &f->tab->region->started);
	f->tab->region->started.tv_sec += 3600;
	assert_int_equal(snapshot(f, SHMFS_STATSFILE_TEXT), 0);
	has_line(f, "uptime 0");
	assert_int_equal(snapshot(f, SHMFS_STATSFILE_PROMETHEUS), 0);
	has_line(f, "shmfs_uptime_seconds 0");
	unmake(f);
}

static void label_values_are_escaped_and_never_cut_in_an_escape(void **state)
{
	char buf[64];

	(void)state;
	assert_int_equal(
		shmfs_statsfile_escape_label(buf, sizeof(buf), "x.y-z_1"), 7);
	assert_string_equal(buf, "x.y-z_1");
	assert_int_equal(
		shmfs_statsfile_escape_label(buf, sizeof(buf), "a\\b\"c\nd"),
		10);
	assert_string_equal(buf, "a\\\\b\\\"c\\nd");
	/* The escape that does not fit is left out whole, and all after it. */
	assert_int_equal(shmfs_statsfile_escape_label(buf, 5, "a\\\"b"), 6);
	assert_string_equal(buf, "a\\\\");
	assert_int_equal(shmfs_statsfile_escape_label(buf, 3, "a\\\"b"), 6);
	assert_string_equal(buf, "a");
	assert_int_equal(shmfs_statsfile_escape_label(NULL, 0, "\n"), 2);
}

static void stats_and_metrics_share_the_quota_of_a_user(void **state)
{
	struct fixture *f = make(ini);
	uint64_t fh[SHMFS_STATSFILE_PER_UID + 1];

	(void)state;
	for (unsigned i = 0; i < SHMFS_STATSFILE_PER_UID; i++)
		assert_int_equal(
			shmfs_statsfile_open(f->stats, f->cycle,
					     i % 2 ? SHMFS_STATSFILE_PROMETHEUS
						   : SHMFS_STATSFILE_TEXT,
					     1000, &fh[i]),
			0);
	assert_int_equal(shmfs_statsfile_open(f->stats, f->cycle,
					      SHMFS_STATSFILE_PROMETHEUS, 1000,
					      &fh[SHMFS_STATSFILE_PER_UID]),
			 -EMFILE);
	assert_int_equal(shmfs_statsfile_open(f->stats, f->cycle,
					      SHMFS_STATSFILE_PROMETHEUS, 1001,
					      &fh[SHMFS_STATSFILE_PER_UID]),
			 0);
	shmfs_statsfile_release(f->stats, fh[SHMFS_STATSFILE_PER_UID]);
	shmfs_statsfile_release(f->stats, fh[0]);
	assert_int_equal(shmfs_statsfile_open(f->stats, f->cycle,
					      SHMFS_STATSFILE_PROMETHEUS, 1000,
					      &fh[0]),
			 0);
	for (unsigned i = 0; i < SHMFS_STATSFILE_PER_UID; i++)
		shmfs_statsfile_release(f->stats, fh[i]);
	unmake(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(both_formats_show_the_counters_of_the_region),
		cmocka_unit_test(
			both_formats_show_the_generation_restarts_and_upgrades),
		cmocka_unit_test(both_formats_show_the_transport),
		cmocka_unit_test(
			every_metric_family_is_announced_once_before_its_samples),
		cmocka_unit_test(
			the_largest_figures_fit_a_slot_in_both_formats),
		cmocka_unit_test(
			label_values_are_escaped_and_never_cut_in_an_escape),
		cmocka_unit_test(an_object_path_of_any_length_is_shown_whole),
		cmocka_unit_test(stats_and_metrics_share_the_quota_of_a_user),
		cmocka_unit_test(
			the_uptime_is_0_while_the_clock_is_before_the_mount),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

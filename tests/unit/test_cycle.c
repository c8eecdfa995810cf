/* SPDX-License-Identifier: MIT */
/*
 * The cycle without FUSE: a first cycle runs its zones as configured until
 * it is bound to a connection; binding registers each passthrough zone's
 * memfd once and runs a zone that cannot have it in page mode; a reload
 * keeps the backing id of a zone whose memory it keeps, registers new
 * memory, closes the ids nothing uses any more, counts one more
 * generation and lists the names that are gone; a failed reload leaves the
 * running cycle as it was. The connection is a fake that records calls.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "shmfs/cycle.h"
#include "shmfs/log.h"
#include "shmfs/region.h"
#include "shmfs/zonetab.h"

/* A connection that hands out ids 1, 2, ... and refuses one memfd. */
struct fake {
	int next_id;
	int refused_fd; /* open_backing of it fails with EPERM */
	unsigned opened;
	int closed[8];
	unsigned nclosed;
	struct shmfs_cycle_conn conn;
};

static int fake_open(void *arg, int fd)
{
	struct fake *f = arg;

	if (fd == f->refused_fd)
		return -EPERM;
	f->opened++;
	return ++f->next_id;
}

static void fake_close(void *arg, int id)
{
	struct fake *f = arg;

	assert_true(f->nclosed < 8);
	f->closed[f->nclosed++] = id;
}

static const char *fake_why(void *arg, int *err)
{
	(void)arg;
	*err = EPERM;
	return "the fake refuses it";
}

static void fake_init(struct fake *f)
{
	memset(f, 0, sizeof(*f));
	f->refused_fd = -2;
	f->conn = (struct shmfs_cycle_conn){
		.open_backing = fake_open,
		.close_backing = fake_close,
		.no_passthrough = fake_why,
		.arg = f,
	};
}

/* A cycle of ini (and old, for a reload); fails the test if it fails. */
static struct shmfs_cycle *make(const char *ini, struct shmfs_cycle *old)
{
	struct shmfs_config cfg = {0};
	struct shmfs_cycle *c = NULL;
	char err[256];

	assert_int_equal(
		shmfs_config_parse_string(ini, "t.ini", &cfg, err, sizeof(err)),
		0);
	assert_int_equal(shmfs_cycle_create(&cfg, old, &c), 0);
	assert_null(cfg.zones); /* taken over */
	return c;
}

#define PT "size = 4K\ncache = passthrough\n"

static void a_first_cycle_runs_its_zones_as_configured_until_bound(void **s)
{
	struct shmfs_cycle *c = make("[zone:p]\n" PT "[zone:d]\nsize = 4K\n"
				     "cache = direct\n",
				     NULL);

	(void)s;
	assert_int_equal(c->generation, 0);
	assert_null(c->conn);
	assert_int_equal(c->ngone, 0);
	assert_int_equal(c->zones[0].cache, SHMFS_CACHE_PASSTHROUGH);
	assert_int_equal(c->zones[0].backing_id, 0);
	assert_int_equal(c->zones[1].cache, SHMFS_CACHE_DIRECT);
	assert_ptr_equal(shmfs_cycle_zone(c, &c->tab->entries[1]),
			 &c->zones[1]);
	assert_ptr_equal(shmfs_cycle_region(c), c->tab->region);
	assert_string_equal(c->cfg.zones[0].name, "p");
	shmfs_cycle_destroy(c);
}

static void
binding_registers_passthrough_zones_or_serves_them_as_pages(void **s)
{
	struct shmfs_cycle *c = make(
		"[zone:a]\n" PT "[zone:b]\n" PT "[zone:c]\nsize = 4K\n", NULL);
	struct fake f;

	(void)s;
	fake_init(&f);
	f.refused_fd = c->tab->entries[1].zone.fd;
	shmfs_log_open("/dev/null", LOG_ERR, true);
	shmfs_cycle_bind(c, &f.conn);
	shmfs_log_close();
	assert_ptr_equal(c->conn, &f.conn);
	assert_int_equal(f.opened, 1);
	assert_int_equal(c->zones[0].cache, SHMFS_CACHE_PASSTHROUGH);
	assert_int_equal(c->zones[0].backing_id, 1);
	assert_int_equal(c->zones[1].cache, SHMFS_CACHE_PAGE);
	assert_int_equal(c->zones[1].backing_id, 0);
	assert_int_equal(c->zones[2].cache, SHMFS_CACHE_PAGE);
	assert_int_equal(c->zones[2].backing_id, 0);
	/* The configuration still says what was asked for. */
	assert_int_equal(c->tab->entries[1].conf.cache,
			 SHMFS_CACHE_PASSTHROUGH);
	shmfs_cycle_destroy(c);
	assert_int_equal(f.nclosed, 0); /* ids end with the connection */
}

/*
 * A kept zone keeps its id and is not registered again; a zone with new
 * memory gets a new id; the ids of memory no zone runs on are closed.
 */
static void a_reload_keeps_the_ids_of_kept_memory_and_closes_the_rest(void **s)
{
	struct shmfs_cycle *c1 = make("[zone:kept]\n" PT "[zone:fell]\n" PT
				      "[zone:grown]\n" PT "[zone:left]\n" PT,
				      NULL);
	struct fake f;

	(void)s;
	fake_init(&f);
	f.refused_fd = c1->tab->entries[1].zone.fd; /* "fell" */
	shmfs_log_open("/dev/null", LOG_ERR, true);
	shmfs_cycle_bind(c1, &f.conn);
	assert_int_equal(f.opened, 3); /* kept 1, grown 2, left 3 */
	uint64_t reloads = atomic_load(&c1->tab->region->reloads);

	struct shmfs_cycle *c2 = make("[zone:kept]\n" PT "[zone:fell]\n" PT
				      "[zone:grown]\nsize = 8K\n"
				      "cache = passthrough\n"
				      "[zone:left]\nsize = 4K\n"
				      "backend = memfd\n",
				      c1);
	shmfs_cycle_destroy(c1);
	assert_ptr_equal(c2->conn, &f.conn);
	assert_int_equal(c2->generation, 1);
	assert_int_equal(atomic_load(&c2->tab->region->reloads), reloads + 1);
	assert_int_equal(c2->zones[0].backing_id, 1);
	assert_int_equal(c2->zones[1].cache, SHMFS_CACHE_PAGE);
	assert_int_equal(c2->zones[2].cache, SHMFS_CACHE_PASSTHROUGH);
	assert_int_equal(c2->zones[2].backing_id, 4); /* to register: done */
	assert_int_equal(c2->zones[3].cache, SHMFS_CACHE_PAGE);
	assert_int_equal(c2->zones[3].backing_id, 0);
	assert_int_equal(f.opened, 4);
	assert_int_equal(f.nclosed, 2);
	assert_int_equal(f.closed[0], 2);
	assert_int_equal(f.closed[1], 3);
	assert_int_equal(c2->ngone, 0);

	struct shmfs_cycle *c3 = make("[zone:left]\n" PT, c2);
	shmfs_cycle_destroy(c2);
	shmfs_log_close();
	assert_int_equal(c3->generation, 2);
	assert_int_equal(f.nclosed, 4);
	assert_int_equal(f.closed[2], 1);
	assert_int_equal(f.closed[3], 4);
	assert_int_equal(c3->ngone, 3);
	assert_string_equal(c3->gone[0], "kept");
	assert_string_equal(c3->gone[1], "fell");
	assert_string_equal(c3->gone[2], "grown");
	shmfs_cycle_destroy(c3);
}

static void a_failed_reload_leaves_the_running_cycle_as_it_was(void **s)
{
	struct shmfs_cycle *c1 = make("[zone:a]\n" PT, NULL);
	struct shmfs_config cfg = {0};
	struct shmfs_cycle *c2 = NULL;
	struct fake f;
	char err[256];

	(void)s;
	fake_init(&f);
	shmfs_log_open("/dev/null", LOG_ERR, true);
	shmfs_cycle_bind(c1, &f.conn);
	void *data = c1->tab->entries[0].zone.data;
	assert_int_equal(shmfs_config_parse_string(
				 "[zone:a]\n" PT "[zone:huge]\nsize = 60T\n",
				 "t.ini", &cfg, err, sizeof(err)),
			 0);
	int res = shmfs_cycle_create(&cfg, c1, &c2);
	shmfs_log_close();
	assert_true(res == -ENOMEM || res == -EINVAL); /* EINVAL: valgrind */
	assert_null(c2);
	assert_null(cfg.zones); /* freed */
	assert_int_equal(c1->generation, 0);
	assert_int_equal(atomic_load(&c1->tab->region->reloads), 0);
	assert_ptr_equal(c1->tab->entries[0].zone.data, data);
	assert_false(c1->tab->entries[0].borrowed);
	assert_int_equal(c1->zones[0].backing_id, 1);
	assert_int_equal(f.nclosed, 0);
	assert_int_equal(f.opened, 1);
	shmfs_cycle_destroy(c1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			a_first_cycle_runs_its_zones_as_configured_until_bound),
		cmocka_unit_test(
			binding_registers_passthrough_zones_or_serves_them_as_pages),
		cmocka_unit_test(
			a_reload_keeps_the_ids_of_kept_memory_and_closes_the_rest),
		cmocka_unit_test(
			a_failed_reload_leaves_the_running_cycle_as_it_was),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

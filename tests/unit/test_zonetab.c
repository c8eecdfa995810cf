/* SPDX-License-Identifier: MIT */
/*
 * The zone table: every configured zone is allocated with its backend and
 * its record initialised from the configuration; names are found by hash,
 * including among thousands; nothing stays allocated after destroy.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <unistd.h>
#include <cmocka.h>

#include "shmfs/config.h"
#include "shmfs/log.h"
#include "shmfs/zonetab.h"

static struct shmfs_zonetab *make(const char *ini, struct shmfs_config *cfg)
{
	struct shmfs_zonetab *tab = NULL;
	char err[256];

	assert_int_equal(
		shmfs_config_parse_string(ini, "t.ini", cfg, err, sizeof(err)),
		0);
	assert_int_equal(shmfs_zonetab_create(cfg, NULL, &tab), 0);
	return tab;
}

static void every_zone_is_mapped_with_its_backend_and_record(void **state)
{
	struct shmfs_config cfg = {0};
	struct shmfs_zonetab *tab =
		make("[shmfs]\nmode = 0600\n"
		     "[zone:a]\nsize = 1M\n"
		     "[zone:b]\nsize = 10K\nbackend = devzero\nmode = 0644\n"
		     "[zone:c]\nsize = 1\nbackend = sysv\nuid = 5\ngid = 6\n",
		     &cfg);

	(void)state;
	assert_int_equal(tab->nzones, 3);
	assert_int_equal(tab->capacity, (1 << 20) + 12288 + 4096);
	assert_int_equal(tab->entries[1].shm.backend, SHMFS_BACKEND_DEVZERO);
	assert_int_equal(tab->entries[2].shm.backend, SHMFS_BACKEND_SYSV);
	assert_int_equal(tab->entries[1].zone.capacity, 12288);
	assert_int_equal(tab->entries[1].zone.meta->mode, 0644);
	assert_int_equal(tab->entries[0].zone.meta->mode, 0600);
	assert_int_equal(tab->entries[2].zone.meta->uid, 5);
	assert_int_equal(tab->entries[2].zone.meta->gid, 6);
	assert_ptr_equal(tab->entries[2].zone.meta, &tab->region->zones[2]);
	for (size_t i = 0; i < 3; i++) {
		assert_non_null(tab->entries[i].zone.data);
		tab->entries[i].zone.data[tab->entries[i].zone.capacity - 1] =
			1;
	}
	shmfs_zonetab_destroy(tab);
	shmfs_config_free(&cfg);
}

static void names_are_found_and_unknown_ones_are_enoent(void **state)
{
	struct shmfs_config cfg = {0};
	struct shmfs_zonetab *tab = make("[zone:alpha]\nsize = 4K\n"
					 "[zone:beta]\nsize = 4K\n",
					 &cfg);

	(void)state;
	assert_int_equal(shmfs_zonetab_find(tab, "alpha", 5), 0);
	assert_int_equal(shmfs_zonetab_find(tab, "beta", 4), 1);
	/* The length bounds the name: no NUL needed. */
	assert_int_equal(shmfs_zonetab_find(tab, "betamax", 4), 1);
	assert_int_equal(shmfs_zonetab_find(tab, "alph", 4), -ENOENT);
	assert_int_equal(shmfs_zonetab_find(tab, "gamma", 5), -ENOENT);
	assert_int_equal(shmfs_zonetab_find(tab, "", 0), -ENOENT);
	shmfs_zonetab_destroy(tab);
	shmfs_config_free(&cfg);
}

static void thousands_of_zones_are_each_found(void **state)
{
	enum { N = 3000 };
	struct shmfs_config cfg = {0};
	size_t cap = N * 40 + 1;
	char *ini = malloc(cap), *p = ini;

	(void)state;
	for (int i = 0; i < N; i++)
		p += sprintf(p, "[zone:z%d]\nsize = 4K\n", i);
	struct shmfs_zonetab *tab = make(ini, &cfg);
	for (int i = 0; i < N; i++) {
		char name[16];
		int len = sprintf(name, "z%d", i);
		assert_int_equal(shmfs_zonetab_find(tab, name, len), i);
	}
	assert_int_equal(shmfs_zonetab_find(tab, "z3000", 5), -ENOENT);
	shmfs_zonetab_destroy(tab);
	shmfs_config_free(&cfg);
	free(ini);
}

static void a_config_without_zones_makes_an_empty_table(void **state)
{
	struct shmfs_config cfg = {0};
	struct shmfs_zonetab *tab = make("[shmfs]\nworkers = 2\n", &cfg);

	(void)state;
	assert_int_equal(tab->nzones, 0);
	assert_int_equal(tab->capacity, 0);
	assert_int_equal(shmfs_zonetab_find(tab, "x", 1), -ENOENT);
	shmfs_zonetab_destroy(tab);
	shmfs_config_free(&cfg);
}

static void a_zone_that_cannot_be_allocated_fails_the_whole_table(void **state)
{
	struct shmfs_config cfg = {0};
	struct shmfs_zonetab *tab = NULL;
	char err[256];

	(void)state;
	assert_int_equal(shmfs_config_parse_string("[zone:ok]\nsize = 4K\n"
						   "[zone:huge]\nsize = 60T\n",
						   "t.ini", &cfg, err,
						   sizeof(err)),
			 0);
	shmfs_log_open("/dev/null", LOG_ERR, true);
	int res = shmfs_zonetab_create(&cfg, NULL, &tab);
	assert_true(res == -ENOMEM || res == -EINVAL); /* EINVAL: valgrind */
	shmfs_log_close();
	assert_null(tab);
	shmfs_config_free(&cfg);
}

static struct shmfs_zonetab *reload(struct shmfs_zonetab *old, const char *ini,
				    struct shmfs_config *cfg)
{
	struct shmfs_zonetab *tab = NULL;
	char err[256];

	assert_int_equal(
		shmfs_config_parse_string(ini, "t.ini", cfg, err, sizeof(err)),
		0);
	assert_int_equal(shmfs_zonetab_create(cfg, old, &tab), 0);
	shmfs_zonetab_adopt(tab, old);
	return tab;
}

static void a_reload_keeps_resizes_drops_and_adds_zones(void **state)
{
	struct shmfs_config c1 = {0}, c2 = {0};
	struct shmfs_zonetab *t1 =
		make("[zone:same]\nsize = 8K\n"
		     "[zone:grow]\nsize = 4K\n"
		     "[zone:shrink]\nsize = 8K\n"
		     "[zone:gone]\nsize = 4K\n"
		     "[zone:chmod]\nsize = 4K\nmode = 0600\n",
		     &c1);
	size_t n;

	(void)state;
	for (size_t i = 0; i < t1->nzones; i++) {
		struct shmfs_zone *z = &t1->entries[i].zone;
		assert_int_equal(
			shmfs_zone_write(z, "0123456789", 10, 4090, false, &n),
			0);
	}
	struct shmfs_zone_attr a = {.set = SHMFS_ZONE_SET_MODE, .mode = 0644};
	assert_int_equal(shmfs_zone_setattr(&t1->entries[0].zone, &a), 0);
	void *same_data = t1->entries[0].zone.data;
	uint64_t ino[5];
	for (size_t i = 0; i < 5; i++)
		ino[i] = t1->entries[i].ino;

	struct shmfs_zonetab *t2 =
		reload(t1,
		       "[zone:new]\nsize = 4K\n"
		       "[zone:same]\nsize = 8K\n"
		       "[zone:grow]\nsize = 8K\n"
		       "[zone:shrink]\nsize = 4K\n"
		       "[zone:chmod]\nsize = 4K\nmode = 0640\n",
		       &c2);
	shmfs_zonetab_destroy(t1); /* frees "gone" and the old region */
	shmfs_config_free(&c1);

	long same = shmfs_zonetab_find(t2, "same", 4);
	long grow = shmfs_zonetab_find(t2, "grow", 4);
	long shrink = shmfs_zonetab_find(t2, "shrink", 6);
	long chmod = shmfs_zonetab_find(t2, "chmod", 5);
	long fresh = shmfs_zonetab_find(t2, "new", 3);
	assert_int_equal(shmfs_zonetab_find(t2, "gone", 4), -ENOENT);

	/* Unchanged: the very mapping, inode, length and run-time chmod. */
	struct shmfs_zonetab_entry *e = &t2->entries[same];
	assert_ptr_equal(e->zone.data, same_data);
	assert_int_equal(e->ino, ino[0]);
	assert_int_equal(shmfs_zone_length(&e->zone), 4100);
	assert_int_equal(e->zone.meta->mode, 0644);
	assert_false(e->changed);
	assert_memory_equal(e->zone.data + 4090, "0123456789", 10);

	/* Grown: a new mapping with every byte. */
	e = &t2->entries[grow];
	assert_int_equal(e->ino, ino[1]);
	assert_true(e->changed);
	assert_int_equal(e->zone.capacity, 8192);
	assert_int_equal(shmfs_zone_length(&e->zone), 4096);
	assert_memory_equal(e->zone.data + 4090, "012345", 6);

	/* Shrunk: the bytes up to the smaller size. */
	e = &t2->entries[shrink];
	assert_int_equal(shmfs_zone_length(&e->zone), 4096);
	assert_memory_equal(e->zone.data + 4090, "012345", 6);

	/* The ini file changed the mode: it wins. */
	e = &t2->entries[chmod];
	assert_int_equal(e->zone.meta->mode, 0640);
	assert_true(e->changed);

	/* A new zone gets an inode number never used before. */
	e = &t2->entries[fresh];
	for (size_t i = 0; i < 5; i++)
		assert_true(e->ino != ino[i]);
	assert_int_equal(shmfs_zone_length(&e->zone), 0);
	assert_ptr_equal(shmfs_zonetab_by_ino(t2, e->ino), e);
	assert_null(shmfs_zonetab_by_ino(t2, ino[3]));

	shmfs_zonetab_destroy(t2);
	shmfs_config_free(&c2);
}

/*
 * The kernel never mixes backings on one inode: a passthrough zone whose
 * memfd is replaced, or that enters or leaves passthrough, is a new inode;
 * one kept as it was keeps its inode and memfd, also when it runs in page
 * mode for want of passthrough (its backing id: test_cycle.c).
 */
static void a_reload_renumbers_a_passthrough_zone_only_when_it_must(void **s)
{
	struct shmfs_config c1 = {0}, c2 = {0}, c3 = {0};
	struct shmfs_zonetab *t1 =
		make("[zone:kept]\nsize = 4K\ncache = passthrough\n"
		     "[zone:fell]\nsize = 4K\ncache = passthrough\n"
		     "[zone:grown]\nsize = 4K\ncache = passthrough\n"
		     "[zone:left]\nsize = 4K\ncache = passthrough\n",
		     &c1);
	uint64_t ino[4];

	(void)s;
	for (size_t i = 0; i < 4; i++) {
		ino[i] = t1->entries[i].ino;
		assert_true(t1->entries[i].zone.fixed);
		assert_true(t1->entries[i].zone.fd >= 0);
		assert_int_equal(shmfs_zone_length(&t1->entries[i].zone), 4096);
	}
	int kept_fd = t1->entries[0].zone.fd;

	struct shmfs_zonetab *t2 =
		reload(t1,
		       "[zone:kept]\nsize = 4K\ncache = passthrough\n"
		       "[zone:fell]\nsize = 4K\ncache = passthrough\n"
		       "[zone:grown]\nsize = 8K\ncache = passthrough\n"
		       "[zone:left]\nsize = 4K\nbackend = memfd\n",
		       &c2);
	shmfs_zonetab_destroy(t1);
	shmfs_config_free(&c1);

	assert_int_equal(t2->entries[0].ino, ino[0]);
	assert_false(t2->entries[0].renumbered);
	assert_int_equal(t2->entries[0].zone.fd, kept_fd);
	assert_int_equal(t2->entries[1].ino, ino[1]);
	assert_false(t2->entries[1].renumbered);
	assert_true(t2->entries[2].renumbered);
	assert_true(t2->entries[2].ino > ino[3]);
	assert_int_equal(shmfs_zone_length(&t2->entries[2].zone), 8192);
	assert_true(t2->entries[3].renumbered);
	assert_false(t2->entries[3].zone.fixed);

	/* Leaving passthrough and coming back is a new inode each time. */
	struct shmfs_zonetab *t3 = reload(
		t2, "[zone:left]\nsize = 4K\ncache = passthrough\n", &c3);
	assert_true(t3->entries[0].renumbered);
	assert_true(t3->entries[0].ino > t2->entries[3].ino);
	shmfs_zonetab_destroy(t2);
	shmfs_config_free(&c2);
	shmfs_zonetab_destroy(t3);
	shmfs_config_free(&c3);
}

/*
 * A shared object is the same memory while its object is: kept across a
 * reload (and its object not removed with the old table); another object
 * never receives the old bytes; a dropped zone's object is removed.
 */
static void a_reload_keeps_a_shared_object_or_maps_the_new_one(void **s)
{
	struct shmfs_config c1 = {0}, c2 = {0};
	struct shmfs_zonetab *t1;
	struct stat st;

	(void)s;
	/* What a failed run may have left. */
	shm_unlink("/shmfs-unit-zt-a");
	shm_unlink("/shmfs-unit-zt-b");
	shm_unlink("/shmfs-unit-zt-c");
	t1 = make("[zone:p]\nbackend = posix\n"
		  "name = /shmfs-unit-zt-a\nsize = 5000\n"
		  "[zone:q]\nbackend = posix\n"
		  "name = /shmfs-unit-zt-b\nsize = 5000\n",
		  &c1);
	assert_true(t1->entries[0].zone.fixed && t1->entries[0].zone.foreign);
	assert_int_equal(t1->entries[0].zone.capacity, 5000);
	memcpy(t1->entries[0].zone.data, "old", 3);
	memcpy(t1->entries[1].zone.data, "old", 3);
	void *kept = t1->entries[0].zone.data;

	struct shmfs_zonetab *t2 =
		reload(t1,
		       "[zone:p]\nbackend = posix\n"
		       "name = /shmfs-unit-zt-a\nsize = 5000\n"
		       "[zone:q]\nbackend = posix\n"
		       "name = /shmfs-unit-zt-c\nsize = 5000\n",
		       &c2);
	shmfs_zonetab_destroy(t1);
	shmfs_config_free(&c1);

	assert_ptr_equal(t2->entries[0].zone.data, kept);
	assert_int_equal(stat("/dev/shm/shmfs-unit-zt-a", &st), 0);
	assert_memory_equal(t2->entries[1].zone.data, "\0\0\0", 3);
	assert_int_equal(stat("/dev/shm/shmfs-unit-zt-b", &st), -1);
	assert_int_equal(stat("/dev/shm/shmfs-unit-zt-c", &st), 0);
	shmfs_zonetab_destroy(t2);
	shmfs_config_free(&c2);
	assert_int_equal(stat("/dev/shm/shmfs-unit-zt-a", &st), -1);
	assert_int_equal(stat("/dev/shm/shmfs-unit-zt-c", &st), -1);
}

/*
 * A restart: a second table made from what the first would store (the
 * region's and each zone's memory file) maps the same pages, with the
 * recorded inode numbers and the records as they were (length, mode,
 * next_ino).
 * The region's and the anon zone's files come from /proc/self/map_files,
 * which needs root (CI runs as root; elsewhere the test says so).
 */
static void a_restored_table_maps_the_same_memory_and_records(void **state)
{
	const char *ini = "[zone:m]\nsize = 64K\nbackend = memfd\n"
			  "[zone:a]\nsize = 64K\nbackend = anon\n";
	struct shmfs_config cfg = {0}, again = {0};
	struct shmfs_zonetab *tab = make(ini, &cfg), *back = NULL;
	struct shmfs_zonetab_stored_zone zones[2];
	struct shmfs_zonetab_stored st = {.zones = zones};
	char err[256];

	(void)state;
	if (tab->region_shm.fd < 0 || tab->entries[1].shm.fd < 0) {
		assert_null(getenv("CI")); /* under CI: root, and a failure */
		skip();
	}
	memcpy(tab->entries[0].zone.data, "memfd", 5);
	memcpy(tab->entries[1].zone.data, "anon", 4);
	atomic_store(&tab->entries[1].zone.meta->length, 4);
	tab->entries[1].zone.meta->mode = 0640;
	tab->region->next_ino = 42;
	st.region_fd = dup(tab->region_shm.fd);
	st.region_size = tab->region_shm.size;
	for (int i = 0; i < 2; i++)
		zones[i] = (struct shmfs_zonetab_stored_zone){
			.fd = dup(tab->entries[i].shm.fd),
			.size = tab->entries[i].shm.size,
			.ino = tab->entries[i].ino + 100,
			.sysv_id = -1,
		};
	/* (tab lives on: destroying it would destroy the records' locks,
	 * which a dead master never does.) */
	assert_int_equal(shmfs_config_parse_string(ini, "t.ini", &again, err,
						   sizeof(err)),
			 0);
	assert_int_equal(shmfs_zonetab_restore(&again, &st, &back), 0);
	assert_memory_equal(back->entries[0].zone.data, "memfd", 5);
	assert_memory_equal(back->entries[1].zone.data, "anon", 4);
	assert_int_equal(shmfs_zone_length(&back->entries[1].zone), 4);
	assert_int_equal(back->entries[1].zone.meta->mode, 0640);
	assert_int_equal(back->region->next_ino, 42);
	assert_int_equal(back->entries[0].ino, zones[0].ino);
	assert_ptr_equal(shmfs_zonetab_by_ino(back, zones[1].ino),
			 &back->entries[1]);
	assert_true(back->entries[1].shm.mapped);
	/* The same pages, not a copy: a write through one shows in both. */
	tab->entries[1].zone.data[0] = 'A';
	assert_int_equal(back->entries[1].zone.data[0], 'A');
	shmfs_zonetab_destroy(back);
	shmfs_zonetab_destroy(tab);
	shmfs_config_free(&again);
	shmfs_config_free(&cfg);
}

/* A stored region of another size (another build's) is refused. */
static void a_stored_region_of_another_size_is_refused(void **state)
{
	const char *ini = "[zone:m]\nsize = 64K\nbackend = memfd\n";
	struct shmfs_config cfg = {0};
	struct shmfs_zonetab_stored_zone zone = {.fd = -1, .size = 65536};
	struct shmfs_zonetab_stored st = {.zones = &zone};
	struct shmfs_zonetab *tab = NULL;
	char err[256];
	int fd = memfd_create("t", MFD_CLOEXEC);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 4096), 0);
	st.region_fd = fd;
	st.region_size = 4096;
	assert_int_equal(
		shmfs_config_parse_string(ini, "t.ini", &cfg, err, sizeof(err)),
		0);
	assert_int_equal(shmfs_zonetab_restore(&cfg, &st, &tab), -EPROTO);
	assert_null(tab);
	assert_int_equal(fcntl(fd, F_GETFD), -1); /* taken: closed */
	shmfs_config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			every_zone_is_mapped_with_its_backend_and_record),
		cmocka_unit_test(names_are_found_and_unknown_ones_are_enoent),
		cmocka_unit_test(thousands_of_zones_are_each_found),
		cmocka_unit_test(a_config_without_zones_makes_an_empty_table),
		cmocka_unit_test(
			a_zone_that_cannot_be_allocated_fails_the_whole_table),
		cmocka_unit_test(a_reload_keeps_resizes_drops_and_adds_zones),
		cmocka_unit_test(
			a_reload_keeps_a_shared_object_or_maps_the_new_one),
		cmocka_unit_test(
			a_reload_renumbers_a_passthrough_zone_only_when_it_must),
		cmocka_unit_test(
			a_restored_table_maps_the_same_memory_and_records),
		cmocka_unit_test(a_stored_region_of_another_size_is_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

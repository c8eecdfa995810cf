/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the ring buffers (uring_region.c): the geometry of slots
 * and pages, where a slot's header, record and payload are, the head page
 * that says what the file is, and a stored region mapped again at the
 * address its head names, never over another mapping.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "shmfs/uring_region.h"

#define MIB (1024 * 1024)

static void the_geometry_is_pages_of_header_slack_and_payload(void **s)
{
	struct shmfs_uring_geometry g;

	(void)s;
	assert_int_equal(shmfs_uring_geometry(2, SHMFS_URING_SLOTS, MIB, &g),
			 0);
	assert_int_equal(g.nqueues, 2);
	assert_int_equal(g.slots, SHMFS_URING_SLOTS);
	assert_int_equal(g.slot_size, 8192 + MIB);
	assert_int_equal(g.size, 4096 + 2 * SHMFS_URING_SLOTS * (8192 + MIB));
	/* A payload that is not page-sized is rounded up. */
	assert_int_equal(shmfs_uring_geometry(1, 1, 8193, &g), 0);
	assert_int_equal(g.slot_size, 8192 + 12288);
	assert_int_equal(shmfs_uring_geometry(0, 4, MIB, &g), -EINVAL);
	assert_int_equal(shmfs_uring_geometry(2, 0, MIB, &g), -EINVAL);
	assert_int_equal(shmfs_uring_geometry(2, 4, 0, &g), -EINVAL);
	assert_int_equal(
		shmfs_uring_geometry(UINT32_MAX, UINT32_MAX, SIZE_MAX / 4, &g),
		-EINVAL);
}

static void slots_do_not_overlap_and_records_start_free(void **s)
{
	struct shmfs_uring_geometry g;
	struct shmfs_uring_region r;

	(void)s;
	assert_int_equal(shmfs_uring_geometry(2, 3, 8192, &g), 0);
	assert_int_equal(shmfs_uring_region_create(&g, &r), 0);
	for (unsigned q = 0; q < 2; q++)
		for (unsigned i = 0; i < 3; i++) {
			unsigned char *slot = shmfs_uring_slot(&r, q, i);
			unsigned char *payload =
				shmfs_uring_slot_payload(&r, q, i);

			assert_ptr_equal(shmfs_uring_slot_header(&r, q, i),
					 slot);
			assert_ptr_equal(shmfs_uring_slot_record(&r, q, i),
					 slot + SHMFS_URING_RECORD_OFFSET);
			/* The slack before the payload holds a request's
			 * header and first argument. */
			assert_true(
				payload - slot >=
				(ptrdiff_t)(sizeof(struct
						   shmfs_fuse_uring_req_header) +
					    40 + 128));
			assert_true(payload + g.payload <= slot + g.slot_size);
			assert_true(slot + g.slot_size <= r.base + g.size);
			assert_int_equal(
				shmfs_uring_slot_record(&r, q, i)->state,
				SHMFS_URING_FREE);
		}
	shmfs_uring_region_destroy(&r);
}

static void a_stored_region_is_mapped_again_where_it_was(void **s)
{
	struct shmfs_uring_geometry g;
	struct shmfs_uring_region r, again;
	const char *why;
	uintptr_t addr;
	int fd;

	(void)s;
	assert_int_equal(shmfs_uring_geometry(1, 2, 8192, &g), 0);
	assert_int_equal(shmfs_uring_region_create(&g, &r), 0);
	addr = (uintptr_t)r.base;
	shmfs_uring_slot_record(&r, 0, 1)->unique = 77;
	fd = dup(r.fd);
	/* Where the old mapping still is, the range is taken. */
	assert_int_equal(shmfs_uring_region_adopt(dup(fd), &again, &why),
			 -EEXIST);
	/* What a restarted master sees: nothing there yet. */
	shmfs_uring_region_destroy(&r);
	assert_int_equal(shmfs_uring_region_adopt(fd, &again, &why), 0);
	assert_ptr_equal(again.base, (void *)addr);
	assert_int_equal(again.g.slots, 2);
	assert_int_equal(again.g.payload, 8192);
	assert_int_equal(shmfs_uring_slot_record(&again, 0, 1)->unique, 77);
	shmfs_uring_region_destroy(&again);
}

static void a_file_that_is_no_region_is_refused(void **s)
{
	struct shmfs_uring_region_head h;
	struct shmfs_uring_geometry g;
	struct shmfs_uring_region r;
	const char *why;
	int fd = memfd_create("not-rings", 0);

	(void)s;
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 65536), 0);
	assert_int_equal(shmfs_uring_region_adopt(fd, &r, &why), -EPROTO);
	assert_string_equal(why, "not ring buffers of shmfs");

	assert_int_equal(shmfs_uring_geometry(1, 2, 8192, &g), 0);
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, SHMFS_URING_REGION_MAGIC, sizeof(h.magic));
	h.version = 1;
	h.nqueues = 1;
	h.slots = 2;
	h.payload = 8192;
	h.slot_size = g.slot_size;
	h.size = g.size;
	h.addr = SHMFS_URING_REGION_HINT;
	assert_null(shmfs_uring_region_check(&h, g.size));
	assert_string_equal(shmfs_uring_region_check(&h, g.size + 4096),
			    "ring buffers whose geometry does not add up");
	h.slot_size += 4096;
	assert_non_null(shmfs_uring_region_check(&h, g.size));
	h.slot_size -= 4096;
	h.addr += 1;
	assert_string_equal(shmfs_uring_region_check(&h, g.size),
			    "ring buffers without an address");
	h.version = 2;
	assert_string_equal(shmfs_uring_region_check(&h, g.size),
			    "ring buffers of another version");
	h.version = 1;
	h.addr -= 1;
	h.slots = SHMFS_URING_SLOTS + 1;
	assert_string_equal(
		shmfs_uring_region_check(&h, g.size),
		"ring buffers with more slots than this build serves");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			the_geometry_is_pages_of_header_slack_and_payload),
		cmocka_unit_test(slots_do_not_overlap_and_records_start_free),
		cmocka_unit_test(a_stored_region_is_mapped_again_where_it_was),
		cmocka_unit_test(a_file_that_is_no_region_is_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

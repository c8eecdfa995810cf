/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the protocol pieces beyond libfuse 3.14 that need no
 * kernel: the INIT patch on a captured INIT reply, the decision taken from
 * the kernel's INIT request, and the passthrough OPEN reply's bytes.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "shmfs/kernel.h"

/*
 * The 64-byte fuse_init_out that libfuse 3.14 wrote to /dev/fuse on this
 * machine (kernel 6.18), as strace -e trace=writev -xx showed it: major 7,
 * minor 31, max_readahead 128 KiB, flags 0x40408029 (INIT_EXT already
 * among them), max_write 1 MiB, time_gran 1, max_pages 256, flags2 0.
 */
static const unsigned char captured[64] = {
	0x07, 0x00, 0x00, 0x00, 0x1f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
	0x00, 0x29, 0x80, 0x40, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x10, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
};

static uint32_t word(const unsigned char *p, size_t off)
{
	uint32_t v;

	memcpy(&v, p + off, sizeof(v));
	return v;
}

static void the_init_patch_asks_for_passthrough_and_nothing_else(void **s)
{
	unsigned char out[64], before[64];

	(void)s;
	memcpy(out, captured, sizeof(out));
	memcpy(before, out, sizeof(out));
	assert_int_equal(shmfs_kernel_patch_init(out, sizeof(out)), 0);
	assert_int_equal(word(out, 12), 0x40408029); /* INIT_EXT was set */
	assert_int_equal(word(out, 32), SHMFS_FUSE_PASSTHROUGH_FLAGS2);
	assert_int_equal(word(out, 36), 1); /* max_stack_depth */
	/* Everything else is as libfuse negotiated it. */
	assert_memory_equal(out, before, 12);
	assert_memory_equal(out + 16, before + 16, 16);
	assert_memory_equal(out + 40, before + 40, 24);
}

static void the_init_patch_drops_the_writeback_cache(void **s)
{
	unsigned char out[64];

	(void)s;
	memcpy(out, captured, sizeof(out));
	out[14] |= FUSE_WRITEBACK_CACHE >> 16; /* flags, byte 12, bit 16 */
	assert_true(word(out, 12) & FUSE_WRITEBACK_CACHE);
	assert_int_equal(shmfs_kernel_patch_init(out, sizeof(out)), 0);
	assert_false(word(out, 12) & FUSE_WRITEBACK_CACHE);
}

static void a_short_init_reply_is_not_patched(void **s)
{
	unsigned char out[24] = {0};

	(void)s;
	assert_int_equal(shmfs_kernel_patch_init(out, sizeof(out)), -EINVAL);
}

/* An INIT request: header, then fuse_init_in. */
struct init_request {
	struct fuse_in_header in;
	struct fuse_init_in init;
};

static void passthrough_is_asked_for_only_when_offered(void **s)
{
	struct init_request r = {
		.in = {.opcode = FUSE_INIT, .unique = 2},
		.init = {.major = 7,
			 .minor = 41,
			 .flags = FUSE_INIT_EXT,
			 .flags2 = SHMFS_FUSE_PASSTHROUGH_FLAGS2},
	};

	(void)s;
	assert_null(shmfs_kernel_init_no_passthrough(&r, sizeof(r)));
	r.init.flags2 = 0; /* a kernel without CONFIG_FUSE_PASSTHROUGH */
	assert_string_equal(shmfs_kernel_init_no_passthrough(&r, sizeof(r)),
			    "the kernel does not offer FUSE passthrough");
	r.init.flags2 = SHMFS_FUSE_PASSTHROUGH_FLAGS2;
	r.init.flags = 0; /* no extended flags: flags2 is not there */
	assert_non_null(shmfs_kernel_init_no_passthrough(&r, sizeof(r)));
	r.init.flags = FUSE_INIT_EXT; /* a request cut short */
	assert_non_null(shmfs_kernel_init_no_passthrough(&r, 20));
}

static void the_open_reply_carries_the_backing_id(void **s)
{
	struct shmfs_fuse_open_out out;
	unsigned char bytes[16];

	(void)s;
	shmfs_kernel_passthrough_open_out(&out, 42, 7);
	memcpy(bytes, &out, sizeof(bytes));
	assert_int_equal(sizeof(out), 16);
	assert_int_equal(out.fh, 42);
	/* FOPEN_PASSTHROUGH | FOPEN_NOFLUSH; never KEEP_CACHE or DIRECT_IO. */
	assert_int_equal(word(bytes, 8), (1u << 7) | (1u << 5));
	assert_int_equal(word(bytes, 12), 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			the_init_patch_asks_for_passthrough_and_nothing_else),
		cmocka_unit_test(the_init_patch_drops_the_writeback_cache),
		cmocka_unit_test(a_short_init_reply_is_not_patched),
		cmocka_unit_test(passthrough_is_asked_for_only_when_offered),
		cmocka_unit_test(the_open_reply_carries_the_backing_id),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

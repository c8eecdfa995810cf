/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of what FUSE over io_uring needs that can be tested without a
 * ring: the probe's decision from each fact, the INIT bits, the bytes of
 * the REGISTER and COMMIT_AND_FETCH SQEs, a ring entry's request read
 * from its header buffer, and what a replacement does with each entry a
 * dead worker left (from headers built as the kernel writes them).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <linux/io_uring.h>

#include <cmocka.h>

#include "shmfs/uring.h"
#include "uring_captured.h"

/* ------------------------------------------------------------ the probe */

/* A machine where nothing stands in the way. */
static const struct shmfs_uring_facts ready = {
	.major = 6,
	.minor = 18,
	.may_use_restricted = true,
	.fuse_loaded = true,
	.enable_uring = 'Y',
};

static void each_fact_in_the_way_is_named(void **s)
{
	struct shmfs_uring_facts f;

	(void)s;
	assert_null(shmfs_uring_why_not(&ready));

	f = ready, f.minor = 13;
	assert_string_equal(shmfs_uring_why_not(&f),
			    "the kernel is older than 6.14");
	f = ready, f.major = 5, f.minor = 19;
	assert_string_equal(shmfs_uring_why_not(&f),
			    "the kernel is older than 6.14");
	f = ready, f.major = 7, f.minor = 0;
	assert_null(shmfs_uring_why_not(&f));
	f = ready, f.io_uring_disabled = 2;
	assert_non_null(strstr(shmfs_uring_why_not(&f),
			       "kernel.io_uring_disabled = 2"));
	f = ready, f.io_uring_disabled = 1, f.may_use_restricted = false;
	assert_non_null(strstr(shmfs_uring_why_not(&f),
			       "kernel.io_uring_disabled = 1"));
	f = ready, f.io_uring_disabled = 1;
	assert_null(shmfs_uring_why_not(&f));
	f = ready, f.setup_errno = ENOSYS;
	assert_string_equal(shmfs_uring_why_not(&f),
			    "the kernel has no io_uring");
	f = ready, f.setup_errno = EPERM;
	assert_non_null(strstr(shmfs_uring_why_not(&f), "not permitted"));
	f = ready, f.fuse_loaded = false;
	assert_non_null(strstr(shmfs_uring_why_not(&f), "not loaded"));
	f = ready, f.enable_uring = 0;
	assert_non_null(
		strstr(shmfs_uring_why_not(&f), "CONFIG_FUSE_IO_URING"));
	f = ready, f.enable_uring = 'N';
	assert_string_equal(shmfs_uring_why_not(&f),
			    "the fuse module's enable_uring is off (echo Y > "
			    "/sys/module/fuse/parameters/enable_uring, or "
			    "fuse.enable_uring=1)");
}

/* The kernel's age comes first: it decides what else can be asked. */
static void an_old_kernel_is_named_before_the_rest(void **s)
{
	struct shmfs_uring_facts f = {.major = 6, .minor = 1};

	(void)s;
	f.io_uring_disabled = 2;
	f.enable_uring = 0;
	assert_string_equal(shmfs_uring_why_not(&f),
			    "the kernel is older than 6.14");
}

/* The probe reads this machine; its answer agrees with enable_uring. */
static void the_probe_agrees_with_enable_uring(void **s)
{
	FILE *f = fopen("/sys/module/fuse/parameters/enable_uring", "re");
	const char *why = shmfs_uring_probe();
	int c = f ? fgetc(f) : EOF;

	(void)s;
	if (f)
		fclose(f);
	if (why != NULL)
		assert_true(strlen(why) > 0);
	if (c == 'N' && why != NULL && strstr(why, "older") == NULL &&
	    strstr(why, "io_uring_") == NULL &&
	    strstr(why, "no io_uring") == NULL)
		assert_non_null(strstr(why, "enable_uring is off"));
	if (c == 'N')
		assert_non_null(why);
}

/* ------------------------------------------------- the io_uring key */

static void io_uring_takes_auto_on_or_off_in_shmfs_only(void **s)
{
	static const struct {
		const char *text;
		int ret;
		enum shmfs_io_uring mode;
		const char *err;
	} cases[] = {
		{"[shmfs]\n", 0, SHMFS_IO_URING_AUTO, ""},
		{"[shmfs]\nio_uring = auto\n", 0, SHMFS_IO_URING_AUTO, ""},
		{"[shmfs]\nio_uring = on\n", 0, SHMFS_IO_URING_ON, ""},
		{"[shmfs]\nio_uring = off\n", 0, SHMFS_IO_URING_OFF, ""},
		{"[shmfs]\nio_uring = yes\n", -EINVAL, 0,
		 "t.ini:2: io_uring: \"yes\" is not auto, on or off"},
		{"[zone:x]\nsize = 1\nio_uring = on\n", -EINVAL, 0,
		 "t.ini:3: unknown key \"io_uring\" in [zone:x]"},
	};
	struct shmfs_config cfg;
	char err[256];

	(void)s;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		err[0] = '\0';
		assert_int_equal(shmfs_config_parse_string(cases[i].text,
							   "t.ini", &cfg, err,
							   sizeof(err)),
				 cases[i].ret);
		assert_string_equal(err, cases[i].err);
		if (cases[i].ret < 0)
			continue;
		assert_int_equal(cfg.io_uring, cases[i].mode);
		shmfs_config_free(&cfg);
	}
	assert_string_equal(shmfs_config_io_uring_name(SHMFS_IO_URING_OFF),
			    "off");
}

/* ------------------------------------------------------------ INIT */

/* An INIT request as the kernel sends it; flags2 as seen on 6.18. */
static size_t init_request(unsigned char *buf, uint32_t flags, uint32_t flags2)
{
	struct fuse_in_header in = {
		.len = sizeof(in) + sizeof(struct fuse_init_in),
		.opcode = FUSE_INIT,
		.unique = 2,
	};
	struct fuse_init_in init = {
		.major = 7,
		.minor = 45,
		.max_readahead = 128 << 10,
		.flags = flags,
		.flags2 = flags2,
	};

	memcpy(buf, &in, sizeof(in));
	memcpy(buf + sizeof(in), &init, sizeof(init));
	return in.len;
}

static void init_offers_rings_only_with_bit_9_of_flags2(void **s)
{
	unsigned char buf[256];
	size_t len;

	(void)s;
	/* enable_uring = N: flags2 0x5fd; Y: 0x7fd (NOTES-uring.md). */
	len = init_request(buf, FUSE_INIT_EXT | 0x3fffffff, 0x5fd);
	assert_non_null(shmfs_uring_init_no_uring(buf, len));
	len = init_request(buf, FUSE_INIT_EXT | 0x3fffffff, 0x7fd);
	assert_null(shmfs_uring_init_no_uring(buf, len));
	/* flags2 counts only with FUSE_INIT_EXT. */
	len = init_request(buf, 0x3fffffff, 0x7fd);
	assert_non_null(shmfs_uring_init_no_uring(buf, len));
	/* Too short to have flags2 (a protocol before 7.36). */
	assert_non_null(shmfs_uring_init_no_uring(
		buf, sizeof(struct fuse_in_header) + 16));
}

static void init_patch_asks_for_rings_and_nothing_else(void **s)
{
	unsigned char out[64], before[64];
	uint32_t flags, flags2;

	(void)s;
	for (size_t i = 0; i < sizeof(out); i++)
		out[i] = (unsigned char)(i * 7);
	memset(out + 32, 0, 4); /* flags2 0 */
	memcpy(before, out, sizeof(out));
	assert_int_equal(shmfs_uring_patch_init(out, sizeof(out)), 0);
	memcpy(&flags, out + 12, 4);
	memcpy(&flags2, out + 32, 4);
	assert_true(flags & FUSE_INIT_EXT);
	assert_int_equal(flags2, SHMFS_FUSE_OVER_IO_URING_FLAGS2);
	assert_int_equal(SHMFS_FUSE_OVER_IO_URING_FLAGS2, 0x200);
	assert_memory_equal(out, before, 12);
	assert_memory_equal(out + 16, before + 16, 16);
	assert_memory_equal(out + 36, before + 36, 28);
	assert_int_equal(shmfs_uring_patch_init(out, 35), -EINVAL);
}

static void payload_is_the_largest_of_8k_max_write_and_max_pages(void **s)
{
	(void)s;
	/* libfuse 3.14's defaults: max_write 1 MiB, max_pages 256. */
	assert_int_equal(shmfs_uring_payload_size(1 << 20, 256, 4096), 1 << 20);
	assert_int_equal(shmfs_uring_payload_size(4096, 1, 4096), 8192);
	assert_int_equal(shmfs_uring_payload_size(128 << 10, 512, 4096),
			 2 << 20);
}

/* ------------------------------------------------------------ SQEs */

static void register_sqe_names_the_queue_and_both_buffers(void **s)
{
	unsigned char sqe[SHMFS_URING_SQE128_SIZE];
	const struct io_uring_sqe *q = (const void *)sqe;
	struct shmfs_fuse_uring_cmd_req req;
	struct iovec iov[2] = {{NULL, 0}};

	(void)s;
	memset(sqe, 0xff, sizeof(sqe));
	shmfs_uring_prep_register(sqe, 9, 3, iov, 0x1234);
	assert_int_equal(q->opcode, IORING_OP_URING_CMD);
	assert_int_equal(q->fd, 9);
	assert_int_equal(q->cmd_op, SHMFS_FUSE_IO_URING_CMD_REGISTER);
	assert_int_equal(q->cmd_op, 1);
	assert_ptr_equal((void *)(uintptr_t)q->addr, iov);
	assert_int_equal(q->len, 2);
	assert_int_equal(q->user_data, 0x1234);
	assert_int_equal(q->flags, 0);
	memcpy(&req, sqe + 48, sizeof(req));
	assert_int_equal(req.qid, 3);
	assert_int_equal(req.commit_id, 0);
	assert_int_equal(req.flags, 0);
	/* The rest of the command area is zero. */
	for (size_t i = 48 + sizeof(req); i < sizeof(sqe); i++)
		assert_int_equal(sqe[i], 0);
}

static void commit_sqe_names_the_request(void **s)
{
	unsigned char sqe[SHMFS_URING_SQE128_SIZE];
	const struct io_uring_sqe *q = (const void *)sqe;
	struct shmfs_fuse_uring_cmd_req req;

	(void)s;
	memset(sqe, 0xff, sizeof(sqe));
	shmfs_uring_prep_commit(sqe, 5, 1, 77, 99);
	assert_int_equal(q->opcode, IORING_OP_URING_CMD);
	assert_int_equal(q->fd, 5);
	assert_int_equal(q->cmd_op, 2);
	assert_int_equal(q->addr, 0);
	assert_int_equal(q->len, 0);
	assert_int_equal(q->user_data, 99);
	memcpy(&req, sqe + 48, sizeof(req));
	assert_int_equal(req.commit_id, 77);
	assert_int_equal(req.qid, 1);
}

/* ---------------------------------------------------- a ring entry */

/*
 * A header buffer as fuse_uring_copy_to_ring fills it: the in header in
 * in_out, the first argument (arg0 bytes) in op_in, the commit id and the
 * payload's size after them.
 */
static void request(struct shmfs_fuse_uring_req_header *h, uint32_t opcode,
		    uint64_t unique, const void *arg0, uint32_t arg0_size,
		    uint32_t payload_sz)
{
	struct fuse_in_header in = {
		.len = (uint32_t)sizeof(in) + arg0_size + payload_sz,
		.opcode = opcode,
		.unique = unique,
		.nodeid = 5,
	};

	memset(h, 0, sizeof(*h));
	memcpy(h->in_out, &in, sizeof(in));
	if (arg0_size)
		memcpy(h->op_in, arg0, arg0_size);
	h->ring_ent_in_out.commit_id = unique;
	h->ring_ent_in_out.payload_sz = payload_sz;
}

static void read_write_and_lookup_are_read_back(void **s)
{
	struct shmfs_fuse_uring_req_header h;
	struct fuse_read_in rd = {.size = 4096};
	struct fuse_write_in wr = {.size = 4096};
	struct shmfs_uring_req r;

	(void)s;
	request(&h, FUSE_READ, 42, &rd, sizeof(rd), 0);
	assert_int_equal(shmfs_uring_parse(&h, 1 << 20, &r), 0);
	assert_int_equal(r.opcode, FUSE_READ);
	assert_int_equal(r.unique, 42);
	assert_int_equal(r.nodeid, 5);
	assert_int_equal(r.arg0_size, sizeof(rd));
	assert_int_equal(r.payload_sz, 0);
	request(&h, FUSE_WRITE, 43, &wr, sizeof(wr), 4096);
	assert_int_equal(shmfs_uring_parse(&h, 1 << 20, &r), 0);
	assert_int_equal(r.arg0_size, sizeof(wr));
	assert_int_equal(r.payload_sz, 4096);
	assert_int_equal(r.len, 40 + 40 + 4096);
	/* LOOKUP's first argument is empty; its name is the payload. */
	request(&h, FUSE_LOOKUP, 44, NULL, 0, 6);
	assert_int_equal(shmfs_uring_parse(&h, 1 << 20, &r), 0);
	assert_int_equal(r.arg0_size, 0);
	assert_int_equal(r.payload_sz, 6);
}

static void a_header_that_cannot_be_the_kernels_is_refused(void **s)
{
	struct shmfs_fuse_uring_req_header h;
	struct fuse_read_in rd = {.size = 4096};
	struct fuse_in_header in;
	struct shmfs_uring_req r;

	(void)s;
	request(&h, FUSE_READ, 0, &rd, sizeof(rd), 0);
	assert_int_equal(shmfs_uring_parse(&h, 8192, &r), -EPROTO);
	request(&h, FUSE_READ, 42, &rd, sizeof(rd), 0);
	h.ring_ent_in_out.commit_id = 41;
	assert_int_equal(shmfs_uring_parse(&h, 8192, &r), -EPROTO);
	request(&h, FUSE_WRITE, 42, &rd, sizeof(rd), 8193);
	assert_int_equal(shmfs_uring_parse(&h, 8192, &r), -EPROTO);
	/* A first argument larger than op_in. */
	request(&h, FUSE_READ, 42, NULL, 0, 0);
	memcpy(&in, h.in_out, sizeof(in));
	in.len = 40 + 129;
	memcpy(h.in_out, &in, sizeof(in));
	assert_int_equal(shmfs_uring_parse(&h, 8192, &r), -EPROTO);
	/* A length shorter than the payload, or than the header. */
	request(&h, FUSE_WRITE, 42, NULL, 0, 100);
	in.len = 40 + 99;
	memcpy(h.in_out, &in, sizeof(in));
	assert_int_equal(shmfs_uring_parse(&h, 8192, &r), -EPROTO);
	in.len = 39;
	memcpy(h.in_out, &in, sizeof(in));
	assert_int_equal(shmfs_uring_parse(&h, 8192, &r), -EPROTO);
}

static void an_error_reply_is_a_bare_out_header(void **s)
{
	struct shmfs_fuse_uring_req_header h;
	struct fuse_out_header out;

	(void)s;
	request(&h, FUSE_WRITE, 42, NULL, 0, 100);
	shmfs_uring_error_reply(&h, 42, EIO);
	memcpy(&out, h.in_out, sizeof(out));
	assert_int_equal(out.len, sizeof(out));
	assert_int_equal(out.error, -EIO);
	assert_int_equal(out.unique, 42);
	assert_int_equal(h.ring_ent_in_out.payload_sz, 0);
}

/* ------------------------------------------------------ recovery */

static enum shmfs_uring_action
decide(const struct shmfs_fuse_uring_req_header *h, uint32_t state,
       uint64_t unique, uint32_t deaths, uint32_t *now)
{
	struct shmfs_uring_record rec = {
		.state = state,
		.deaths = deaths,
		.unique = unique,
	};
	uint32_t ignored;

	return shmfs_uring_recovery(h, &rec, now ? now : &ignored);
}

static void each_slot_state_has_its_action(void **s)
{
	struct shmfs_fuse_uring_req_header h;
	struct fuse_read_in rd = {.size = 4096};
	struct fuse_write_in wr = {.size = 4096};

	(void)s;
	memset(&h, 0, sizeof(h));
	assert_int_equal(decide(&h, SHMFS_URING_FREE, 0, 0, NULL),
			 SHMFS_URING_NOTHING);
	/* Armed, nothing came: the exit's cancel pass took the entry. */
	assert_int_equal(decide(&h, SHMFS_URING_ARMED, 0, 0, NULL),
			 SHMFS_URING_RELEASE);
	/* Delivered while the worker died: it never saw it. */
	request(&h, FUSE_WRITE, 50, &wr, sizeof(wr), 4096);
	assert_int_equal(decide(&h, SHMFS_URING_ARMED, 0, 0, NULL),
			 SHMFS_URING_SERVE);
	/* Committed, and the next request came in on the same entry. */
	assert_int_equal(decide(&h, SHMFS_URING_COMMITTING, 49, 0, NULL),
			 SHMFS_URING_SERVE);
	/* Being served: a write is done again (the robust lock), so is a
	 * read; a setattr is failed. */
	assert_int_equal(decide(&h, SHMFS_URING_SERVING, 50, 0, NULL),
			 SHMFS_URING_REPLAY);
	request(&h, FUSE_SETATTR, 50, &wr, sizeof(wr), 0);
	assert_int_equal(decide(&h, SHMFS_URING_SERVING, 50, 0, NULL),
			 SHMFS_URING_FAIL);
	request(&h, FUSE_READ, 51, &rd, sizeof(rd), 0);
	assert_int_equal(decide(&h, SHMFS_URING_SERVING, 51, 0, NULL),
			 SHMFS_URING_REPLAY);
	/* The reply half written: the request is lost. */
	assert_int_equal(decide(&h, SHMFS_URING_REPLYING, 51, 0, NULL),
			 SHMFS_URING_FAIL);
	/* The reply written over the request: the same unique at byte 8. */
	shmfs_uring_error_reply(&h, 51, EIO);
	assert_int_equal(decide(&h, SHMFS_URING_COMMITTING, 51, 0, NULL),
			 SHMFS_URING_RECOMMIT);
	/* Its commit went through, no request since: cancelled with it. */
	assert_int_equal(decide(&h, SHMFS_URING_ARMED, 51, 0, NULL),
			 SHMFS_URING_RELEASE);
	/* A freed slot is nobody's, whatever its buffer still says. */
	assert_int_equal(decide(&h, SHMFS_URING_FREE, 7, 0, NULL),
			 SHMFS_URING_NOTHING);
}

/*
 * Headers the kernel wrote (uring_captured.h): each parses into the
 * request it was, and what a replacement does with it follows from its
 * opcode and the slot's state.
 */
static void captured_headers_parse_and_decide(void **s)
{
	static const struct {
		const uint8_t *bytes;
		uint32_t opcode, len, arg0, payload;
		uint64_t unique;
		enum shmfs_uring_action serving;
	} cap[] = {
		{captured_getattr, FUSE_GETATTR, 56, 16, 0, 4,
		 SHMFS_URING_REPLAY},
		{captured_lookup, FUSE_LOOKUP, 42, 0, 2, 6, SHMFS_URING_REPLAY},
		{captured_open, FUSE_OPEN, 48, 8, 0, 8,
		 SHMFS_URING_FAIL}, /* O_TRUNC */
		{captured_getxattr, FUSE_GETXATTR, 68, 8, 20, 10,
		 SHMFS_URING_FAIL},
		{captured_flush, FUSE_FLUSH, 64, 24, 0, 12, SHMFS_URING_FAIL},
		{captured_write, FUSE_WRITE, 86, 40, 6, 14, SHMFS_URING_REPLAY},
	};
	struct shmfs_fuse_uring_req_header h;
	struct shmfs_uring_req req;

	(void)s;
	for (size_t i = 0; i < sizeof(cap) / sizeof(*cap); i++) {
		memcpy(&h, cap[i].bytes, sizeof(h));
		assert_int_equal(shmfs_uring_parse(&h, 1 << 20, &req), 0);
		assert_int_equal(req.opcode, cap[i].opcode);
		assert_int_equal(req.len, cap[i].len);
		assert_int_equal(req.arg0_size, cap[i].arg0);
		assert_int_equal(req.payload_sz, cap[i].payload);
		assert_int_equal(req.unique, cap[i].unique);
		/* A payload larger than the buffer cannot be the kernel's. */
		if (cap[i].payload > 0)
			assert_int_equal(
				shmfs_uring_parse(&h, cap[i].payload - 1, &req),
				-EPROTO);
		/* Delivered, never seen; being served; served already. */
		assert_int_equal(decide(&h, SHMFS_URING_ARMED, 0, 0, NULL),
				 SHMFS_URING_SERVE);
		assert_int_equal(
			decide(&h, SHMFS_URING_SERVING, cap[i].unique, 0, NULL),
			cap[i].serving);
		assert_int_equal(
			decide(&h, SHMFS_URING_SERVING, cap[i].unique, 1, NULL),
			SHMFS_URING_FAIL);
	}
	/* The payloads are the names and the data the requests carried. */
	assert_memory_equal(captured_lookup_payload, "d", 2);
	assert_memory_equal(captured_getxattr_payload, "security.capability",
			    20);
	assert_memory_equal(captured_write_payload, "hello\n", 6);
}

static void a_request_that_killed_two_workers_is_failed(void **s)
{
	struct shmfs_fuse_uring_req_header h;
	struct fuse_read_in rd = {.size = 4096};
	uint32_t deaths;

	(void)s;
	request(&h, FUSE_READ, 60, &rd, sizeof(rd), 0);
	assert_int_equal(decide(&h, SHMFS_URING_SERVING, 60, 0, &deaths),
			 SHMFS_URING_REPLAY);
	assert_int_equal(deaths, 1);
	/* The replacement recorded the death, and died serving it too. */
	assert_int_equal(decide(&h, SHMFS_URING_SERVING, 60, deaths, &deaths),
			 SHMFS_URING_FAIL);
	assert_int_equal(deaths, SHMFS_URING_POISON);
}

static void only_requests_safe_to_do_twice_are_replayed(void **s)
{
	static const struct {
		uint32_t opcode;
		bool replayed;
	} ops[] = {
		{FUSE_READ, true},	 {FUSE_GETATTR, true},
		{FUSE_LOOKUP, true},	 {FUSE_STATFS, true},
		{FUSE_OPEN, true},	 {FUSE_WRITE, true},
		{FUSE_SETATTR, false},	 {FUSE_CREATE, false},
		{FUSE_UNLINK, false},	 {FUSE_RELEASE, false},
		{FUSE_FALLOCATE, false}, {FUSE_FSYNC, false},
	};
	struct shmfs_fuse_uring_req_header h;
	struct fuse_open_in open = {.flags = O_RDWR};

	(void)s;
	for (size_t i = 0; i < sizeof(ops) / sizeof(*ops); i++) {
		request(&h, ops[i].opcode, 70, &open, sizeof(open), 0);
		assert_int_equal(shmfs_uring_replayable(&h), ops[i].replayed);
	}
	/* A truncation done twice would undo writes made in between. */
	open.flags = O_RDWR | O_TRUNC;
	request(&h, FUSE_OPEN, 71, &open, sizeof(open), 0);
	assert_false(shmfs_uring_replayable(&h));
	assert_int_equal(decide(&h, SHMFS_URING_SERVING, 71, 0, NULL),
			 SHMFS_URING_FAIL);
	assert_string_equal(shmfs_uring_action_name(SHMFS_URING_REPLAY),
			    "replay");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(each_fact_in_the_way_is_named),
		cmocka_unit_test(an_old_kernel_is_named_before_the_rest),
		cmocka_unit_test(the_probe_agrees_with_enable_uring),
		cmocka_unit_test(io_uring_takes_auto_on_or_off_in_shmfs_only),
		cmocka_unit_test(init_offers_rings_only_with_bit_9_of_flags2),
		cmocka_unit_test(init_patch_asks_for_rings_and_nothing_else),
		cmocka_unit_test(
			payload_is_the_largest_of_8k_max_write_and_max_pages),
		cmocka_unit_test(register_sqe_names_the_queue_and_both_buffers),
		cmocka_unit_test(commit_sqe_names_the_request),
		cmocka_unit_test(read_write_and_lookup_are_read_back),
		cmocka_unit_test(
			a_header_that_cannot_be_the_kernels_is_refused),
		cmocka_unit_test(an_error_reply_is_a_bare_out_header),
		cmocka_unit_test(each_slot_state_has_its_action),
		cmocka_unit_test(captured_headers_parse_and_decide),
		cmocka_unit_test(a_request_that_killed_two_workers_is_failed),
		cmocka_unit_test(only_requests_safe_to_do_twice_are_replayed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

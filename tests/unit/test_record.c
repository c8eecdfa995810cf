/* SPDX-License-Identifier: MIT */
/*
 * The state record: what is written is read back field for field, the
 * memfd cannot be changed after, every kind of damage is refused with a
 * reason fit for the log, and a process's start time tells a live
 * process from a dead one.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "shmfs/record.h"

static const char config_text[] = "[shmfs]\nworkers = 2\n\n"
				  "[zone:a]\nsize = 1M\n";

static void fill(struct shmfs_record *h, struct shmfs_record_zone z[2])
{
	memset(h, 0, sizeof(*h));
	h->generation = 3;
	h->restarts = 1;
	h->upgrades = 1;
	h->stats_epoch = 7;
	h->region_size = 1 << 20;
	h->stats_size = 1 << 16;
	h->master = (int32_t)getpid();
	h->master_start = 12345;
	h->init_in_len = 104;
	h->init_out_len = 64;
	for (int i = 0; i < 104; i++)
		h->init_in[i] = (uint8_t)i;
	for (int i = 0; i < 64; i++)
		h->init_out[i] = (uint8_t)(255 - i);
	snprintf(h->mountpoint, sizeof(h->mountpoint), "/mnt/shm");
	snprintf(h->fuse_opts, sizeof(h->fuse_opts),
		 "-o\nallow_other,default_permissions\n-o\nmax_read=131072");
	h->nzones = 2;
	memset(z, 0, 2 * sizeof(*z));
	snprintf(z[0].name, sizeof(z[0].name), "a");
	snprintf(z[0].fdname, sizeof(z[0].fdname), "zone.2");
	z[0].ino = 2;
	z[0].size = 1 << 20;
	z[0].backend = SHMFS_BACKEND_MEMFD;
	z[0].cache = SHMFS_CACHE_PASSTHROUGH;
	z[0].backing_id = 1;
	z[0].sysv_id = -1;
	z[0].created = 1;
	snprintf(z[1].name, sizeof(z[1].name), "shared.obj");
	z[1].ino = 3;
	z[1].size = 4096;
	z[1].backend = SHMFS_BACKEND_POSIX;
	z[1].sysv_id = -1;
	z[1].created = 1;
	z[1].keep = 1;
}

static void a_record_reads_back_as_it_was_written(void **s)
{
	struct shmfs_record h, back;
	struct shmfs_record_zone z[2], *zones;
	const char *why = NULL;
	char *config;
	int fd;

	(void)s;
	fill(&h, z);
	assert_int_equal(shmfs_record_write(&h, z, config_text, &fd), 0);
	assert_int_equal(fcntl(fd, F_GETFD), FD_CLOEXEC);
	assert_int_equal(shmfs_record_read(fd, &back, &zones, &config, &why),
			 0);
	/* the writer's own fields */
	assert_memory_equal(back.magic, "shmfsrec", 8);
	assert_int_equal(back.version, SHMFS_RECORD_VERSION);
	assert_int_equal(back.config_len, strlen(config_text));
	memcpy(h.magic, back.magic, sizeof(h.magic));
	h.version = back.version;
	h.layout = back.layout;
	h.config_len = back.config_len;
	/* and every other byte, as given */
	assert_memory_equal(&back, &h, sizeof(h));
	assert_memory_equal(zones, z, sizeof(z));
	assert_string_equal(config, config_text);
	free(zones);
	free(config);
	close(fd);

	/* no zones and no configuration is a record too */
	h.nzones = 0;
	assert_int_equal(shmfs_record_write(&h, NULL, NULL, &fd), 0);
	assert_int_equal(shmfs_record_read(fd, &back, &zones, &config, &why),
			 0);
	assert_int_equal(back.nzones, 0);
	assert_string_equal(config, "");
	free(zones);
	free(config);
	close(fd);
}

static void the_record_is_sealed(void **s)
{
	struct shmfs_record h;
	struct shmfs_record_zone z[2];
	int fd;

	(void)s;
	fill(&h, z);
	assert_int_equal(shmfs_record_write(&h, z, config_text, &fd), 0);
	assert_int_equal(pwrite(fd, "x", 1, 0), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(ftruncate(fd, 100), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE), -1);
	assert_int_equal(errno, EPERM);
	assert_ptr_equal(mmap(NULL, 4096, PROT_WRITE, MAP_SHARED, fd, 0),
			 MAP_FAILED);
	close(fd);

	h.init_in_len = SHMFS_RECORD_INIT_MAX + 1;
	assert_int_equal(shmfs_record_write(&h, z, config_text, &fd), -EINVAL);
}

/*
 * Writes bytes into a new sealed memfd, as a damaged or foreign record
 * would come back from a store, and returns what reading it says.
 */
static const char *read_damaged(const void *bytes, size_t len, int res)
{
	int fd = memfd_create("damaged", MFD_ALLOW_SEALING | MFD_CLOEXEC);
	struct shmfs_record back;
	struct shmfs_record_zone *zones;
	const char *why = NULL;
	char *config;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, bytes, len), (ssize_t)len);
	assert_int_equal(
		fcntl(fd, F_ADD_SEALS,
		      F_SEAL_SEAL | F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK),
		0);
	assert_int_equal(shmfs_record_read(fd, &back, &zones, &config, &why),
			 res);
	assert_null(zones);
	assert_null(config);
	assert_non_null(why);
	close(fd);
	return why;
}

/* A good record's bytes, malloc'd, and their length. */
static unsigned char *good_bytes(size_t *len)
{
	struct shmfs_record h;
	struct shmfs_record_zone z[2];
	unsigned char *buf;
	struct stat st;
	int fd;

	fill(&h, z);
	assert_int_equal(shmfs_record_write(&h, z, config_text, &fd), 0);
	assert_int_equal(fstat(fd, &st), 0);
	*len = (size_t)st.st_size;
	buf = malloc(*len);
	assert_non_null(buf);
	assert_int_equal(pread(fd, buf, *len, 0), (ssize_t)*len);
	close(fd);
	return buf;
}

static void damage_is_refused_with_a_reason(void **s)
{
	size_t len;
	unsigned char *good = good_bytes(&len), *b = malloc(len);
	struct shmfs_record *h = (struct shmfs_record *)b;
	struct shmfs_record_zone *z = (struct shmfs_record_zone *)(h + 1);
	const char *why;
	char want[128];

	(void)s;
	assert_non_null(b);
	assert_string_equal(read_damaged(good, 100, -EPROTO),
			    "truncated: 100 bytes");
	/* a header, but zones or configuration cut off */
	why = read_damaged(good, len - 1, -EPROTO);
	snprintf(want, sizeof(want),
		 "2 zones and %zu bytes of configuration in a file of %zu "
		 "bytes",
		 strlen(config_text), len - 1);
	assert_string_equal(why, want);

	memcpy(b, good, len);
	b[0] = 'S';
	assert_string_equal(read_damaged(b, len, -EPROTO),
			    "not a state record (bad magic)");
	memcpy(b, good, len);
	h->version = 2;
	assert_string_equal(read_damaged(b, len, -EPROTO),
			    "a record of version 2");
	memcpy(b, good, len);
	h->layout ^= 1;
	assert_string_equal(read_damaged(b, len, -EPROTO),
			    "layout differs: another build");
	memcpy(b, good, len);
	h->init_out_len = SHMFS_RECORD_INIT_MAX + 1;
	assert_string_equal(read_damaged(b, len, -EPROTO),
			    "a recorded INIT longer than its field");
	memcpy(b, good, len);
	memset(h->mountpoint, 'm', sizeof(h->mountpoint));
	assert_string_equal(read_damaged(b, len, -EPROTO),
			    "an unterminated string in the header");
	memcpy(b, good, len);
	memset(z[1].fdname, 'f', sizeof(z[1].fdname));
	assert_string_equal(read_damaged(b, len, -EPROTO),
			    "an unterminated string in a zone");
	memcpy(b, good, len);
	h->nzones = 1000;
	snprintf(want, sizeof(want),
		 "1000 zones and %zu bytes of configuration in a file of %zu "
		 "bytes",
		 strlen(config_text), len);
	assert_string_equal(read_damaged(b, len, -EPROTO), want);
	memcpy(b, good, len);
	h->nzones = UINT32_MAX; /* no overflow into a "fitting" size */
	read_damaged(b, len, -EPROTO);
	memcpy(b, good, len);
	b[len - 5] = '\0';
	assert_string_equal(read_damaged(b, len, -EPROTO),
			    "a NUL inside the configuration");
	free(good);
	free(b);
}

static void an_unsealed_file_is_not_a_record(void **s)
{
	size_t len;
	unsigned char *good = good_bytes(&len);
	int fd = memfd_create("unsealed", MFD_CLOEXEC);
	struct shmfs_record back;
	struct shmfs_record_zone *zones;
	const char *why;
	char *config;

	(void)s;
	assert_int_equal(write(fd, good, len), (ssize_t)len);
	assert_int_equal(shmfs_record_read(fd, &back, &zones, &config, &why),
			 -EPROTO);
	assert_string_equal(why, "not sealed");
	close(fd);
	free(good);
}

static void start_times_tell_the_living_from_the_dead(void **s)
{
	uint64_t self = shmfs_record_start_time(getpid());
	pid_t child;
	uint64_t child_start;
	int pipefd[2], status;
	char c;

	(void)s;
	assert_true(self != 0);
	assert_true(shmfs_record_alive(getpid(), self));
	assert_false(shmfs_record_alive(getpid(), self + 1));
	assert_false(shmfs_record_alive(getpid(), 0));
	assert_int_equal(shmfs_record_start_time(0), 0);
	assert_int_equal(shmfs_record_start_time(-1), 0);

	assert_int_equal(pipe(pipefd), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		close(pipefd[1]);
		(void)!read(pipefd[0], &c, 1); /* until the parent closes */
		close(pipefd[0]);
		_exit(0);
	}
	close(pipefd[0]);
	child_start = shmfs_record_start_time(child);
	assert_true(child_start >= self);
	assert_true(shmfs_record_alive(child, child_start));
	close(pipefd[1]);
	/* a zombie holds no descriptor: it is gone already */
	for (int ms = 0; shmfs_record_start_time(child) != 0; ms++) {
		assert_true(ms < 10000); /* the child exits at once */
		usleep(1000);
	}
	assert_false(shmfs_record_alive(child, child_start));
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_false(shmfs_record_alive(child, child_start));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_record_reads_back_as_it_was_written),
		cmocka_unit_test(the_record_is_sealed),
		cmocka_unit_test(damage_is_refused_with_a_reason),
		cmocka_unit_test(an_unsealed_file_is_not_a_record),
		cmocka_unit_test(start_times_tell_the_living_from_the_dead),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

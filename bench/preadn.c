/* SPDX-License-Identifier: MIT */
/*
 * preadn: open PATH read-only, do exactly N preads of BS bytes at random
 * BS-aligned offsets below LENGTH, close. The offsets come from a fixed-seed
 * xorshift64, so every run issues the same sequence. Every pread must return
 * exactly BS bytes, otherwise it stops with an error (exit 1). N may be 0:
 * then it only opens and closes the file (the baseline of bench/callgrind.sh).
 * Prints "N ELAPSED_S".
 *
 *   preadn PATH N BS LENGTH
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: %s PATH N BS LENGTH\n", argv[0]);
		return 2;
	}
	const char *path = argv[1];
	long n = atol(argv[2]);
	long bs = atol(argv[3]);
	long long length = atoll(argv[4]);
	static char buf[1 << 20];
	if (n < 0 || bs <= 0 || bs > (long)sizeof(buf) || length < bs) {
		fprintf(stderr, "preadn: bad arguments\n");
		return 2;
	}
	uint64_t blocks = (uint64_t)(length / bs);
	uint64_t x = 0x9e3779b97f4a7c15ULL; /* fixed seed */

	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		fprintf(stderr, "preadn: open(%s): %s\n", path,
			strerror(errno));
		return 1;
	}
	double t0 = now();
	for (long i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		off_t off = (off_t)(x % blocks) * bs;
		ssize_t r = pread(fd, buf, bs, off);
		if (r != bs) {
			fprintf(stderr,
				"preadn: pread(%s, %ld, %lld) returned %zd "
				"(%s)\n",
				path, bs, (long long)off, r,
				r < 0 ? strerror(errno) : "short");
			return 1;
		}
	}
	double el = now() - t0;
	if (close(fd) != 0) {
		fprintf(stderr, "preadn: close(%s): %s\n", path,
			strerror(errno));
		return 1;
	}
	printf("%ld %.3f\n", n, el);
	return 0;
}

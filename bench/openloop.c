/* SPDX-License-Identifier: MIT */
/*
 * openloop: open + read + close one small file in a loop for SECONDS seconds
 * and print "OPS ITERATIONS ELAPSED_S". Every read must return exactly
 * EXPECT bytes, otherwise it stops with an error (exit 1).
 *
 *   openloop PATH SECONDS EXPECT
 */
#include <errno.h>
#include <fcntl.h>
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
	if (argc != 4) {
		fprintf(stderr, "usage: %s PATH SECONDS EXPECT\n", argv[0]);
		return 2;
	}
	const char *path = argv[1];
	double secs = atof(argv[2]);
	long expect = atol(argv[3]);
	static char buf[65536];
	if (expect <= 0 || expect > (long)sizeof(buf)) {
		fprintf(stderr, "openloop: bad EXPECT\n");
		return 2;
	}
	unsigned long n = 0;
	double t0 = now(), t = t0;
	while (t - t0 < secs) {
		/* check the clock every 64 iterations */
		for (int k = 0; k < 64; k++) {
			int fd = open(path, O_RDONLY);
			if (fd < 0) {
				fprintf(stderr, "openloop: open(%s): %s\n",
					path, strerror(errno));
				return 1;
			}
			ssize_t r = read(fd, buf, sizeof(buf));
			if (r != expect) {
				fprintf(stderr,
					"openloop: read(%s) returned %zd (%s), "
					"expected %ld\n",
					path, r, r < 0 ? strerror(errno) : "ok",
					expect);
				return 1;
			}
			if (close(fd) != 0) {
				fprintf(stderr, "openloop: close(%s): %s\n",
					path, strerror(errno));
				return 1;
			}
			n++;
		}
		t = now();
	}
	double el = t - t0;
	printf("%.1f %lu %.3f\n", (double)n / el, n, el);
	return 0;
}

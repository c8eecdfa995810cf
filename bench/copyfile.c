/* SPDX-License-Identifier: MIT */
/*
 * copyfile cfr|rw SRC DST BYTES: copies BYTES from SRC to DST (both exist,
 * DST truncated first) with copy_file_range(2) in one loop (cfr), or with a
 * read/write loop of 128 KiB (rw: what cp does without copy_file_range),
 * and prints the seconds it took.
 */
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
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static char buf[128 << 10];
	size_t left;
	double t;
	int in, out;

	if (argc != 5) {
		fprintf(stderr, "usage: copyfile cfr|rw SRC DST BYTES\n");
		return 2;
	}
	left = strtoull(argv[4], NULL, 0);
	in = open(argv[2], O_RDONLY);
	out = open(argv[3], O_WRONLY | O_TRUNC);
	if (in < 0 || out < 0) {
		perror("open");
		return 1;
	}
	t = now();
	while (left > 0) {
		ssize_t n;

		if (strcmp(argv[1], "cfr") == 0) {
			n = copy_file_range(in, NULL, out, NULL, left, 0);
		} else {
			n = read(in, buf,
				 left < sizeof(buf) ? left : sizeof(buf));
			if (n > 0 && write(out, buf, n) != n)
				n = -1;
		}
		if (n <= 0) {
			perror(argv[1]);
			return 1;
		}
		left -= (size_t)n;
	}
	printf("%.6f\n", now() - t);
	return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * mmaptouch FILE BYTES: maps FILE shared and stores one byte in every page,
 * then prints the seconds it took (the cost of faulting the pages in).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct timespec a, b;
	long page = sysconf(_SC_PAGESIZE);

	if (argc != 3) {
		fprintf(stderr, "usage: mmaptouch FILE BYTES\n");
		return 2;
	}
	size_t len = strtoull(argv[2], NULL, 0);
	int fd = open(argv[1], O_RDWR);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	volatile char *p =
		mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	for (size_t off = 0; off < len; off += page)
		p[off] = 1;
	munmap((void *)p, len);
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%.6f\n", (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9);
	close(fd);
	return 0;
}

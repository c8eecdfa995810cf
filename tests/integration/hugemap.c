/* SPDX-License-Identifier: MIT */
/*
 * hugemap: a client of a zone file, as hugepages.sh needs one. It maps
 * the whole file shared, reads (or with "write", stores) one byte in
 * every 4 KiB page, and prints what its own mapping has in 2 MiB pages
 * and resident, from its /proc/self/smaps:
 *
 *   hugemap FILE [read|write]   ->   "PMD_BYTES RSS_BYTES ADDR_ALIGNED"
 *
 * ADDR_ALIGNED is 1 where the kernel placed the mapping at a 2 MiB
 * boundary. Exit status 0, or 1 with a message.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shmfs/huge.h"

int main(int argc, char **argv)
{
	bool write = argc > 2 && strcmp(argv[2], "write") == 0;
	uint64_t pmd, rss;
	volatile unsigned char sum = 0;
	struct stat st;
	unsigned char *p;
	int fd;

	if (argc < 2) {
		fprintf(stderr, "usage: hugemap FILE [read|write]\n");
		return 1;
	}
	fd = open(argv[1], O_RDWR);
	if (fd < 0 || fstat(fd, &st) < 0) {
		perror(argv[1]);
		return 1;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 fd, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	for (off_t off = 0; off < st.st_size; off += 4096) {
		if (write)
			p[off] = (unsigned char)(off >> 12);
		else
			sum += p[off];
	}
	if (shmfs_huge_measure(p, (size_t)st.st_size, &pmd, &rss) < 0) {
		perror("smaps");
		return 1;
	}
	printf("%" PRIu64 " %" PRIu64 " %d\n", pmd, rss,
	       ((uintptr_t)p % SHMFS_HUGE_SIZE == 0) + (sum & 0)); /* read */
	return 0;
}

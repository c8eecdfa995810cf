/* SPDX-License-Identifier: MIT */
/*
 * hugechase FILE BYTES [LOADS]: what a client's page size costs. Maps FILE
 * shared (BYTES of it) and measures, in one process:
 *   touch  seconds to store one byte in every 4 KiB page (first touch)
 *   chase  ns per dependent 8-byte load: a pointer chase through one
 *          random cycle of nodes spread over the whole mapping (at most
 *          16M nodes, each on its own cache line), LOADS loads
 *   store  ns per independent random 8-byte store, LOADS stores
 *   pmd    bytes of the mapping in 2 MiB pages afterwards (its smaps)
 * and prints "touch_s chase_ns store_ns pmd_bytes" on one line.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define NODES_MAX ((uint64_t)16 << 20)

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static uint64_t rnd_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* ShmemPmdMapped of the mapping at p, from /proc/self/smaps (bytes). */
static uint64_t pmd_bytes(const void *p)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	char line[512];
	unsigned long lo, hi, kb;
	char perms[5];
	int in = 0;
	uint64_t sum = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) == 3)
			in = lo == (uintptr_t)p;
		else if (in && sscanf(line, "ShmemPmdMapped: %lu kB", &kb) == 1)
			sum += (uint64_t)kb << 10;
	}
	fclose(f);
	return sum;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: hugechase FILE BYTES [LOADS]\n");
		return 2;
	}
	uint64_t bytes = strtoull(argv[2], NULL, 0);
	uint64_t loads = argc > 3 ? strtoull(argv[3], NULL, 0) : 5000000;
	uint64_t nodes = bytes / 64 < NODES_MAX ? bytes / 64 : NODES_MAX;
	uint64_t stride = bytes / nodes / 64 * 64;
	int fd = open(argv[1], O_RDWR);

	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	unsigned char *p =
		mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	double t0 = now();
	for (uint64_t off = 0; off < bytes; off += 4096)
		p[off] = 1;
	double touch = now() - t0;

	/* One random cycle through every node (Sattolo's shuffle). */
	uint32_t *order = malloc(nodes * sizeof(*order));
	if (order == NULL)
		return 1;
	for (uint64_t i = 0; i < nodes; i++)
		order[i] = (uint32_t)i;
	for (uint64_t i = nodes - 1; i > 0; i--) {
		uint64_t j = rnd() % i;
		uint32_t t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	for (uint64_t i = 0; i < nodes; i++) {
		uint64_t from = order[i], to = order[(i + 1) % nodes];
		*(uint64_t *)(p + from * stride) = to * stride;
	}
	free(order);

	uint64_t at = 0;
	t0 = now();
	for (uint64_t i = 0; i < loads; i++)
		at = *(volatile uint64_t *)(p + at);
	double chase = (now() - t0) * 1e9 / (double)loads;

	t0 = now();
	for (uint64_t i = 0; i < loads; i++)
		*(volatile uint64_t *)(p + (rnd() % (bytes / 8)) * 8) = i;
	double store = (now() - t0) * 1e9 / (double)loads;

	printf("%.3f %.1f %.1f %" PRIu64 "\n", touch, chase, store,
	       pmd_bytes(p) + (at & 0)); /* at: the chase is not dead code */
	return 0;
}

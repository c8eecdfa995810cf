/* SPDX-License-Identifier: MIT */
/*
 * backend = process: the pure parts of finding a running program's shared
 * mapping (a line of /proc/PID/maps, which mappings qualify, the name a
 * mapping carries, which one a zone picks), apart from the calls that
 * read them (shm_process.c), so that each can be tested alone.
 */
#ifndef SHMFS_PROCESS_H
#define SHMFS_PROCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * How far into each mapping match = is looked for, and a name: its first
 * MiB. nginx writes a zone's name into the zone's slab pool (" in
 * limit_req zone \"one\"", at offset 69,664 of a 10 MiB zone: past the
 * pool's page array, which grows with the zone); 1 MiB covers that page
 * array for zones of up to about 1.5 GiB, and reading it allocates
 * nothing (the holes of a shmem file read as zeros).
 */
#define SHMFS_PROCESS_SEARCH (1u << 20)

/* The most shared mappings of one process that are looked at. */
#define SHMFS_PROCESS_CANDIDATES_MAX 64

/* A name found in a mapping: at most this many bytes, NUL included. */
#define SHMFS_PROCESS_NAME_MAX 48

/* One line of /proc/PID/maps. path points into the line ("" for none). */
struct shmfs_maps_entry {
	uint64_t start, end, offset;
	char perms[5];
	unsigned long long inode;
	const char *path;
};

/*
 * Parses "START-END PERMS OFFSET DEV INODE [PATH]" (a trailing newline
 * is cut off the path, in line). Returns 0, or -EINVAL for anything else.
 */
int shmfs_process_parse_maps(char *line, struct shmfs_maps_entry *e);

/*
 * Whether a mapping is a program's anonymous shared memory, which a zone
 * may show: shared ('s') and of a shmem file nobody else can open by
 * name: "/dev/zero (deleted)" (mmap(MAP_ANON|MAP_SHARED), or of
 * /dev/zero), "/SYSV..." (shmat) or "/memfd:..." (memfd_create).
 */
bool shmfs_process_candidate(const struct shmfs_maps_entry *e);

/*
 * "START-END" in hexadecimal, as /proc/PID/maps writes it (with or
 * without 0x), START below END. Returns 0, or -EINVAL.
 */
int shmfs_process_parse_range(const char *s, uint64_t *start, uint64_t *end);

/*
 * The first name found in n bytes of a mapping, into out (len bytes, cut
 * short to fit): what an nginx zone calls itself (the NAME of
 * `zone "NAME"`), else the first run of at least 6 printable bytes
 * (letters, digits, punctuation, spaces). Returns whether there was one
 * (out is "" otherwise).
 */
bool shmfs_process_name(const unsigned char *buf, size_t n, char *out,
			size_t len);

/* One shared mapping of the process, as the selection sees it. */
struct shmfs_process_candidate {
	uint64_t start, end, offset;
	bool matched; /* match = is in its first SHMFS_PROCESS_SEARCH bytes */
	char name[SHMFS_PROCESS_NAME_MAX];
};

/* What a zone asks for; 0 / NULL for a selector not given. */
struct shmfs_process_want {
	const char *match;
	uint64_t size;
	uint64_t start, end;
};

/*
 * The one candidate of n that meets every selector given: its index, or
 * -ENOENT for none, -ENOTUNIQ for several (*count says how many met it).
 */
long shmfs_process_select(const struct shmfs_process_candidate *c, size_t n,
			  const struct shmfs_process_want *want, size_t *count);

/* "START-END SIZE bytes "NAME"" for the candidates an error lists. */
void shmfs_process_candidate_text(const struct shmfs_process_candidate *c,
				  char *buf, size_t len);

#endif /* SHMFS_PROCESS_H */

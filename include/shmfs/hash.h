/* SPDX-License-Identifier: MIT */
/*
 * The hash of zone names, shared by the config reader (duplicates) and the
 * zone table (lookups): FNV-1a, fine for short names that only the
 * administrator chooses.
 */
#ifndef SHMFS_HASH_H
#define SHMFS_HASH_H

#include <stddef.h>
#include <stdint.h>

static inline uint64_t shmfs_hash_name(const char *name, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)name[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

#endif /* SHMFS_HASH_H */

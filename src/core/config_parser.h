/* SPDX-License-Identifier: MIT */
/*
 * Private to config.c and config_reader.c: the state of one parse, shared
 * by inih's line reader (config_reader.c) and its key handler (config.c).
 */
#ifndef SHMFS_CONFIG_PARSER_H
#define SHMFS_CONFIG_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "shmfs/config.h"

enum key {
	KEY_WORKERS,
	KEY_BACKEND,
	KEY_MODE,
	KEY_UID,
	KEY_GID,
	KEY_LOG_LEVEL,
	KEY_LOG,
	KEY_SIZE,
	KEY_CACHE,
	KEY_CPU_AFFINITY,
	KEY_PID,
	KEY_USER,
	KEY_GROUP,
	KEY_NAME,
	KEY_KEY,
	KEY_PATH,
	KEY_ATTACH,
	KEY_KEEP,
	KEY_OBJECT_OWNER,
	KEY_COUNT
};

struct section {
	int line;		 /* of the header; 0 while [shmfs] is unseen */
	int key_line[KEY_COUNT]; /* 0: key not given */
};

struct parser {
	const char *text;
	size_t len;
	size_t pos;
	const char *file;
	int line;     /* of the line last handed to inih */
	bool pending; /* a key line went to inih, the handler has not seen it */
	uint64_t page;
	gid_t group; /* group =, applied once user = is known */
	struct section global;
	struct section *zones; /* parallel to cfg->zones */
	size_t cap;
	/* Zone names seen, by hash: index + 1, 0 empty; mask + 1 buckets. */
	uint32_t *names;
	size_t names_mask;
	struct shmfs_config *cfg;
	int ret; /* the first error; later ones would only be its echoes */
	char *err;
	size_t errlen;
};

/* Records the first error as "FILE:LINE: ..." (later ones are echoes). */
void shmfs_config_fail(struct parser *p, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Records running out of memory (-ENOMEM). */
void shmfs_config_fail_nomem(struct parser *p);

/*
 * inih's ini_reader: hands inih one line per call, a section header
 * rewritten to "[shmfs]" or "[INDEX]" of its zone, a blank or comment line
 * as "\n". Returns NULL at the end of the text or after the first error.
 */
char *shmfs_config_read_line(char *str, int num, void *stream);

#endif /* SHMFS_CONFIG_PARSER_H */

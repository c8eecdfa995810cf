/* SPDX-License-Identifier: MIT */
/*
 * Private to the configuration's files: the key table (config_keys.def,
 * made into a table by config_keys.c), the state of one parse, shared by
 * inih's line reader (config_reader.c), its key handler (config_keys.c)
 * and the checks that need the whole file (config_resolve.c).
 */
#ifndef SHMFS_CONFIG_PARSER_H
#define SHMFS_CONFIG_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "shmfs/config.h"

enum config_key_id {
#define KEY(id, ...) KEY_##id,
#include "config_keys.def"
#undef KEY
	KEY_COUNT
};

/* The two kinds of section: [shmfs] and [zone:NAME]. */
enum config_where { IN_GLOBAL, IN_ZONE };

/* Where a key is not: its field's offset in that section's record. */
#define NOWHERE SIZE_MAX

struct config_parser;

/* A column of "shmfs -t"; header NULL: the key has none. */
struct config_column {
	const char *header;
	int width; /* at least: the header's, or a wider value's */
	bool right;
	/* Writes the value of field (in a zone's record) for -t. */
	void (*show)(const void *field, const char *no_passthrough, char *buf,
		     size_t len);
};

/* One entry of config_keys.def: see there for what each member is. */
struct config_key {
	const char *name;
	/*
	 * The field's offset in [shmfs]'s record (struct shmfs_config) and
	 * in a zone's (struct shmfs_zone_config), by enum config_where;
	 * NOWHERE where the key is not. size: the field's, for a zone that
	 * takes [shmfs]'s value; 0 for a key of one section only.
	 */
	size_t at[2];
	size_t size;
	int (*parse)(struct config_parser *p, void *field, const char *value);
	const char *fallback; /* the default, as written */
	struct config_column column;
	const char *man;
	const char *invalid;
	const char *range;
};

extern const struct config_key shmfs_config_keys[KEY_COUNT];

struct config_section {
	int line;		 /* of the header; 0 while [shmfs] is unseen */
	int key_line[KEY_COUNT]; /* 0: key not given */
};

struct config_parser {
	const char *text;
	size_t len;
	size_t pos;
	const char *file;
	int line;     /* of the line last handed to inih */
	bool pending; /* a key line went to inih, the handler has not seen it */
	uint64_t page;
	enum config_key_id key; /* the one being parsed, for its messages */
	struct config_section global;
	struct config_section *zones; /* parallel to cfg->zones */
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
void shmfs_config_fail(struct config_parser *p, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Records running out of memory (-ENOMEM). */
void shmfs_config_fail_nomem(struct config_parser *p);

/*
 * inih's ini_reader: hands inih one line per call, a section header
 * rewritten to "[shmfs]" or "[INDEX]" of its zone, a blank or comment line
 * as "\n". Returns NULL at the end of the text or after the first error.
 */
char *shmfs_config_read_line(char *str, int num, void *stream);

/* inih's handler: one "name = value" line (see config_keys.c). */
int shmfs_config_handle(void *user, const char *section, const char *name,
			const char *value);

/* Parses key's default into record, that section's (enum config_where). */
void shmfs_config_set_default(struct config_parser *p, void *record,
			      enum config_where where, enum config_key_id key);

/*
 * After the last line: fills in what each zone takes from [shmfs] or from
 * the defaults, and checks what needs the whole file (config_resolve.c).
 */
void shmfs_config_resolve(struct config_parser *p);

#endif /* SHMFS_CONFIG_PARSER_H */

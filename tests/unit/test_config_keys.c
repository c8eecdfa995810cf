/* SPDX-License-Identifier: MIT */
/*
 * The key table itself (config_keys.def): every key is documented in
 * shmfs.ini(5) as the table writes its value, and every default the table
 * gives parses, so that the table is the one place a key is defined.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config_parser.h"

/* The whole man page, NUL-terminated. */
static char *read_man_page(void)
{
	FILE *f = fopen(SHMFS_MAN_INI, "re");
	char *text = NULL;
	size_t len = 0;

	assert_non_null(f);
	text = calloc(1, 1 << 20);
	assert_non_null(text);
	len = fread(text, 1, (1 << 20) - 1, f);
	assert_true(len > 0);
	fclose(f);
	return text;
}

static void every_key_is_in_the_man_page_as_the_table_writes_it(void **s)
{
	char *man = read_man_page();
	char line[256];

	(void)s;
	for (int key = 0; key < KEY_COUNT; key++) {
		snprintf(line, sizeof(line), "*%s =* %s",
			 shmfs_config_keys[key].name,
			 shmfs_config_keys[key].man);
		if (strstr(man, line) == NULL)
			fail_msg("%s does not have \"%s\"", SHMFS_MAN_INI,
				 line);
	}
	free(man);
}

/* A key given its own default reads as if it were left out. */
static void every_default_is_a_value_the_key_accepts(void **s)
{
	char text[512], err[512];
	struct shmfs_config cfg;

	(void)s;
	for (int key = 0; key < KEY_COUNT; key++) {
		const struct config_key *k = &shmfs_config_keys[key];

		if (!k->fallback)
			continue;
		snprintf(text, sizeof(text), "%s%s = %s\n%s",
			 k->at[IN_GLOBAL] != NOWHERE ? "[shmfs]\n"
						     : "[zone:z]\nsize = 4K\n",
			 k->name, k->fallback,
			 k->at[IN_GLOBAL] != NOWHERE ? ""
						     : "backend = posix\n");
		if (shmfs_config_parse_string(text, "t.ini", &cfg, err,
					      sizeof(err)) != 0)
			fail_msg("%s = %s: %s", k->name, k->fallback, err);
		shmfs_config_free(&cfg);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			every_key_is_in_the_man_page_as_the_table_writes_it),
		cmocka_unit_test(every_default_is_a_value_the_key_accepts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

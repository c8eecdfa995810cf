/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the configuration parser. Most are rows of one table, (ini
 * text, return value, exact message), each run as a test of its own name;
 * the rest check the parsed values, the file loader and the "shmfs -t" table.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>

#include "shmfs/config.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Debian's libinih reads lines into 200 bytes: 198, newline and NUL. */
#define LINE_MAX_BYTES 198

struct config_case {
	const char *name;
	const char *text;
	int ret;
	const char *err; /* NULL: no message */
};

#define ZONE_NAME_RULE                                                         \
	"(1..255 bytes of A-Z a-z 0-9 . _ -, not starting with '.')"
#define CONTINUATION                                                           \
	"line starts with whitespace (continuation lines are not supported)"

static const struct config_case cases[] = {
	/* What is accepted. */
	{"empty_file_is_valid_and_has_no_zones", "", 0, NULL},
	{"file_with_only_globals_is_valid", "; globals\n[shmfs]\nworkers = 2\n",
	 0, NULL},
	{"comment_after_a_section_header_is_allowed",
	 "[zone:a] ; the cache\nsize = 1\n[shmfs]\t# globals\n", 0, NULL},
	{"indented_section_header_is_allowed", "  [zone:a]\nsize = 1\n", 0,
	 NULL},
	{"indented_comments_and_blank_lines_are_allowed",
	 "[zone:a]\nsize = 1 ; one\n      ; more comment\n  \t\n\n", 0, NULL},
	{"crlf_line_ends_are_allowed", "[zone:a]\r\nsize = 1M\r\n\r\n", 0,
	 NULL},
	{"utf8_bom_is_skipped", "\xef\xbb\xbf[zone:a]\nsize = 1\n", 0, NULL},
	{"last_line_without_newline_is_read", "[zone:a]\nsize = 1", 0, NULL},
	{"zone_of_64t_is_accepted", "[zone:a]\nsize = 64T\n", 0, NULL},
	{"colon_separates_key_and_value_as_in_inih", "[zone:a]\nsize: 1\n", 0,
	 NULL},

	/* Sections. */
	{"unknown_section_is_refused", "[shmfs]\n\n[foo]\n", -EINVAL,
	 "t.ini:3: unknown section [foo]"},
	{"section_names_are_case_sensitive", "[Zone:a]\n", -EINVAL,
	 "t.ini:1: unknown section [Zone:a]"},
	{"shmfs_section_given_twice_is_refused",
	 "[shmfs]\n[zone:a]\nsize = 1\n[shmfs]\n", -EINVAL,
	 "t.ini:4: section [shmfs] already defined at line 1"},
	{"duplicate_zone_is_refused", "[zone:x]\nsize = 1\n\n[zone:x]\n",
	 -EINVAL, "t.ini:4: zone \"x\" already defined at line 1"},
	{"key_before_any_section_is_refused", "; hi\nsize = 1\n[zone:a]\n",
	 -EINVAL, "t.ini:2: key \"size\" is outside any section"},
	{"empty_zone_name_is_refused", "[zone:]\n", -EINVAL,
	 "t.ini:1: invalid zone name \"\" " ZONE_NAME_RULE},
	{"zone_name_starting_with_a_dot_is_refused", "[zone:.hidden]\n",
	 -EINVAL, "t.ini:1: invalid zone name \".hidden\" " ZONE_NAME_RULE},
	{"zone_name_with_a_slash_is_refused", "[zone:a/b]\n", -EINVAL,
	 "t.ini:1: invalid zone name \"a/b\" " ZONE_NAME_RULE},
	{"zone_name_with_a_space_is_refused", "[zone:a b]\n", -EINVAL,
	 "t.ini:1: invalid zone name \"a b\" " ZONE_NAME_RULE},
	{"zone_name_with_dots_dashes_and_underscores_is_accepted",
	 "[zone:A-z_0.9]\nsize = 1\n", 0, NULL},
	{"section_header_without_bracket_is_malformed", "[zone:x\nsize = 1\n",
	 -EINVAL, "t.ini:1: malformed section header"},
	{"section_header_followed_by_text_is_malformed", "[zone:x] size = 1\n",
	 -EINVAL, "t.ini:1: malformed section header"},

	/* Keys. */
	{"unknown_key_in_a_zone_is_refused", "[zone:x]\nsize = 1\nfoo = 1\n",
	 -EINVAL, "t.ini:3: unknown key \"foo\" in [zone:x]"},
	{"unknown_key_in_shmfs_is_refused", "[shmfs]\nsize = 1\n", -EINVAL,
	 "t.ini:2: unknown key \"size\" in [shmfs]"},
	{"global_only_key_in_a_zone_is_refused", "[zone:x]\nworkers = 2\n",
	 -EINVAL, "t.ini:2: unknown key \"workers\" in [zone:x]"},
	{"keys_are_case_sensitive", "[zone:x]\nSize = 1\n", -EINVAL,
	 "t.ini:2: unknown key \"Size\" in [zone:x]"},
	{"key_given_twice_is_refused",
	 "[zone:x]\nsize = 1\nmode = 0600\nsize = 2\n", -EINVAL,
	 "t.ini:4: key \"size\" given twice (first at line 2)"},
	{"empty_value_is_refused", "[zone:x]\nsize =\n", -EINVAL,
	 "t.ini:2: size: value is empty"},
	{"value_of_only_a_comment_is_empty", "[shmfs]\nmode = ; none\n",
	 -EINVAL, "t.ini:2: mode: value is empty"},

	/* Values. */
	{"bad_size_is_refused", "[zone:x]\n;\n;\n;\n;\n;\nsize = 12Q\n",
	 -EINVAL, "t.ini:7: size: \"12Q\" is not a size"},
	{"hash_after_a_value_is_not_a_comment", "[zone:x]\nsize = 1M # meg\n",
	 -EINVAL, "t.ini:2: size: \"1M # meg\" is not a size"},
	{"size_above_64t_is_refused", "[zone:x]\nsize = 99999T\n", -EINVAL,
	 "t.ini:2: size: \"99999T\" is too large (max 64T)"},
	{"size_zero_is_refused", "[zone:x]\nsize = 0\n", -EINVAL,
	 "t.ini:2: size: must be greater than 0"},
	{"missing_size_in_an_empty_zone_is_reported_at_its_header",
	 "[shmfs]\n\n[zone:x]\n\n[zone:y]\nsize = 1\n", -EINVAL,
	 "t.ini:3: [zone:x]: size is required"},
	{"missing_size_in_a_zone_with_keys_is_reported_at_its_header",
	 "[zone:y]\nsize = 1\n[zone:x]\nmode = 0600\n", -EINVAL,
	 "t.ini:3: [zone:x]: size is required"},
	{"zones_adding_up_past_64t_are_refused_at_the_zone_that_crosses",
	 "[zone:a]\nsize = 32T\n[zone:b]\nsize = 32T\n[zone:c]\nsize = 4K\n",
	 -EINVAL, "t.ini:6: size: total of all zones is too large (max 64T)"},
	{"non_octal_mode_is_refused", "[zone:x]\nsize = 1\nmode = 0999\n",
	 -EINVAL, "t.ini:3: mode: \"0999\" is not an octal mode"},
	{"setuid_mode_is_refused", "[zone:x]\nsize = 1\nmode = 04755\n",
	 -EINVAL,
	 "t.ini:3: mode: \"04755\" sets setuid or setgid: zone files hold "
	 "data, not programs"},
	{"setgid_default_mode_is_refused", "[shmfs]\nmode = 02770\n", -EINVAL,
	 "t.ini:2: mode: \"02770\" sets setuid or setgid: zone files hold "
	 "data, not programs"},
	{"sticky_mode_is_accepted", "[zone:x]\nsize = 1\nmode = 01666\n", 0,
	 NULL},
	{"mode_above_07777_is_refused", "[shmfs]\nmode = 10000\n", -EINVAL,
	 "t.ini:2: mode: \"10000\" is out of range (max 07777)"},
	{"zero_workers_is_refused", "[shmfs]\nworkers = 0\n", -EINVAL,
	 "t.ini:2: workers: \"0\" is out of range (1..256 or auto)"},
	{"workers_that_is_not_a_number_is_refused", "[shmfs]\nworkers = lots\n",
	 -EINVAL,
	 "t.ini:2: workers: \"lots\" is not a number (1..256 or auto)"},
	{"unknown_user_is_refused", "[shmfs]\nuid = nobodyx\n", -EINVAL,
	 "t.ini:2: uid: \"nobodyx\" is not a user"},
	{"uid_minus_one_is_refused", "[zone:x]\nsize = 1\nuid = 4294967295\n",
	 -EINVAL,
	 "t.ini:3: uid: \"4294967295\" is out of range (0..4294967294)"},
	{"unknown_group_is_refused", "[zone:x]\nsize = 1\ngid = nogroupx\n",
	 -EINVAL, "t.ini:3: gid: \"nogroupx\" is not a group"},
	{"relative_pid_file_is_refused", "[shmfs]\npid = shmfs.pid\n", -EINVAL,
	 "t.ini:2: pid: \"shmfs.pid\" is not an absolute path"},
	{"pid_file_is_not_a_zone_key", "[zone:a]\nsize = 1\npid = /x\n",
	 -EINVAL, "t.ini:3: unknown key \"pid\" in [zone:a]"},
	{"control_bytes_are_not_quoted_back", "[zone:a]\nsize = 1\x1b[2J\n",
	 -EINVAL, "t.ini:2: size: \"1?[2J\" is not a size"},
	{"unknown_cache_mode_is_refused", "[zone:x]\ncache = writeback\n",
	 -EINVAL,
	 "t.ini:2: cache: \"writeback\" is not a cache mode (page, direct, "
	 "passthrough)"},
	{"passthrough_zone_on_anon_is_refused_at_its_backend",
	 "[zone:x]\nsize = 1\nbackend = anon\ncache = passthrough\n", -EINVAL,
	 "t.ini:3: [zone:x]: cache = passthrough needs backend = memfd (only a "
	 "memfd can be sealed so that a write past the end cannot grow the "
	 "zone)"},
	{"passthrough_default_on_a_sysv_default_is_refused_at_the_backend",
	 "[shmfs]\nbackend = sysv\ncache = passthrough\n[zone:x]\nsize = 1\n",
	 -EINVAL,
	 "t.ini:2: [zone:x]: cache = passthrough needs backend = memfd (only a "
	 "memfd can be sealed so that a write past the end cannot grow the "
	 "zone)"},
	{"group_without_user_is_refused", "[shmfs]\ngroup = 0\n", -EINVAL,
	 "t.ini:2: group: needs user ="},
	{"numeric_user_without_passwd_entry_needs_a_group",
	 "[shmfs]\nuser = 4321\n", -EINVAL,
	 "t.ini:2: user: uid 4321 has no passwd entry: give group = too"},
	{"user_in_a_zone_is_refused", "[zone:x]\nsize = 1\nuser = nobody\n",
	 -EINVAL, "t.ini:3: unknown key \"user\" in [zone:x]"},
	{"passthrough_zone_takes_memfd_over_the_default_backend",
	 "[shmfs]\nbackend = anon\n[zone:x]\nsize = 1\ncache = passthrough\n",
	 0, NULL},
	{"passthrough_on_memfd_is_accepted",
	 "[zone:x]\nsize = 1\nbackend = memfd\ncache = passthrough\n", 0, NULL},
	{"cache_given_twice_is_refused",
	 "[shmfs]\ncache = page\ncache = direct\n", -EINVAL,
	 "t.ini:3: key \"cache\" given twice (first at line 2)"},
	{"unknown_backend_is_refused", "[zone:x]\nbackend = tmpfs\n", -EINVAL,
	 "t.ini:2: backend: \"tmpfs\" is not a backend (anon, devzero, sysv, "
	 "memfd, posix, file, process)"},

	/* backend = process (issue 19). */
	{"process_zone_by_pid_file_and_match_is_accepted",
	 "[zone:x]\nbackend = process\nprocess = /run/nginx.pid\n"
	 "match = zone \"one\"\n",
	 0, NULL},
	{"process_zone_needs_process",
	 "[zone:x]\nbackend = process\nmatch = a\n", -EINVAL,
	 "t.ini:1: [zone:x]: backend = process needs process = (a pid file's "
	 "absolute path, or a pid)"},
	{"process_zone_needs_a_selector",
	 "[zone:x]\nbackend = process\nprocess = 1\n", -EINVAL,
	 "t.ini:1: [zone:x]: backend = process needs match =, address = or "
	 "size = to pick one of the process's shared mappings"},
	{"process_is_a_pid_file_or_a_pid",
	 "[zone:x]\nbackend = process\nprocess = nginx\n", -EINVAL,
	 "t.ini:3: process: \"nginx\" is not a pid file's absolute path or a "
	 "process id"},
	{"address_is_a_range_as_maps_writes_it",
	 "[zone:x]\nbackend = process\nprocess = 1\naddress = 2000-1000\n",
	 -EINVAL,
	 "t.ini:4: address: \"2000-1000\" is not START-END in hexadecimal, as "
	 "/proc/PID/maps writes it"},
	{"writable_is_only_for_process", "[zone:x]\nsize = 1\nwritable = yes\n",
	 -EINVAL, "t.ini:3: writable: only for backend = process"},
	{"process_is_only_for_its_backend", "[zone:x]\nsize = 1\nprocess = 1\n",
	 -EINVAL, "t.ini:3: process: only for backend = process"},
	{"a_process_zone_in_page_mode_is_refused",
	 "[zone:x]\nbackend = process\nprocess = 1\nsize = 4K\ncache = page\n",
	 -EINVAL,
	 "t.ini:5: [zone:x]: cache = page cannot show what other programs "
	 "write into a process object: use cache = direct (the kernel's page "
	 "cache of the zone file would serve stale bytes)"},

	/* Shared objects: posix, file, keyed sysv. */
	{"posix_zone_without_size_must_attach", "[zone:x]\nbackend = posix\n",
	 -EINVAL,
	 "t.ini:1: [zone:x]: size is required to create posix object "
	 "/shmfs.x (or attach = yes)"},
	{"posix_attach_needs_no_size",
	 "[zone:x]\nbackend = posix\nname = /app\nattach = yes\n", 0, NULL},
	{"posix_name_needs_one_leading_slash",
	 "[zone:x]\nbackend = posix\nname = a/b\n", -EINVAL,
	 "t.ini:3: name: \"a/b\" is not a posix name (/NAME, one slash, 255 "
	 "bytes at most)"},
	{"name_is_only_for_posix", "[zone:x]\nsize = 1\nname = /a\n", -EINVAL,
	 "t.ini:3: name: only for backend = posix"},
	{"key_is_only_for_sysv", "[zone:x]\nsize = 1\nkey = 42\n", -EINVAL,
	 "t.ini:3: key: only for backend = sysv"},
	{"key_zero_is_refused", "[zone:x]\nbackend = sysv\nkey = 0\n", -EINVAL,
	 "t.ini:3: key: \"0\" is out of range (1..0xffffffff)"},
	{"key_path_needs_a_project",
	 "[zone:x]\nbackend = sysv\nkey = /etc/passwd\n", -EINVAL,
	 "t.ini:3: key: \"/etc/passwd\" is not a key (a number other than 0, "
	 "or /PATH:PROJ with PROJ 1..255)"},
	{"keyed_sysv_without_size_must_attach",
	 "[zone:x]\nbackend = sysv\nkey = 0x2a\nkeep = yes\n", -EINVAL,
	 "t.ini:1: [zone:x]: size is required to create the segment with "
	 "key = (or attach = yes)"},
	{"keyed_sysv_attach_needs_no_size",
	 "[zone:x]\nbackend = sysv\nkey = 0x2a\nattach = yes\n", 0, NULL},
	{"object_owner_names_a_user_for_an_attached_object",
	 "[zone:x]\nbackend = sysv\nkey = 0x2a\nattach = yes\n"
	 "object_owner = nobody\n",
	 0, NULL},
	{"object_owner_takes_a_uid_for_a_file",
	 "[zone:x]\nbackend = file\npath = /d\nobject_owner = 1000\n", 0, NULL},
	{"object_owner_is_not_for_an_object_shmfs_creates",
	 "[zone:x]\nbackend = posix\nsize = 1\nobject_owner = 1000\n", -EINVAL,
	 "t.ini:4: object_owner: only for backend = file or process, or with "
	 "attach = yes (shmfs owns what it creates)"},
	{"object_owner_is_not_for_private_memory",
	 "[zone:x]\nsize = 1\nobject_owner = 1000\n", -EINVAL,
	 "t.ini:3: object_owner: only for backend = file or process, or with "
	 "attach = yes (shmfs owns what it creates)"},
	{"object_owner_must_be_a_user",
	 "[zone:x]\nbackend = file\npath = /d\nobject_owner = no-such-user\n",
	 -EINVAL, "t.ini:4: object_owner: \"no-such-user\" is not a user"},
	{"object_owner_is_not_a_global_key", "[shmfs]\nobject_owner = 0\n",
	 -EINVAL, "t.ini:2: unknown key \"object_owner\" in [shmfs]"},
	{"file_needs_a_path", "[zone:x]\nbackend = file\nsize = 1\n", -EINVAL,
	 "t.ini:1: [zone:x]: backend = file needs path ="},
	{"file_path_must_be_absolute",
	 "[zone:x]\nbackend = file\npath = data\n", -EINVAL,
	 "t.ini:3: path: \"data\" is not an absolute path to a file"},
	{"file_path_must_name_a_file",
	 "[zone:x]\nbackend = file\npath = /var/lib/..\n", -EINVAL,
	 "t.ini:3: path: \"/var/lib/..\" is not an absolute path to a file"},
	{"keep_is_not_for_a_file",
	 "[zone:x]\nbackend = file\npath = /d\nkeep = yes\n", -EINVAL,
	 "t.ini:4: keep: only for backend = posix, or sysv with key = (a file "
	 "is always kept)"},
	{"attach_is_not_for_keyless_sysv",
	 "[zone:x]\nbackend = sysv\nsize = 1\nattach = yes\n", -EINVAL,
	 "t.ini:4: attach: only for backend = posix, or sysv with key ="},
	{"attach_takes_yes_or_no",
	 "[zone:x]\nbackend = posix\nattach = maybe\n", -EINVAL,
	 "t.ini:3: attach: \"maybe\" is not yes or no"},
	{"shared_object_in_page_mode_is_refused",
	 "[zone:x]\nbackend = posix\nsize = 1\ncache = page\n", -EINVAL,
	 "t.ini:4: [zone:x]: cache = page cannot show what other programs "
	 "write into a posix object: use cache = direct (the kernel's page "
	 "cache of the zone file would serve stale bytes)"},
	{"shared_object_in_passthrough_is_refused",
	 "[zone:x]\nbackend = file\npath = /d\ncache = passthrough\n", -EINVAL,
	 "t.ini:4: [zone:x]: cache = passthrough cannot show what other "
	 "programs write into a file object: use cache = direct (passthrough "
	 "needs a memfd, which only the daemon maps)"},
	{"shared_object_ignores_the_default_cache",
	 "[shmfs]\ncache = page\n[zone:x]\nbackend = file\npath = /d\n", 0,
	 NULL},
	{"two_zones_on_one_object_are_refused",
	 "[zone:a]\nbackend = file\npath = /d\n[zone:b]\nbackend = file\n"
	 "path = /d\n",
	 -EINVAL, "t.ini:4: [zone:b]: same object as [zone:a] (line 1)"},
	{"name_and_path_exclude_each_other",
	 "[zone:a]\nbackend = file\npath = /d\nname = /d\n", -EINVAL,
	 "t.ini:4: name: name, key = PATH:PROJ and path exclude each other"},
	{"unknown_log_level_is_refused", "[shmfs]\nlog_level = verbose\n",
	 -EINVAL,
	 "t.ini:2: log_level: \"verbose\" is not a log level (debug, info, "
	 "notice, warn, error, alert)"},
	{"relative_log_path_is_refused", "[shmfs]\nlog = shmfs.log\n", -EINVAL,
	 "t.ini:2: log: \"shmfs.log\" is not stderr, syslog or an absolute "
	 "path"},

	/* Lines. */
	{"line_without_equals_is_malformed", "[zone:x]\nsize 1M\n", -EINVAL,
	 "t.ini:2: malformed line"},
	{"last_line_without_equals_is_malformed", "[zone:x]\nsize = 1\njunk",
	 -EINVAL, "t.ini:3: malformed line"},
	{"line_without_key_is_malformed", "[zone:x]\n= 1\n", -EINVAL,
	 "t.ini:2: malformed line"},
	{"equals_inside_a_comment_does_not_count", "[zone:x]\nsize ; = 1\n",
	 -EINVAL, "t.ini:2: malformed line"},
	{"first_error_is_the_one_reported", "[zone:x]\njunk\nfoo = 1\n[bar]\n",
	 -EINVAL, "t.ini:2: malformed line"},
	{"indented_key_line_is_refused", "[zone:x]\nsize = 1\n  mode = 0600\n",
	 -EINVAL, "t.ini:3: " CONTINUATION},
	{"indented_first_key_is_refused", "[zone:x]\n\tsize = 1\n", -EINVAL,
	 "t.ini:2: " CONTINUATION},
	{"bom_and_crlf_keep_line_numbers",
	 "\xef\xbb\xbf[zone:x]\r\nsize = 12Q\r\n", -EINVAL,
	 "t.ini:2: size: \"12Q\" is not a size"},
};

static void check_empty(const struct shmfs_config *cfg)
{
	assert_null(cfg->file);
	assert_null(cfg->log);
	assert_null(cfg->zones);
	assert_int_equal(cfg->nzones, 0);
}

static void check_case(void **state)
{
	const struct config_case *c = *state;
	struct shmfs_config cfg;
	char err[512] = "junk";
	int ret;

	ret = shmfs_config_parse_string(c->text, "t.ini", &cfg, err,
					sizeof(err));
	assert_string_equal(err, c->err ? c->err : "");
	assert_int_equal(ret, c->ret);
	if (ret)
		check_empty(&cfg);
	shmfs_config_free(&cfg);
}

/* Parses text that must be valid. */
static void parse_ok(const char *text, struct shmfs_config *cfg)
{
	char err[512] = "";

	if (shmfs_config_parse_string(text, "t.ini", cfg, err, sizeof(err)))
		fail_msg("unexpected error: %s", err);
}

static void parse_error(const char *text, const char *expected)
{
	struct shmfs_config cfg;
	char err[512] = "";

	assert_int_equal(shmfs_config_parse_string(text, "t.ini", &cfg, err,
						   sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, expected);
	check_empty(&cfg);
}

static void missing_keys_take_the_defaults(void **state)
{
	struct shmfs_config cfg;

	(void)state;
	parse_ok("[zone:a]\nsize = 1\n", &cfg);
	assert_string_equal(cfg.file, "t.ini");
	assert_int_equal(cfg.workers, 0);
	assert_int_equal(cfg.backend, SHMFS_BACKEND_ANON);
	assert_int_equal(cfg.mode, 0600);
	assert_int_equal(cfg.uid, geteuid());
	assert_int_equal(cfg.gid, getegid());
	assert_int_equal(cfg.log_level, LOG_NOTICE);
	assert_int_equal(cfg.io_uring, SHMFS_IO_URING_AUTO);
	assert_null(cfg.log);
	assert_null(cfg.pid);
	assert_int_equal(cfg.nzones, 1);
	assert_string_equal(cfg.zones[0].name, "a");
	assert_int_equal(cfg.zones[0].backend, SHMFS_BACKEND_ANON);
	assert_int_equal(cfg.zones[0].cache, SHMFS_CACHE_PAGE);
	assert_int_equal(cfg.zones[0].mode, 0600);
	assert_int_equal(cfg.zones[0].uid, geteuid());
	assert_int_equal(cfg.zones[0].gid, getegid());
	assert_int_equal(cfg.zones[0].line, 1);
	shmfs_config_free(&cfg);
}

static void globals_apply_to_zones_before_and_after_them(void **state)
{
	struct shmfs_config cfg;

	(void)state;
	parse_ok("[zone:a]\nsize = 1\n"
		 "[shmfs]\nworkers = 3\nbackend = sysv\nmode = 0640\n"
		 "uid = 7\ngid = 8\nlog_level = debug\nlog = syslog\n"
		 "cache = direct\npid = /run/x.pid\n"
		 "[zone:b]\nsize = 2\nbackend = devzero\nmode = 0604\n"
		 "uid = root\ngid = 0\ncache = page\n",
		 &cfg);
	assert_int_equal(cfg.workers, 3);
	assert_int_equal(cfg.log_level, LOG_DEBUG);
	assert_string_equal(cfg.log, "syslog");
	assert_string_equal(cfg.pid, "/run/x.pid");
	assert_int_equal(cfg.nzones, 2);
	assert_int_equal(cfg.zones[0].backend, SHMFS_BACKEND_SYSV);
	assert_int_equal(cfg.zones[0].mode, 0640);
	assert_int_equal(cfg.zones[0].uid, 7);
	assert_int_equal(cfg.zones[0].gid, 8);
	assert_int_equal(cfg.zones[0].cache, SHMFS_CACHE_DIRECT);
	assert_int_equal(cfg.zones[1].cache, SHMFS_CACHE_PAGE);
	assert_int_equal(cfg.zones[1].backend, SHMFS_BACKEND_DEVZERO);
	assert_int_equal(cfg.zones[1].mode, 0604);
	assert_int_equal(cfg.zones[1].uid, 0);
	assert_int_equal(cfg.zones[1].gid, 0);
	assert_int_equal(cfg.zones[1].line, 13);
	shmfs_config_free(&cfg);
}

static void passthrough_zones_are_memfd_and_fixed_size(void **state)
{
	struct shmfs_config cfg;

	(void)state;
	parse_ok("[shmfs]\ncache = passthrough\n[zone:a]\nsize = 1\n"
		 "[zone:b]\nsize = 1\ncache = page\n",
		 &cfg);
	assert_int_equal(cfg.zones[0].cache, SHMFS_CACHE_PASSTHROUGH);
	assert_int_equal(cfg.zones[0].backend, SHMFS_BACKEND_MEMFD);
	assert_true(shmfs_zone_config_fixed(&cfg.zones[0]));
	assert_int_equal(cfg.zones[1].backend, SHMFS_BACKEND_ANON);
	assert_false(shmfs_zone_config_fixed(&cfg.zones[1]));
	shmfs_config_free(&cfg);
}

static void shared_objects_are_exact_fixed_and_direct(void **state)
{
	struct shmfs_config cfg;

	(void)state;
	parse_ok("[zone:p]\nbackend = posix\nsize = 5000\n"
		 "[zone:k]\nbackend = sysv\nkey = /tmp:7\nattach = yes\n"
		 "[zone:n]\nbackend = sysv\nkey = 0x2a\nsize = 1\nkeep = on\n"
		 "[zone:f]\nbackend = file\npath = /var/d\nobject_owner = "
		 "1000\n",
		 &cfg);
	assert_string_equal(cfg.zones[0].object, "/shmfs.p");
	assert_int_equal(cfg.zones[0].capacity, 5000); /* not rounded */
	assert_int_equal(cfg.zones[0].cache, SHMFS_CACHE_DIRECT);
	assert_string_equal(cfg.zones[1].object, "/tmp");
	assert_int_equal(cfg.zones[1].proj, 7);
	assert_true(cfg.zones[1].attach);
	assert_int_equal(cfg.zones[1].capacity, 0); /* the segment's */
	assert_int_equal(cfg.zones[2].key, 0x2a);
	assert_true(cfg.zones[2].keep);
	assert_string_equal(cfg.zones[3].object, "/var/d");
	assert_int_equal(cfg.zones[3].object_owner, 1000);
	assert_int_equal(cfg.zones[1].object_owner, 0); /* none named */
	for (int i = 0; i < 4; i++) {
		assert_true(shmfs_zone_config_shared(&cfg.zones[i]));
		assert_true(shmfs_zone_config_fixed(&cfg.zones[i]));
	}
	shmfs_config_free(&cfg);
}

static void user_and_group_name_the_workers_ids(void **state)
{
	struct shmfs_config cfg;

	(void)state;
	parse_ok("[shmfs]\nuser = nobody\n", &cfg);
	assert_true(cfg.user_set);
	assert_int_equal(cfg.user, 65534);
	assert_int_equal(cfg.group, 65534); /* nobody's passwd group */
	shmfs_config_free(&cfg);
	parse_ok("[shmfs]\nuser = 4321\ngroup = 0\n", &cfg);
	assert_int_equal(cfg.user, 4321);
	assert_int_equal(cfg.group, 0);
	shmfs_config_free(&cfg);
	parse_ok("[shmfs]\n", &cfg);
	assert_false(cfg.user_set);
	shmfs_config_free(&cfg);
}

/*
 * A user = that names no one parses (a master not run as root ignores
 * user =), and is an error for the master that would use it.
 */
static void unknown_user_is_an_error_for_a_root_master_only(void **state)
{
	struct shmfs_config cfg;
	char err[512] = "";

	(void)state;
	parse_ok("[shmfs]\nworkers = 1\nuser = no-such-user\n", &cfg);
	assert_true(cfg.user_unknown);
	assert_false(cfg.user_set);
	assert_int_equal(cfg.user_line, 3);
	assert_string_equal(cfg.user_name, "no-such-user");
	assert_int_equal(shmfs_config_check_user(&cfg, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "t.ini:3: user: \"no-such-user\" is not a "
				 "user (workers need one of their own: "
				 "adduser --system --group --no-create-home "
				 "no-such-user)");
	shmfs_config_free(&cfg);
	/* A group given beside it is no error either. */
	parse_ok("[shmfs]\nuser = no-such-user\ngroup = 0\n", &cfg);
	assert_true(cfg.user_unknown);
	shmfs_config_free(&cfg);
	parse_ok("[shmfs]\nuser = nobody\n", &cfg);
	assert_int_equal(shmfs_config_check_user(&cfg, err, sizeof(err)), 0);
	shmfs_config_free(&cfg);
}

/* The shipped file names the workers' own user, not a shared one. */
static void default_ini_names_the_workers_own_user(void **state)
{
	struct shmfs_config cfg;

	(void)state;
	parse_ok(shmfs_default_ini, &cfg);
	assert_int_not_equal(cfg.user_line, 0);
	assert_string_equal(cfg.user_name, SHMFS_DEFAULT_USER);
	shmfs_config_free(&cfg);
}

static void zones_keep_file_order(void **state)
{
	static const char *const names[] = {"zeta", "alpha", "mid", "b"};
	struct shmfs_config cfg;
	size_t i;

	(void)state;
	parse_ok("[zone:zeta]\nsize=1\n[zone:alpha]\nsize=1\n"
		 "[zone:mid]\nsize=1\n[zone:b]\nsize=1\n",
		 &cfg);
	assert_int_equal(cfg.nzones, ARRAY_SIZE(names));
	for (i = 0; i < ARRAY_SIZE(names); i++)
		assert_string_equal(cfg.zones[i].name, names[i]);
	shmfs_config_free(&cfg);
}

static void sizes_are_rounded_up_to_a_page(void **state)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	struct shmfs_config cfg;
	char text[256];

	(void)state;
	snprintf(text, sizeof(text),
		 "[zone:a]\nsize = 1\n[zone:b]\nsize = %llu\n"
		 "[zone:c]\nsize = %llu\n",
		 (unsigned long long)page, (unsigned long long)page + 1);
	parse_ok(text, &cfg);
	assert_int_equal(cfg.zones[0].capacity, page);
	assert_int_equal(cfg.zones[1].capacity, page);
	assert_int_equal(cfg.zones[2].capacity, 2 * page);
	shmfs_config_free(&cfg);
}

static void zone_name_of_255_bytes_is_accepted_and_256_refused(void **state)
{
	char name[SHMFS_NAME_MAX + 2], text[512], expected[512];
	struct shmfs_config cfg;

	(void)state;
	memset(name, 'n', SHMFS_NAME_MAX);
	name[SHMFS_NAME_MAX] = '\0';
	snprintf(text, sizeof(text), "[zone:%s]\nsize = 1\n", name);
	parse_ok(text, &cfg);
	assert_string_equal(cfg.zones[0].name, name);
	shmfs_config_free(&cfg);

	strcat(name, "n");
	snprintf(text, sizeof(text), "[shmfs]\n[zone:%s]\nsize = 1\n", name);
	snprintf(expected, sizeof(expected),
		 "t.ini:2: invalid zone name \"%s\" " ZONE_NAME_RULE, name);
	parse_error(text, expected);
}

static void long_zone_names_are_told_apart(void **state)
{
	char name[101], text[512], expected[512];

	/* inih keeps only 49 bytes of a section name; we must not. */
	(void)state;
	memset(name, 'x', 100);
	name[100] = '\0';
	snprintf(text, sizeof(text), "[zone:%sa]\nsize=1\n[zone:%sb]\nfoo=1\n",
		 name, name);
	snprintf(expected, sizeof(expected),
		 "t.ini:4: unknown key \"foo\" in [zone:%sb]", name);
	parse_error(text, expected);
}

static void key_line_longer_than_inih_reads_is_refused(void **state)
{
	char text[512], path[LINE_MAX_BYTES + 2], expected[64];
	struct shmfs_config cfg;

	(void)state;
	/* "log = /aaa...": exactly the longest line inih takes whole. */
	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[LINE_MAX_BYTES - 6] = '\0';
	snprintf(text, sizeof(text), "[shmfs]\nlog = %s\n", path);
	assert_int_equal(strlen(text), 8 + LINE_MAX_BYTES + 1);
	parse_ok(text, &cfg);
	assert_string_equal(cfg.log, path);
	shmfs_config_free(&cfg);

	strcat(path, "a");
	snprintf(text, sizeof(text), "[shmfs]\nlog = %s\n", path);
	snprintf(expected, sizeof(expected),
		 "t.ini:2: line too long (max %d bytes)", LINE_MAX_BYTES);
	parse_error(text, expected);
}

static void long_comments_are_not_limited(void **state)
{
	char comment[400], text[2048];
	struct shmfs_config cfg;

	(void)state;
	memset(comment, 'c', sizeof(comment) - 1);
	comment[sizeof(comment) - 1] = '\0';
	snprintf(text, sizeof(text),
		 "; %s\n[zone:a] ; %s\nsize = 1 ; %s\n  # %s\n", comment,
		 comment, comment, comment);
	parse_ok(text, &cfg);
	assert_int_equal(cfg.nzones, 1);
	shmfs_config_free(&cfg);
}

static void default_ini_is_valid_and_has_zones(void **state)
{
	struct shmfs_config cfg;

	(void)state;
	parse_ok(shmfs_default_ini, &cfg);
	assert_true(cfg.nzones > 0);
	shmfs_config_free(&cfg);
}

static void loading_a_missing_file_fails_with_enoent(void **state)
{
	struct shmfs_config cfg;
	char err[512] = "";

	(void)state;
	assert_int_equal(shmfs_config_load("/nonexistent/shmfs.ini", &cfg, err,
					   sizeof(err)),
			 -ENOENT);
	assert_string_equal(
		err, "/nonexistent/shmfs.ini: No such file or directory");
	check_empty(&cfg);
}

/* Writes len bytes of text to a new temporary file named in path. */
static void write_temp(char *path, const char *text, size_t len)
{
	int fd;

	strcpy(path, "/tmp/test_config.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

static void loading_a_file_parses_it_and_names_it_in_errors(void **state)
{
	static const char good[] = "[zone:a]\nsize = 1\n";
	static const char bad[] = "[zone:a]\nsize = 1\nbad = 2\n";
	char path[64], err[512] = "", expected[512];
	struct shmfs_config cfg;

	(void)state;
	write_temp(path, good, strlen(good));
	assert_int_equal(shmfs_config_load(path, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.file, path);
	assert_int_equal(cfg.nzones, 1);
	shmfs_config_free(&cfg);
	unlink(path);

	write_temp(path, bad, strlen(bad));
	assert_int_equal(shmfs_config_load(path, &cfg, err, sizeof(err)),
			 -EINVAL);
	snprintf(expected, sizeof(expected),
		 "%s:3: unknown key \"bad\" in [zone:a]", path);
	assert_string_equal(err, expected);
	check_empty(&cfg);
	unlink(path);
}

static void nul_byte_in_a_file_is_refused(void **state)
{
	static const char text[] = "[zone:a]\nsize = 1\0junk\n";
	char path[64], err[512] = "", expected[512];
	struct shmfs_config cfg;

	(void)state;
	write_temp(path, text, sizeof(text) - 1);
	assert_int_equal(shmfs_config_load(path, &cfg, err, sizeof(err)),
			 -EINVAL);
	snprintf(expected, sizeof(expected), "%s:2: line contains a NUL byte",
		 path);
	assert_string_equal(err, expected);
	check_empty(&cfg);
	unlink(path);
}

/*
 * The daemon (shmfs_config_load) and shmfs -s (shmfs_config_load_pid) read
 * one pid = with one grammar: '#' after a value is part of it, ';' after a
 * blank starts a comment, and a line starting with '#' or ';' is a comment.
 */
static void daemon_and_signal_read_the_same_pid(void **state)
{
	static const struct {
		const char *text, *pid;
	} rows[] = {
		{"[shmfs]\npid = /run/x.pid # note\n", "/run/x.pid # note"},
		{"[shmfs]\npid = /run/x.pid#note\n", "/run/x.pid#note"},
		{"[shmfs]\npid = /run/x.pid ; note\n", "/run/x.pid"},
		{"[shmfs]\npid = /run/x.pid\t; note\n", "/run/x.pid"},
		{"[shmfs]\npid = /run/x.pid;note\n", "/run/x.pid;note"},
		{"[shmfs]\n# pid = /run/y.pid\n; pid = /run/z.pid\n"
		 "pid = /run/x.pid\n",
		 "/run/x.pid"},
		{"[shmfs] ; globals\nworkers = 1\n[zone:a]\nsize = 1\n", NULL},
	};
	char path[64], err[512];
	struct shmfs_config cfg;
	char *pid;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		write_temp(path, rows[i].text, strlen(rows[i].text));
		if (shmfs_config_load(path, &cfg, err, sizeof(err)) < 0)
			fail_msg("%s", err);
		if (shmfs_config_load_pid(path, &pid, err, sizeof(err)) < 0)
			fail_msg("%s", err);
		if (rows[i].pid == NULL) {
			assert_null(cfg.pid);
			assert_null(pid);
		} else {
			assert_string_equal(cfg.pid, rows[i].pid);
			assert_string_equal(pid, rows[i].pid);
		}
		free(pid);
		shmfs_config_free(&cfg);
		unlink(path);
	}
}

/*
 * A file broken since the start: the pid = read before the mistake is
 * still found (to stop the daemon), with the mistake in err; one after it
 * is not read, as the daemon would not have read it.
 */
static void load_pid_keeps_the_pid_read_before_a_mistake(void **state)
{
	static const char after[] = "[shmfs]\npid = /run/x.pid\nbad line\n";
	static const char before[] = "[shmfs]\nbad line\npid = /run/x.pid\n";
	char path[64], err[512], expected[512];
	char *pid;

	(void)state;
	write_temp(path, after, strlen(after));
	assert_int_equal(shmfs_config_load_pid(path, &pid, err, sizeof(err)),
			 -EINVAL);
	snprintf(expected, sizeof(expected), "%s:3: malformed line", path);
	assert_string_equal(err, expected);
	assert_string_equal(pid, "/run/x.pid");
	free(pid);
	unlink(path);

	write_temp(path, before, strlen(before));
	assert_int_equal(shmfs_config_load_pid(path, &pid, err, sizeof(err)),
			 -EINVAL);
	snprintf(expected, sizeof(expected), "%s:2: malformed line", path);
	assert_string_equal(err, expected);
	assert_null(pid);
	unlink(path);

	assert_int_equal(shmfs_config_load_pid("/nonexistent/shmfs.ini", &pid,
					       err, sizeof(err)),
			 -ENOENT);
	assert_null(pid);
}

static void print_shows_an_aligned_zone_table(void **state)
{
	struct shmfs_config cfg;
	char *buf = NULL;
	size_t len = 0;
	FILE *out;

	(void)state;
	parse_ok("[shmfs]\nworkers = 4\n"
		 "[zone:cache]\nsize = 64M\nuid = 0\ngid = 0\n"
		 "[zone:a]\nsize = 64K\nbackend = devzero\nmode = 0640\n"
		 "uid = 1000\ngid = 1000\ncache = direct\n",
		 &cfg);
	out = open_memstream(&buf, &len);
	assert_non_null(out);
	shmfs_config_print(&cfg, NULL, NULL, out);
	assert_int_equal(fclose(out), 0);
	assert_string_equal(buf,
			    "NAME  BACKEND CACHE     BYTES MODE  UID  GID\n"
			    "cache anon    page   67108864 0600    0    0\n"
			    "a     devzero direct    65536 0640 1000 1000\n"
			    "2 zones, 67174400 bytes, workers 4, "
			    "transport /dev/fuse\n");
	free(buf);
	shmfs_config_free(&cfg);
}

static void print_of_no_zones_says_so(void **state)
{
	struct shmfs_config cfg;
	char buf[256] = "";
	FILE *out;

	(void)state;
	parse_ok("", &cfg);
	out = fmemopen(buf, sizeof(buf), "w");
	assert_non_null(out);
	shmfs_config_print(&cfg, NULL, NULL, out);
	assert_int_equal(fclose(out), 0);
	assert_string_equal(buf, "NAME BACKEND CACHE  BYTES MODE UID GID\n"
				 "0 zones, 0 bytes, workers auto, "
				 "transport /dev/fuse\n");
	shmfs_config_free(&cfg);
}

static void print_shows_the_mode_a_zone_will_run_in(void **state)
{
	static const char *const ini =
		"[zone:p]\nsize = 4K\ncache = passthrough\nuid = 0\ngid = 0\n";
	struct shmfs_config cfg;
	char buf[512] = "";
	FILE *out;

	(void)state;
	parse_ok(ini, &cfg);
	out = fmemopen(buf, sizeof(buf), "w");
	shmfs_config_print(&cfg, NULL, NULL, out);
	assert_int_equal(fclose(out), 0);
	assert_string_equal(buf, "NAME BACKEND CACHE       BYTES MODE UID GID\n"
				 "p    memfd   passthrough  4096 0600   0   0\n"
				 "1 zone, 4096 bytes, workers auto, "
				 "transport /dev/fuse\n");
	out = fmemopen(buf, sizeof(buf), "w");
	shmfs_config_print(&cfg, "no CAP_SYS_ADMIN", NULL, out);
	assert_int_equal(fclose(out), 0);
	assert_string_equal(
		buf, "NAME BACKEND CACHE  BYTES MODE UID GID\n"
		     "p    memfd   page*   4096 0600   0   0\n"
		     "1 zone, 4096 bytes, workers auto, transport /dev/fuse\n"
		     "* passthrough unavailable here (no CAP_SYS_ADMIN): "
		     "these zones run in page mode, fixed size kept\n");
	shmfs_config_free(&cfg);
}

static void freeing_a_zeroed_config_is_safe(void **state)
{
	struct shmfs_config cfg;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	shmfs_config_free(&cfg);
	shmfs_config_free(&cfg);
	check_empty(&cfg);
}

static const struct CMUnitTest others[] = {
	cmocka_unit_test(missing_keys_take_the_defaults),
	cmocka_unit_test(globals_apply_to_zones_before_and_after_them),
	cmocka_unit_test(passthrough_zones_are_memfd_and_fixed_size),
	cmocka_unit_test(shared_objects_are_exact_fixed_and_direct),
	cmocka_unit_test(user_and_group_name_the_workers_ids),
	cmocka_unit_test(unknown_user_is_an_error_for_a_root_master_only),
	cmocka_unit_test(default_ini_names_the_workers_own_user),
	cmocka_unit_test(zones_keep_file_order),
	cmocka_unit_test(sizes_are_rounded_up_to_a_page),
	cmocka_unit_test(zone_name_of_255_bytes_is_accepted_and_256_refused),
	cmocka_unit_test(long_zone_names_are_told_apart),
	cmocka_unit_test(key_line_longer_than_inih_reads_is_refused),
	cmocka_unit_test(long_comments_are_not_limited),
	cmocka_unit_test(default_ini_is_valid_and_has_zones),
	cmocka_unit_test(loading_a_missing_file_fails_with_enoent),
	cmocka_unit_test(loading_a_file_parses_it_and_names_it_in_errors),
	cmocka_unit_test(nul_byte_in_a_file_is_refused),
	cmocka_unit_test(daemon_and_signal_read_the_same_pid),
	cmocka_unit_test(load_pid_keeps_the_pid_read_before_a_mistake),
	cmocka_unit_test(print_shows_an_aligned_zone_table),
	cmocka_unit_test(print_of_no_zones_says_so),
	cmocka_unit_test(print_shows_the_mode_a_zone_will_run_in),
	cmocka_unit_test(freeing_a_zeroed_config_is_safe),
};

int main(void)
{
	struct CMUnitTest tests[ARRAY_SIZE(cases) + ARRAY_SIZE(others)];
	size_t i;

	/* One test per table row, named after it. */
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		tests[i] = (struct CMUnitTest){
			.name = cases[i].name,
			.test_func = check_case,
			.initial_state = (void *)&cases[i],
		};
	}
	for (i = 0; i < ARRAY_SIZE(others); i++)
		tests[ARRAY_SIZE(cases) + i] = others[i];
	return cmocka_run_group_tests(tests, NULL, NULL);
}

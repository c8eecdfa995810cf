/* SPDX-License-Identifier: MIT */
/*
 * The command line: every option, config= taken out of -o, the mount
 * options libfuse gets, and one clear error for each misuse.
 */
#include <errno.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "shmfs/cli.h"

#define ARGV(...) ((char *[]){"shmfs", __VA_ARGS__, NULL})
#define ARGC(...)                                                              \
	((int)(sizeof((char *[]){"shmfs", __VA_ARGS__}) / sizeof(char *)))
#define PARSE(cli, err, ...)                                                   \
	shmfs_cli_parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), cli, err,        \
			sizeof(err))

/* The libfuse arguments, joined by spaces. */
static const char *joined(const struct shmfs_cli *cli)
{
	static char buf[512];

	buf[0] = '\0';
	for (int i = 1; i < cli->fuse_args.argc; i++) {
		if (i > 1)
			strcat(buf, " ");
		strcat(buf, cli->fuse_args.argv[i]);
	}
	return buf;
}

static void a_mountpoint_alone_runs_detached_with_our_mount_options(void **s)
{
	struct shmfs_cli cli;
	char err[256];

	(void)s;
	assert_int_equal(PARSE(&cli, err, "/mnt/shm"), 0);
	assert_string_equal(cli.mountpoint, "/mnt/shm");
	assert_false(cli.foreground);
	assert_false(cli.workers_set);
	assert_null(cli.config);
	assert_string_equal(joined(&cli), "-odefault_permissions,nosuid,nodev,"
					  "fsname=shmfs,subtype=shmfs");
	shmfs_cli_free(&cli);
}

static void every_option_is_understood(void **s)
{
	struct shmfs_cli cli;
	char err[256];

	(void)s;
	assert_int_equal(PARSE(&cli, err, "-c", "x.ini", "-f", "-w", "3", "-o",
			       "allow_other", "/m"),
			 0);
	assert_string_equal(cli.config, "x.ini");
	assert_true(cli.foreground);
	assert_false(cli.debug);
	assert_true(cli.workers_set);
	assert_int_equal(cli.workers, 3);
	assert_string_equal(
		joined(&cli),
		"-odefault_permissions,nosuid,nodev,fsname=shmfs,subtype=shmfs "
		"-o allow_other");
	shmfs_cli_free(&cli);

	assert_int_equal(PARSE(&cli, err, "--config", "y.ini", "--workers",
			       "auto", "-d", "/m"),
			 0);
	assert_string_equal(cli.config, "y.ini");
	assert_true(cli.debug && cli.foreground);
	assert_int_equal(cli.workers, 0);
	assert_non_null(strstr(joined(&cli), "-odebug"));
	shmfs_cli_free(&cli);
}

static void config_is_taken_out_of_mount_options(void **s)
{
	struct shmfs_cli cli;
	char err[256];

	(void)s;
	assert_int_equal(PARSE(&cli, err, "-o",
			       "ro,config=/etc/z.ini,allow_other", "/m"),
			 0);
	assert_string_equal(cli.config, "/etc/z.ini");
	assert_string_equal(
		joined(&cli),
		"-odefault_permissions,nosuid,nodev,fsname=shmfs,subtype=shmfs "
		"-o ro -o allow_other");
	shmfs_cli_free(&cli);
}

static void check_help_and_version_need_no_mountpoint(void **s)
{
	struct shmfs_cli cli;
	char err[256];

	(void)s;
	assert_int_equal(PARSE(&cli, err, "-t", "-c", "a.ini"), 0);
	assert_true(cli.check);
	shmfs_cli_free(&cli);
	assert_int_equal(PARSE(&cli, err, "--help"), 0);
	assert_true(cli.help);
	shmfs_cli_free(&cli);
	assert_int_equal(PARSE(&cli, err, "-V"), 0);
	assert_true(cli.version);
	shmfs_cli_free(&cli);
}

static void signal_names_map_to_the_masters_signals(void **s)
{
	static const struct {
		const char *name;
		int sig;
	} cases[] = {
		{"stop", SIGTERM},
		{"reload", SIGHUP},
		{"reopen", SIGUSR1},
		{"upgrade", SIGUSR2},
	};
	struct shmfs_cli cli;
	char err[256];

	(void)s;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(PARSE(&cli, err, "-c", "a.ini", "--signal",
				       (char *)cases[i].name),
				 0);
		assert_int_equal(cli.signal, cases[i].sig);
		assert_null(cli.mountpoint);
		shmfs_cli_free(&cli);
	}
}

static void a_pid_file_can_be_named_for_s_and_for_the_daemon(void **s)
{
	struct shmfs_cli cli;
	char err[256];

	(void)s;
	assert_int_equal(PARSE(&cli, err, "-s", "stop", "-p", "/run/a.pid"), 0);
	assert_int_equal(cli.signal, SIGTERM);
	assert_string_equal(cli.pidfile, "/run/a.pid");
	shmfs_cli_free(&cli);
	assert_int_equal(PARSE(&cli, err, "--pid-file", "/run/b.pid", "/m"), 0);
	assert_string_equal(cli.pidfile, "/run/b.pid");
	shmfs_cli_free(&cli);
}

static void status_shows_a_mount_and_dot_slash_status_mounts_one(void **s)
{
	struct shmfs_cli cli;
	char err[256];

	(void)s;
	assert_int_equal(PARSE(&cli, err, "status", "/mnt/shm"), 0);
	assert_true(cli.status);
	assert_false(cli.json);
	assert_string_equal(cli.mountpoint, "/mnt/shm");
	shmfs_cli_free(&cli);

	assert_int_equal(PARSE(&cli, err, "status", "--json", "/m"), 0);
	assert_true(cli.status && cli.json);
	assert_string_equal(cli.mountpoint, "/m");
	shmfs_cli_free(&cli);

	assert_int_equal(PARSE(&cli, err, "status", "/m", "--json"), 0);
	assert_true(cli.json);
	shmfs_cli_free(&cli);

	/* Only argv[1] is the command: these mount a directory "status". */
	assert_int_equal(PARSE(&cli, err, "./status"), 0);
	assert_false(cli.status);
	assert_string_equal(cli.mountpoint, "./status");
	shmfs_cli_free(&cli);
	assert_int_equal(PARSE(&cli, err, "-f", "status"), 0);
	assert_false(cli.status);
	assert_string_equal(cli.mountpoint, "status");
	shmfs_cli_free(&cli);
}

static void misuse_is_one_clear_error(void **s)
{
	const struct {
		int argc;
		char **argv;
		const char *err;
	} cases[] = {
		{1, (char *[]){"shmfs", NULL},
		 "no mountpoint given (see shmfs --help)"},
		{ARGC("-x", "/m"), ARGV("-x", "/m"),
		 "unknown option -x (see shmfs --help)"},
		{ARGC("--bogus", "/m"), ARGV("--bogus", "/m"),
		 "unknown option --bogus (see shmfs --help)"},
		{ARGC("/m", "-c"), ARGV("/m", "-c"),
		 "option -c needs a value (see shmfs --help)"},
		{ARGC("-w", "0", "/m"), ARGV("-w", "0", "/m"),
		 "-w: \"0\" is not a worker count (1..256 or auto)"},
		{ARGC("-w", "257", "/m"), ARGV("-w", "257", "/m"),
		 "-w: \"257\" is not a worker count (1..256 or auto)"},
		{ARGC("-w", "2x", "/m"), ARGV("-w", "2x", "/m"),
		 "-w: \"2x\" is not a worker count (1..256 or auto)"},
		{ARGC("/a.ini", "/m", "/n"), ARGV("/a.ini", "/m", "/n"),
		 "unexpected argument \"/n\" (see shmfs --help)"},
		{ARGC("-c", "b.ini", "/a.ini", "/m"),
		 ARGV("-c", "b.ini", "/a.ini", "/m"),
		 "two configuration files: \"/a.ini\" (the source) and "
		 "\"b.ini\" (-c or config=)"},
		{ARGC("/a.ini", "/m", "-o", "config=/b.ini"),
		 ARGV("/a.ini", "/m", "-o", "config=/b.ini"),
		 "two configuration files: \"/a.ini\" (the source) and "
		 "\"/b.ini\" (-c or config=)"},
		{ARGC("-t", "/a.ini", "/m"), ARGV("-t", "/a.ini", "/m"),
		 "-t takes no mountpoint"},
		{ARGC("-t", "/m"), ARGV("-t", "/m"), "-t takes no mountpoint"},
		{ARGC("-s", "stop", "/m"), ARGV("-s", "stop", "/m"),
		 "-s takes no mountpoint"},
		{ARGC("-s", "hup"), ARGV("-s", "hup"),
		 "-s: \"hup\" is not stop, reload, reopen or upgrade"},
		{ARGC("-t", "-s", "stop"), ARGV("-t", "-s", "stop"),
		 "-t and -s do not go together"},
		{ARGC("-o", "config=", "/m"), ARGV("-o", "config=", "/m"),
		 "-o config= needs a file"},
		{ARGC("-o", "allow_other,suid", "/m"),
		 ARGV("-o", "allow_other,suid", "/m"),
		 "-o suid: shmfs always mounts nosuid,nodev (zone files hold "
		 "data, not programs)"},
		{ARGC("-s", "stop", "-p", "x.pid"),
		 ARGV("-s", "stop", "-p", "x.pid"),
		 "-p: \"x.pid\" is not an absolute path"},
		{ARGC("status"), ARGV("status"),
		 "status: no mountpoint given (usage: shmfs status MOUNTPOINT "
		 "[--json])"},
		{ARGC("status", "/m", "/n"), ARGV("status", "/m", "/n"),
		 "status: unexpected argument \"/n\" (usage: shmfs status "
		 "MOUNTPOINT [--json])"},
		{ARGC("status", "-f", "/m"), ARGV("status", "-f", "/m"),
		 "status: unknown option -f (usage: shmfs status MOUNTPOINT "
		 "[--json])"},
		{ARGC("-o", "dev", "/m"), ARGV("-o", "dev", "/m"),
		 "-o dev: shmfs always mounts nosuid,nodev (zone files hold "
		 "data, not programs)"},
	};

	(void)s;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct shmfs_cli cli;
		char err[256] = "";

		assert_int_equal(shmfs_cli_parse(cases[i].argc, cases[i].argv,
						 &cli, err, sizeof(err)),
				 -EINVAL);
		assert_string_equal(err, cases[i].err);
		shmfs_cli_free(&cli);
	}
}

/* What mount.fuse3 runs for "mount -t fuse.shmfs /etc/shmfs/shmfs.ini /m". */
static void mounts_form_names_the_ini_file_as_its_source(void **s)
{
	struct shmfs_cli cli;
	char err[256];

	(void)s;
	assert_int_equal(PARSE(&cli, err, "/etc/shmfs/shmfs.ini", "/mnt/shm",
			       "-o", "rw,allow_other,dev,suid"),
			 0);
	assert_string_equal(cli.source, "/etc/shmfs/shmfs.ini");
	assert_string_equal(cli.config, "/etc/shmfs/shmfs.ini");
	assert_string_equal(cli.mountpoint, "/mnt/shm");
	assert_false(cli.foreground);
	/* dev,suid (mount.fuse3's) are dropped: nosuid,nodev stay */
	assert_string_equal(cli.suid_dev, "dev");
	assert_string_equal(
		joined(&cli),
		"-odefault_permissions,nosuid,nodev,fsname=shmfs,subtype=shmfs "
		"-o rw -o allow_other");
	shmfs_cli_free(&cli);
}

static void shmfs_or_none_as_source_means_the_default(void **s)
{
	static char sources[][6] = {"shmfs", "none"};

	(void)s;
	for (size_t i = 0; i < 2; i++) {
		struct shmfs_cli cli;
		char err[256];

		assert_int_equal(PARSE(&cli, err, sources[i], "/m"), 0);
		assert_string_equal(cli.source, sources[i]);
		assert_null(cli.config);
		assert_string_equal(cli.mountpoint, "/m");
		shmfs_cli_free(&cli);
		/* config= in an fstab line then names the file */
		assert_int_equal(PARSE(&cli, err, sources[i], "/m", "-o",
				       "config=/etc/z.ini"),
				 0);
		assert_string_equal(cli.config, "/etc/z.ini");
		shmfs_cli_free(&cli);
	}
}

static void words_for_mount_itself_never_reach_libfuse(void **s)
{
	struct shmfs_cli cli;
	char err[256];

	(void)s;
	assert_int_equal(
		PARSE(&cli, err, "-o",
		      "defaults,auto,noauto,user,users,nouser,owner,group,"
		      "_netdev,nofail,x-systemd.automount,comment=x,relatime,"
		      "norelatime,strictatime,nodiratime,lazytime,noexec,ro",
		      "/m"),
		0);
	assert_string_equal(
		joined(&cli),
		"-odefault_permissions,nosuid,nodev,fsname=shmfs,subtype=shmfs "
		"-o noexec -o ro");
	assert_string_equal(cli.suid_dev, "");
	shmfs_cli_free(&cli);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			a_mountpoint_alone_runs_detached_with_our_mount_options),
		cmocka_unit_test(every_option_is_understood),
		cmocka_unit_test(config_is_taken_out_of_mount_options),
		cmocka_unit_test(check_help_and_version_need_no_mountpoint),
		cmocka_unit_test(signal_names_map_to_the_masters_signals),
		cmocka_unit_test(
			a_pid_file_can_be_named_for_s_and_for_the_daemon),
		cmocka_unit_test(
			status_shows_a_mount_and_dot_slash_status_mounts_one),
		cmocka_unit_test(misuse_is_one_clear_error),
		cmocka_unit_test(mounts_form_names_the_ini_file_as_its_source),
		cmocka_unit_test(shmfs_or_none_as_source_means_the_default),
		cmocka_unit_test(words_for_mount_itself_never_reach_libfuse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

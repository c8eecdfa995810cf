/* SPDX-License-Identifier: MIT */
/*
 * Command-line parsing with getopt_long, from one table of the options
 * (letter, long name, argument, --help's text, what it sets), which
 * --help prints and getopt's option strings are made of. Mount options
 * given with -o go to libfuse untouched, except config=FILE, which is
 * ours; shmfs always adds default_permissions (the kernel enforces the
 * zones' modes) and nosuid,nodev (suid and dev are refused), and names
 * itself fsname=shmfs,subtype=shmfs.
 *
 * mount(8) runs mount.fuse3, which runs "shmfs SOURCE MOUNTPOINT -o OPTS":
 * SOURCE is the ini file ("shmfs" or "none": the default), and OPTS carry
 * words meant for mount(8) itself, atime flags, and "dev,suid", which
 * mount.fuse3 appends to every list lacking nodev and nosuid. In that form
 * dev and suid are dropped (the mount stays nosuid,nodev), not refused.
 *
 * "shmfs status MOUNTPOINT [--json]" is a command of its own: argv[1] alone
 * decides, so a mount point called "status" is given as ./status.
 */
#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "shmfs/cli.h"
#include "shmfs/config.h"
#include "shmfs/limits.h"
#include "shmfs/parse.h"

/* nosuid,nodev: zone files are data; no one may run them setuid. */
#define BASE_OPTS "default_permissions,nosuid,nodev,fsname=shmfs,subtype=shmfs"

/*
 * Words that mount(8) and fstab give and that mean nothing to the daemon:
 * mount(8)'s own policy (mount.fuse3 drops most of them before they reach
 * us, but shmfs may be run by hand with an fstab's list), and atime flags
 * that libfuse 3.14 does not know: shmfs keeps no atime, so none changes
 * anything.
 */
static bool ignored_opt(const char *o)
{
	static const char *const words[] = {
		"defaults",    "auto",		"noauto",     "user",
		"users",       "nouser",	"owner",      "group",
		"_netdev",     "nofail",	"relatime",   "norelatime",
		"strictatime", "nostrictatime", "nodiratime", "diratime",
		"lazytime",    "nolazytime",
	};

	if (strncmp(o, "x-", 2) == 0 || strncmp(o, "comment=", 8) == 0)
		return true;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcmp(o, words[i]) == 0)
			return true;
	return false;
}

/* Splits one -o argument: config=FILE is ours, the rest goes to libfuse. */
static int add_mount_opts(struct shmfs_cli *cli, const char *arg, char *err,
			  size_t errlen)
{
	char *copy = strdup(arg), *save = NULL;
	int res = 0;

	if (copy == NULL)
		return -ENOMEM;
	for (char *o = strtok_r(copy, ",", &save); o != NULL;
	     o = strtok_r(NULL, ",", &save)) {
		if (strncmp(o, "config=", 7) == 0) {
			free(cli->owned);
			cli->owned = strdup(o + 7);
			cli->config = cli->owned;
			if (cli->owned == NULL || *cli->config == '\0') {
				snprintf(err, errlen,
					 "-o config= needs a file");
				res = -EINVAL;
				break;
			}
			continue;
		}
		if (ignored_opt(o))
			continue;
		/* Refused or dropped once the form of the command is known. */
		if (strcmp(o, "suid") == 0 || strcmp(o, "dev") == 0) {
			if (cli->suid_dev[0] == '\0')
				snprintf(cli->suid_dev, sizeof(cli->suid_dev),
					 "%s", o);
			continue;
		}
		if (fuse_opt_add_arg(&cli->fuse_args, "-o") < 0 ||
		    fuse_opt_add_arg(&cli->fuse_args, o) < 0) {
			res = -ENOMEM;
			break;
		}
	}
	free(copy);
	return res;
}

/*
 * mount(8)'s form, "shmfs SOURCE MOUNTPOINT": SOURCE names the ini file
 * unless it is "shmfs" or "none", and the dev,suid that mount.fuse3 adds
 * are dropped. Typed by hand without SOURCE, -o suid and -o dev are
 * refused.
 */
static int take_source(struct shmfs_cli *cli, char *err, size_t errlen)
{
	const char *src = cli->source;

	if (src == NULL && cli->suid_dev[0] != '\0') {
		snprintf(err, errlen,
			 "-o %s: shmfs always mounts nosuid,nodev "
			 "(zone files hold data, not programs)",
			 cli->suid_dev);
		return -EINVAL;
	}
	if (src == NULL || strcmp(src, "shmfs") == 0 ||
	    strcmp(src, "none") == 0)
		return 0;
	if (cli->config != NULL) {
		snprintf(err, errlen,
			 "two configuration files: \"%s\" (the source) and "
			 "\"%s\" (-c or config=)",
			 src, cli->config);
		return -EINVAL;
	}
	cli->config = src;
	return 0;
}

/* status [--json] MOUNTPOINT, in any order. */
static int parse_status(int argc, char **argv, struct shmfs_cli *cli, char *err,
			size_t errlen)
{
	cli->status = true;
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			cli->json = true;
		} else if (strcmp(argv[i], "-h") == 0 ||
			   strcmp(argv[i], "--help") == 0) {
			cli->help = true;
			return 0;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			snprintf(err, errlen,
				 "status: unknown option %s "
				 "(usage: shmfs status MOUNTPOINT [--json])",
				 argv[i]);
			return -EINVAL;
		} else if (cli->mountpoint != NULL) {
			snprintf(err, errlen,
				 "status: unexpected argument \"%s\" "
				 "(usage: shmfs status MOUNTPOINT [--json])",
				 argv[i]);
			return -EINVAL;
		} else {
			cli->mountpoint = argv[i];
		}
	}
	if (cli->mountpoint == NULL) {
		snprintf(err, errlen,
			 "status: no mountpoint given "
			 "(usage: shmfs status MOUNTPOINT [--json])");
		return -EINVAL;
	}
	return 0;
}

/*
 * Every option, in --help's order, and the two words the list explains
 * (opt 0): its getopt letter, long name, argument as --help writes it,
 * --help's lines, and what it sets: the bool at flag, or what set does
 * with the argument (returning 0 or -EINVAL with a message in err). stop:
 * the rest of the command line is not read.
 */
struct cli_option {
	int opt;
	const char *name;
	const char *arg;
	const char *help;
	size_t flag;
	int (*set)(struct shmfs_cli *cli, const char *arg, char *err,
		   size_t errlen);
	bool stop;
};

#define NO_FLAG SIZE_MAX
#define FLAG(field) .flag = offsetof(struct shmfs_cli, field)

static int set_config(struct shmfs_cli *cli, const char *arg, char *err,
		      size_t errlen)
{
	(void)err;
	(void)errlen;
	cli->config = arg;
	return 0;
}

static int set_debug(struct shmfs_cli *cli, const char *arg, char *err,
		     size_t errlen)
{
	(void)arg;
	(void)err;
	(void)errlen;
	cli->debug = true;
	cli->foreground = true;
	return 0;
}

static int set_workers(struct shmfs_cli *cli, const char *arg, char *err,
		       size_t errlen)
{
	if (shmfs_parse_workers(arg, &cli->workers) < 0) {
		snprintf(err, errlen,
			 "-w: \"%s\" is not a worker count (1..%d or auto)",
			 arg, SHMFS_WORKERS_MAX);
		return -EINVAL;
	}
	cli->workers_set = true;
	return 0;
}

static int parse_signal(const char *name)
{
	static const struct {
		const char *name;
		int sig;
	} signals[] = {
		{"stop", SIGTERM},
		{"reload", SIGHUP},
		{"reopen", SIGUSR1},
		{"upgrade", SIGUSR2},
	};

	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		if (strcmp(name, signals[i].name) == 0)
			return signals[i].sig;
	return 0;
}

static int set_signal(struct shmfs_cli *cli, const char *arg, char *err,
		      size_t errlen)
{
	cli->signal = parse_signal(arg);
	if (cli->signal == 0) {
		snprintf(err, errlen,
			 "-s: \"%s\" is not stop, reload, reopen or upgrade",
			 arg);
		return -EINVAL;
	}
	return 0;
}

static int set_pidfile(struct shmfs_cli *cli, const char *arg, char *err,
		       size_t errlen)
{
	if (arg[0] != '/') {
		snprintf(err, errlen, "-p: \"%s\" is not an absolute path",
			 arg);
		return -EINVAL;
	}
	cli->pidfile = arg;
	return 0;
}

static const struct cli_option options[] = {
	{'c', "config", "FILE",
	 "the ini file (also -o config=FILE); default\n"
	 "$SHMFS_CONFIG or " SHMFS_CONFIG_PATH " if it exists,\n"
	 "else the built-in configuration",
	 NO_FLAG, set_config},
	{'f', "foreground", NULL,
	 "stay in the foreground; the log goes where log = says\n"
	 "(without it: stderr)",
	 FLAG(foreground)},
	{'d', "debug", NULL, "-f plus debug logging (and libfuse's)", NO_FLAG,
	 set_debug},
	{'w', "workers", "N", "worker processes: 1..256 or auto", NO_FLAG,
	 set_workers},
	{'o', NULL, "OPT[,OPT...]", "FUSE mount options (allow_other, ...)",
	 NO_FLAG, add_mount_opts},
	{0, NULL, "SOURCE",
	 "the ini file, as mount(8) passes it; shmfs or none:\n"
	 "the default",
	 NO_FLAG},
	{'t', "test", NULL, "check the configuration, print the zone table",
	 FLAG(check)},
	{'s', "signal", "SIG",
	 "send stop (SIGTERM), reload (SIGHUP), reopen\n"
	 "(SIGUSR1) or upgrade (SIGUSR2: re-execute in place)\n"
	 "to the master named by the pid file; stop returns\n"
	 "once the master has exited",
	 NO_FLAG, set_signal},
	{'p', "pid-file", "FILE",
	 "the pid file (absolute), instead of pid =", NO_FLAG, set_pidfile},
	{0, NULL, "status MOUNTPOINT",
	 "the zones (as df would) and the workers of a\n"
	 "mount, from its /.stats; --json for scripts.\n"
	 "(A mount point named status: ./status)",
	 NO_FLAG},
	{'h', "help", NULL, "this text", FLAG(help), NULL, true},
	{'V', "version", NULL, "the version, and libfuse's", FLAG(version),
	 NULL, true},
};

#define NOPTIONS (sizeof(options) / sizeof(*options))
_Static_assert(SHMFS_WORKERS_MAX == 256, "--help says 1..256");

/* Where --help's text starts after an option: two spaces, 19, one. */
#define HELP_COLUMN 22

/* "-c, --config FILE", "-o OPT[,OPT...]", or the word itself. */
static void option_label(const struct cli_option *o, char *buf, size_t len)
{
	if (o->opt == 0)
		snprintf(buf, len, "%s", o->arg);
	else
		snprintf(buf, len, "-%c%s%s%s%s", o->opt, o->name ? ", --" : "",
			 o->name ? o->name : "", o->arg ? " " : "",
			 o->arg ? o->arg : "");
}

void shmfs_cli_usage(FILE *out)
{
	char label[64];

	fprintf(out, "usage: shmfs [-c FILE] [-f] [-d] [-w N] "
		     "[-o OPT[,OPT...]] [SOURCE] MOUNTPOINT\n"
		     "       shmfs -t [-c FILE]\n"
		     "       shmfs -s stop|reload|reopen|upgrade "
		     "[-c FILE | -p FILE]\n"
		     "       shmfs status MOUNTPOINT [--json]\n"
		     "       shmfs -h | -V\n"
		     "\n"
		     "Presents the shared-memory zones of an ini file as "
		     "files.\n"
		     "\n");
	for (size_t i = 0; i < NOPTIONS; i++) {
		const char *h = options[i].help, *nl;

		option_label(&options[i], label, sizeof(label));
		fprintf(out, "  %-*s ", HELP_COLUMN - 3, label);
		while ((nl = strchr(h, '\n')) != NULL) {
			fprintf(out, "%.*s\n%*s", (int)(nl - h), h, HELP_COLUMN,
				"");
			h = nl + 1;
		}
		fprintf(out, "%s\n", h);
	}
	fprintf(out, "\nStop with: fusermount3 -u MOUNTPOINT (or SIGTERM to "
		     "the master).\n");
}

/* getopt_long's short and long options, made of the table. */
static void getopt_options(char *shortopts, struct option *longopts)
{
	size_t n = 0, l = 0;

	shortopts[n++] = ':';
	for (size_t i = 0; i < NOPTIONS; i++) {
		const struct cli_option *o = &options[i];

		if (o->opt == 0)
			continue;
		shortopts[n++] = (char)o->opt;
		if (o->arg)
			shortopts[n++] = ':';
		if (o->name)
			longopts[l++] = (struct option){
				o->name,
				o->arg ? required_argument : no_argument, NULL,
				o->opt};
	}
	shortopts[n] = '\0';
	longopts[l] = (struct option){NULL, 0, NULL, 0};
}

/* What getopt returned that is no option: the message for it. */
static int bad_option(int c, char **argv, char *err, size_t errlen)
{
	if (c == ':')
		snprintf(err, errlen,
			 "option %s needs a value (see shmfs --help)",
			 argv[optind - 1]);
	else if (optopt != 0)
		snprintf(err, errlen, "unknown option -%c (see shmfs --help)",
			 optopt);
	else
		snprintf(err, errlen, "unknown option %s (see shmfs --help)",
			 argv[optind - 1]);
	return -EINVAL;
}

/*
 * Reads the options. Returns 1 when one that stops the reading was given
 * (-h, -V), 0 at the end of them, or -errno with a message in err.
 */
static int read_options(int argc, char **argv, struct shmfs_cli *cli, char *err,
			size_t errlen)
{
	char shortopts[2 * NOPTIONS + 2];
	struct option longopts[NOPTIONS + 1];
	int c, res;

	getopt_options(shortopts, longopts);
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		const struct cli_option *o = NULL;

		for (size_t i = 0; i < NOPTIONS && !o; i++)
			if (options[i].opt == c)
				o = &options[i];
		if (o == NULL)
			return bad_option(c, argv, err, errlen);
		if (o->flag != NO_FLAG)
			*(bool *)((char *)cli + o->flag) = true;
		res = o->set ? o->set(cli, optarg, err, errlen) : 0;
		if (res < 0)
			return res;
		if (o->stop)
			return 1;
	}
	return 0;
}

/* The words after the options, and which options go together. */
static int check_form(int argc, char **argv, struct shmfs_cli *cli, char *err,
		      size_t errlen)
{
	if (argc - optind >= 2)
		cli->source = argv[optind++];
	if (optind < argc)
		cli->mountpoint = argv[optind++];
	if (optind < argc) {
		snprintf(err, errlen,
			 "unexpected argument \"%s\" (see shmfs --help)",
			 argv[optind]);
		return -EINVAL;
	}
	if (cli->check && cli->signal) {
		snprintf(err, errlen, "-t and -s do not go together");
		return -EINVAL;
	}
	if ((cli->check || cli->signal) &&
	    (cli->mountpoint != NULL || cli->source != NULL)) {
		snprintf(err, errlen, "-%c takes no mountpoint",
			 cli->check ? 't' : 's');
		return -EINVAL;
	}
	if (!cli->check && !cli->signal && cli->mountpoint == NULL) {
		snprintf(err, errlen, "no mountpoint given (see shmfs --help)");
		return -EINVAL;
	}
	return 0;
}

int shmfs_cli_parse(int argc, char **argv, struct shmfs_cli *cli, char *err,
		    size_t errlen)
{
	struct fuse_args empty = FUSE_ARGS_INIT(0, NULL);
	int res;

	memset(cli, 0, sizeof(*cli));
	cli->fuse_args = empty;
	if (fuse_opt_add_arg(&cli->fuse_args, argc > 0 ? argv[0] : "shmfs") <
		    0 ||
	    fuse_opt_add_arg(&cli->fuse_args, "-o" BASE_OPTS) < 0)
		return -ENOMEM;
	if (argc > 1 && strcmp(argv[1], "status") == 0)
		return parse_status(argc, argv, cli, err, errlen);
	res = read_options(argc, argv, cli, err, errlen);
	if (res != 0)
		return res < 0 ? res : 0;
	res = check_form(argc, argv, cli, err, errlen);
	if (res == 0)
		res = take_source(cli, err, errlen);
	if (res == 0 && cli->debug &&
	    fuse_opt_add_arg(&cli->fuse_args, "-odebug") < 0)
		res = -ENOMEM;
	return res;
}

void shmfs_cli_free(struct shmfs_cli *cli)
{
	fuse_opt_free_args(&cli->fuse_args);
	free(cli->owned);
	cli->owned = NULL;
}

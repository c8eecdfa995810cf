/* SPDX-License-Identifier: MIT */
/*
 * Command-line parsing with getopt_long. Mount options given with -o go to
 * libfuse untouched, except config=FILE, which is ours; shmfs always adds
 * default_permissions (the kernel enforces the zones' modes) and nosuid,nodev
 * (suid and dev are refused), and names itself fsname=shmfs,subtype=shmfs.
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
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "shmfs/cli.h"
#include "shmfs/config.h"
#include "shmfs/limits.h"
#include "shmfs/parse.h"

/* nosuid,nodev: zone files are data; no one may run them setuid. */
#define BASE_OPTS "default_permissions,nosuid,nodev,fsname=shmfs,subtype=shmfs"

void shmfs_cli_usage(FILE *out)
{
	fprintf(out,
		"usage: shmfs [-c FILE] [-f] [-d] [-w N] [-o OPT[,OPT...]] "
		"[SOURCE] MOUNTPOINT\n"
		"       shmfs -t [-c FILE]\n"
		"       shmfs -s stop|reload|reopen [-c FILE | -p FILE]\n"
		"       shmfs status MOUNTPOINT [--json]\n"
		"       shmfs -h | -V\n"
		"\n"
		"Presents the shared-memory zones of an ini file as files.\n"
		"\n"
		"  -c, --config FILE   the ini file (also -o config=FILE); "
		"default\n"
		"                      $SHMFS_CONFIG or " SHMFS_CONFIG_PATH
		" if it exists,\n"
		"                      else the built-in configuration\n"
		"  -f, --foreground    stay in the foreground; the log goes "
		"where log = says\n"
		"                      (without it: stderr)\n"
		"  -d, --debug         -f plus debug logging (and libfuse's)\n"
		"  -w, --workers N     worker processes: 1..256 or auto\n"
		"  -o OPT[,OPT...]     FUSE mount options (allow_other, ...)\n"
		"  SOURCE              the ini file, as mount(8) passes it; "
		"shmfs or none:\n"
		"                      the default\n"
		"  -t, --test          check the configuration, print the "
		"zone table\n"
		"  -s, --signal SIG    send stop (SIGTERM), reload (SIGHUP) or "
		"reopen\n"
		"                      (SIGUSR1) to the master named by the "
		"pid file;\n"
		"                      stop returns once the master has "
		"exited\n"
		"  -p, --pid-file FILE the pid file (absolute), instead of "
		"pid =\n"
		"  status MOUNTPOINT   the zones (as df would) and the workers "
		"of a\n"
		"                      mount, from its /.stats; --json for "
		"scripts.\n"
		"                      (A mount point named status: ./status)\n"
		"  -h, --help          this text\n"
		"  -V, --version       the version, and libfuse's\n"
		"\n"
		"Stop with: fusermount3 -u MOUNTPOINT (or SIGTERM to the "
		"master).\n");
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
	};

	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		if (strcmp(name, signals[i].name) == 0)
			return signals[i].sig;
	return 0;
}

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

int shmfs_cli_parse(int argc, char **argv, struct shmfs_cli *cli, char *err,
		    size_t errlen)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"foreground", no_argument, NULL, 'f'},
		{"debug", no_argument, NULL, 'd'},
		{"workers", required_argument, NULL, 'w'},
		{"test", no_argument, NULL, 't'},
		{"signal", required_argument, NULL, 's'},
		{"pid-file", required_argument, NULL, 'p'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct fuse_args empty = FUSE_ARGS_INIT(0, NULL);
	int c, res;

	memset(cli, 0, sizeof(*cli));
	cli->fuse_args = empty;
	if (fuse_opt_add_arg(&cli->fuse_args, argc > 0 ? argv[0] : "shmfs") <
		    0 ||
	    fuse_opt_add_arg(&cli->fuse_args, "-o" BASE_OPTS) < 0)
		return -ENOMEM;
	if (argc > 1 && strcmp(argv[1], "status") == 0)
		return parse_status(argc, argv, cli, err, errlen);

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":c:fdw:o:ts:p:hV", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'c':
			cli->config = optarg;
			break;
		case 'd':
			cli->debug = true;
			/* fall through */
		case 'f':
			cli->foreground = true;
			break;
		case 'w':
			res = shmfs_parse_workers(optarg, &cli->workers);
			if (res < 0) {
				snprintf(err, errlen,
					 "-w: \"%s\" is not a worker count "
					 "(1..%d or auto)",
					 optarg, SHMFS_WORKERS_MAX);
				return -EINVAL;
			}
			cli->workers_set = true;
			break;
		case 'o':
			res = add_mount_opts(cli, optarg, err, errlen);
			if (res < 0)
				return res;
			break;
		case 't':
			cli->check = true;
			break;
		case 'p':
			if (optarg[0] != '/') {
				snprintf(err, errlen,
					 "-p: \"%s\" is not an absolute path",
					 optarg);
				return -EINVAL;
			}
			cli->pidfile = optarg;
			break;
		case 's':
			cli->signal = parse_signal(optarg);
			if (cli->signal == 0) {
				snprintf(err, errlen,
					 "-s: \"%s\" is not stop, reload or "
					 "reopen",
					 optarg);
				return -EINVAL;
			}
			break;
		case 'h':
			cli->help = true;
			return 0;
		case 'V':
			cli->version = true;
			return 0;
		case ':':
			snprintf(err, errlen,
				 "option %s needs a value "
				 "(see shmfs --help)",
				 argv[optind - 1]);
			return -EINVAL;
		default:
			if (optopt != 0)
				snprintf(err, errlen,
					 "unknown option -%c "
					 "(see shmfs --help)",
					 optopt);
			else
				snprintf(err, errlen,
					 "unknown option %s "
					 "(see shmfs --help)",
					 argv[optind - 1]);
			return -EINVAL;
		}
	}

	if (argc - optind >= 2)
		cli->source = argv[optind++];
	if (optind < argc)
		cli->mountpoint = argv[optind++];
	if (optind < argc) {
		snprintf(err, errlen,
			 "unexpected argument \"%s\" "
			 "(see shmfs --help)",
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
	res = take_source(cli, err, errlen);
	if (res < 0)
		return res;
	if (cli->debug && fuse_opt_add_arg(&cli->fuse_args, "-odebug") < 0)
		return -ENOMEM;
	return 0;
}

void shmfs_cli_free(struct shmfs_cli *cli)
{
	fuse_opt_free_args(&cli->fuse_args);
	free(cli->owned);
	cli->owned = NULL;
}

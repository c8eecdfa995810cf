/* SPDX-License-Identifier: MIT */
/*
 * The command line: shmfs [-c FILE] [-f] [-d] [-w N] [-o OPT,...] [SOURCE]
 * MOUNTPOINT, shmfs -t [-c FILE], shmfs -s stop|reload|reopen|upgrade
 * [-c FILE], shmfs status MOUNTPOINT [--json], -h, -V. SOURCE is what
 * mount(8) (through mount.fuse3) passes: the ini file, or "shmfs" or
 * "none" for the default.
 */
#ifndef SHMFS_CLI_H
#define SHMFS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <fuse_lowlevel.h>

struct shmfs_cli {
	const char *config; /* -c, --config, -o config=; NULL: the default */
	const char *mountpoint;
	/*
	 * SOURCE, given in mount(8)'s form "shmfs SOURCE MOUNTPOINT"; when it
	 * names a file, config points to it too. NULL: not given.
	 */
	const char *source;
	/*
	 * "suid" or "dev" if -o gave one (the first): refused when typed by
	 * hand, dropped in mount(8)'s form, where mount.fuse3 adds them to
	 * every option list. Empty: neither was given.
	 */
	char suid_dev[8];
	bool foreground;     /* -f, or -d */
	bool debug;	     /* -d */
	bool check;	     /* -t */
	bool help;	     /* -h */
	bool version;	     /* -V */
	bool status;	     /* status MOUNTPOINT: show, do not mount */
	bool json;	     /* status --json */
	int signal;	     /* -s stop, reload, ...: the signal; 0: none */
	const char *pidfile; /* -p, --pid-file: absolute; overrides pid = */
	bool workers_set;
	unsigned workers; /* -w: 0 is auto */
	/*
	 * What libfuse gets: argv[0] and one -o with default_permissions,
	 * fsname and subtype, followed by the user's mount options.
	 */
	struct fuse_args fuse_args;
	char *owned; /* storage for config= taken out of -o */
};

/*
 * Parses argv. Returns 0, or -EINVAL with one line (no "shmfs: " prefix, no
 * newline) in err. Free with shmfs_cli_free either way.
 */
int shmfs_cli_parse(int argc, char **argv, struct shmfs_cli *cli, char *err,
		    size_t errlen);

void shmfs_cli_free(struct shmfs_cli *cli);

/* The --help text. */
void shmfs_cli_usage(FILE *out);

#endif /* SHMFS_CLI_H */

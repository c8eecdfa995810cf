/* SPDX-License-Identifier: MIT */
/*
 * shmfs status MOUNTPOINT: makes sure MOUNTPOINT is a live shmfs mount
 * (statfs says FUSE, /proc/self/mountinfo says fuse.shmfs at that very
 * path), reads its /.stats whole and hands it to the parser
 * (status_parse.c) and the printers (status_print.c). Each failure is one
 * line on stderr naming its cause.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>

#include "shmfs/exit.h"
#include "shmfs/status.h"

__attribute__((format(printf, 1, 2))) static void say(const char *fmt, ...)
{
	va_list ap;

	fputs("shmfs: status: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(char *s)
{
	char *d = s;

	for (; *s != '\0'; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' &&
		    s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 |
				      (s[3] - '0'));
			s += 3;
		} else {
			*d++ = *s;
		}
	}
	*d = '\0';
}

/*
 * The file system type of the mount at path (the last one: mounts stack),
 * into type; -ENOENT if path is no mount point.
 */
static int mount_type(const char *path, char *type, size_t cap)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t n = 0;
	int res = -ENOENT;

	if (f == NULL)
		return -errno;
	while (getline(&line, &n, f) > 0) {
		char *save = NULL, *mnt = NULL, *tok;
		int i = 0;

		for (tok = strtok_r(line, " \n", &save); tok != NULL;
		     tok = strtok_r(NULL, " \n", &save), i++) {
			if (i == 4)
				mnt = tok;
			if (i > 5 && strcmp(tok, "-") == 0)
				break;
		}
		tok = strtok_r(NULL, " \n", &save);
		if (mnt == NULL || tok == NULL)
			continue;
		unescape(mnt);
		if (strcmp(mnt, path) == 0) {
			snprintf(type, cap, "%s", tok);
			res = 0;
		}
	}
	free(line);
	fclose(f);
	return res;
}

static void say_gone(const char *mountpoint)
{
	say("%s: its daemon is gone (%s): unmount it with fusermount3 -u %s",
	    mountpoint, strerror(ENOTCONN), mountpoint);
}

/* 0, or the exit status of a failure, which it has told. */
static int check_mount(const char *mountpoint)
{
	char *real = NULL, type[64];
	struct statfs sfs;
	struct stat st;
	int res;

	if (stat(mountpoint, &st) < 0) {
		int err = errno;

		if (err == ENOTCONN)
			say_gone(mountpoint);
		else
			say("%s: %s%s", mountpoint, strerror(err),
			    err == EACCES ? " (a FUSE mount without -o "
					    "allow_other is its owner's alone)"
					  : "");
		return err == EACCES ? SHMFS_STATUS_UNREADABLE
				     : SHMFS_STATUS_NOT_SHMFS;
	}
	if (!S_ISDIR(st.st_mode)) {
		say("%s: not a directory, so not a shmfs mount point",
		    mountpoint);
		return SHMFS_STATUS_NOT_SHMFS;
	}
	/* A stat may come from the kernel's cache; statfs asks the daemon. */
	if (statfs(mountpoint, &sfs) < 0) {
		if (errno == ENOTCONN)
			say_gone(mountpoint);
		else
			say("%s: statfs: %s", mountpoint, strerror(errno));
		return SHMFS_STATUS_NOT_SHMFS;
	}
	real = realpath(mountpoint, NULL);
	res = sfs.f_type != FUSE_SUPER_MAGIC || real == NULL
		      ? -ENOENT
		      : mount_type(real, type, sizeof(type));
	if (res == 0 && strcmp(type, "fuse.shmfs") != 0) {
		say("%s: a %s mount, not shmfs", mountpoint, type);
		res = -1;
	} else if (res < 0) {
		say("%s: not a shmfs mount point", mountpoint);
	}
	free(real);
	return res < 0 ? SHMFS_STATUS_NOT_SHMFS : 0;
}

/* The whole of fd (path names it) into a malloc'd buffer. */
static int read_all(int fd, const char *path, char **text, size_t *len)
{
	size_t cap = 0;
	char *buf = NULL;

	*len = 0;
	for (;;) {
		if (*len == cap) {
			char *p = realloc(buf, cap = cap ? cap * 2 : 1 << 16);

			if (p == NULL) {
				say("%s: %s", path, strerror(ENOMEM));
				free(buf);
				return -1;
			}
			buf = p;
		}
		ssize_t n = read(fd, buf + *len, cap - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			say("%s: read: %s", path, strerror(errno));
			free(buf);
			return -1;
		}
		if (n == 0)
			break;
		*len += n;
	}
	*text = buf;
	return 0;
}

/* The whole of MOUNTPOINT/.stats into a malloc'd buffer. */
static int read_stats(const char *mountpoint, char **text, size_t *len)
{
	char path[PATH_MAX];
	int fd, res;

	if (snprintf(path, sizeof(path), "%s/.stats", mountpoint) >=
	    (int)sizeof(path)) {
		say("%s: name too long", mountpoint);
		return -1;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int err = errno;

		say("%s: %s%s", path, strerror(err),
		    err == EMFILE || err == ENFILE
			    ? " (too many opens of .stats and .metrics)"
		    : err == EACCES ? " (a mount without -o allow_other is "
				      "its owner's alone)"
				    : "");
		return -1;
	}
	res = read_all(fd, path, text, len);
	close(fd);
	return res;
}

int shmfs_status_run(const char *mountpoint, bool json)
{
	struct shmfs_status st;
	char err[256], *text;
	size_t len;
	int res;

	res = check_mount(mountpoint);
	if (res != 0)
		return res;
	if (read_stats(mountpoint, &text, &len) < 0)
		return SHMFS_STATUS_UNREADABLE;
	res = shmfs_status_parse(text, len, &st, err, sizeof(err));
	free(text);
	if (res < 0) {
		say("%s/.stats:%s", mountpoint, err);
		shmfs_status_free(&st);
		return SHMFS_STATUS_UNREADABLE;
	}
	if (json)
		shmfs_status_print_json(&st, mountpoint, stdout);
	else
		shmfs_status_print(&st, mountpoint, stdout);
	shmfs_status_free(&st);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		say("writing the output: %s", strerror(errno));
		return SHMFS_EXIT_USAGE;
	}
	return SHMFS_EXIT_OK;
}

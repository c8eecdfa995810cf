/* SPDX-License-Identifier: MIT */
/*
 * Opening the files root reads and writes at configured paths. O_NOFOLLOW
 * refuses a symbolic link planted in a world-writable directory; fstat on
 * what was opened (not a second lookup of the path) refuses anything but a
 * regular file with one link. A zone's file is reached one component at a
 * time from /, through directories and links nobody else controls (every
 * one on the way, links resolved: whoever controls any of them could swap
 * what lies below it), so that the file opened is the one the checks saw.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shmfs/safefile.h"

/* As the kernel's own limit on links followed in one lookup. */
#define LINKS_MAX 40

int shmfs_file_openat(int dirfd, const char *name, int flags, mode_t mode)
{
	struct stat st;
	int fd = openat(dirfd, name,
			flags | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC,
			mode);
	int err = 0;

	if (fd < 0) /* ENXIO: a FIFO or socket with no reader */
		return errno == ENXIO ? -EINVAL : -errno;
	if (fstat(fd, &st) < 0)
		err = -errno;
	else if (!S_ISREG(st.st_mode))
		err = -EINVAL;
	else if (st.st_nlink > 1)
		err = -EMLINK;
	else if (fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0)
		err = -errno;
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

int shmfs_file_open(const char *path, int flags, mode_t mode)
{
	return shmfs_file_openat(AT_FDCWD, path, flags, mode);
}

/* Only root and the daemon's user may control a lookup made for root. */
static bool trusted(uid_t uid)
{
	return uid == 0 || uid == geteuid();
}

static int refuse(struct shmfs_file_why *why, enum shmfs_file_rule rule,
		  const char *at, const struct stat *st)
{
	why->rule = rule;
	snprintf(why->at, sizeof(why->at), "%s", *at ? at : "/");
	why->uid = st->st_uid;
	why->mode = st->st_mode & 07777;
	return -EPERM;
}

/* A directory on the way: root's or ours, and nobody else may change it. */
static int check_dir(int fd, const char *at, struct shmfs_file_why *why)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (!trusted(st.st_uid))
		return refuse(why, SHMFS_FILE_DIR_OWNER, at, &st);
	/* Sticky (/tmp): others may add entries, but not replace ours. */
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX))
		return refuse(why, SHMFS_FILE_DIR_WRITABLE, at, &st);
	return 0;
}

static int open_root(void)
{
	int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/*
 * The component at *p (skipping slashes) into comp; *p moves past it.
 * Returns its length (0 at the end) or -ENAMETOOLONG.
 */
static int next_component(const char **p, char *comp)
{
	const char *s = *p + strspn(*p, "/");
	size_t len = strcspn(s, "/");

	if (len > NAME_MAX)
		return -ENAMETOOLONG;
	memcpy(comp, s, len);
	comp[len] = '\0';
	*p = s + len;
	return (int)len;
}

/*
 * A link met with *rest left to walk: its target goes first. An absolute
 * one starts again from / (already checked). Returns 0 or -errno.
 */
static int follow(int link, char *rest, size_t cap, const char **p, int *fd,
		  char *at)
{
	char target[PATH_MAX], joined[2 * PATH_MAX];
	ssize_t n = readlinkat(link, "", target, sizeof(target));

	if (n < 0)
		return -errno;
	if ((size_t)n >= sizeof(target))
		return -ENAMETOOLONG;
	target[n] = '\0';
	if ((size_t)snprintf(joined, sizeof(joined), "%s/%s", target, *p) >=
	    cap)
		return -ENAMETOOLONG;
	strcpy(rest, joined);
	*p = rest;
	if (target[0] == '/') {
		int root = open_root();

		if (root < 0)
			return root;
		close(*fd);
		*fd = root;
		at[0] = '\0';
	}
	return 0;
}

/* One step from the directory *fd (at) to comp; at grows with it. */
static int step(int *fd, char *at, const char *comp, char *rest, size_t cap,
		const char **p, int *links, struct shmfs_file_why *why)
{
	size_t len = strlen(at);
	struct stat st;
	int next, err;

	if (strcmp(comp, ".") == 0)
		return 0;
	if (len + 1 + strlen(comp) >= PATH_MAX)
		return -ENAMETOOLONG;
	if (strcmp(comp, "..") == 0) {
		next = openat(*fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (next < 0)
			return -errno;
		close(*fd);
		*fd = next;
		*(strrchr(at, '/') ? strrchr(at, '/') : at) = '\0';
		return check_dir(*fd, at, why);
	}
	snprintf(at + len, PATH_MAX - len, "/%s", comp);
	next = openat(*fd, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (next < 0 || fstat(next, &st) < 0) {
		err = -errno;
		snprintf(why->at, sizeof(why->at), "%s", at);
		if (next >= 0)
			close(next);
		return err;
	}
	if (S_ISLNK(st.st_mode)) {
		/* A link another user made can point anywhere, at any time. */
		if (!trusted(st.st_uid))
			err = refuse(why, SHMFS_FILE_LINK_OWNER, at, &st);
		else if (++*links > LINKS_MAX)
			err = -ELOOP;
		else
			err = 0;
		at[len] = '\0'; /* a link is not a directory of the path */
		if (err == 0)
			err = follow(next, rest, cap, p, fd, at);
		close(next);
		return err;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(why->at, sizeof(why->at), "%s", at);
		close(next);
		return -ENOTDIR;
	}
	close(*fd);
	*fd = next;
	return check_dir(*fd, at, why);
}

int shmfs_file_open_dir(const char *path, const char **name,
			struct shmfs_file_why *why)
{
	char rest[2 * PATH_MAX], at[PATH_MAX] = "", comp[NAME_MAX + 1];
	const char *slash = strrchr(path, '/'), *p = rest;
	int fd, err, links = 0;

	memset(why, 0, sizeof(*why));
	if (path[0] != '/' || slash[1] == '\0' || strcmp(slash + 1, ".") == 0 ||
	    strcmp(slash + 1, "..") == 0)
		return -EINVAL;
	if ((size_t)(slash - path) >= sizeof(rest))
		return -ENAMETOOLONG;
	*name = slash + 1;
	memcpy(rest, path, slash - path);
	rest[slash - path] = '\0';
	fd = open_root();
	if (fd < 0)
		return fd;
	err = check_dir(fd, at, why);
	while (err == 0 && (err = next_component(&p, comp)) > 0)
		err = step(&fd, at, comp, rest, sizeof(rest), &p, &links, why);
	if (err < 0) {
		close(fd);
		return err;
	}
	snprintf(why->at, sizeof(why->at), "%s", *at ? at : "/");
	return fd;
}

void shmfs_file_why_text(const struct shmfs_file_why *why, char *buf,
			 size_t len)
{
	const char *what = why->rule == SHMFS_FILE_LINK_OWNER ? "symbolic link"
							      : "directory";

	if (why->rule == SHMFS_FILE_DIR_WRITABLE)
		snprintf(buf, len,
			 "directory %s (mode %04o) is writable by group or "
			 "others and not sticky",
			 why->at, (unsigned)why->mode);
	else
		snprintf(buf, len,
			 "%s %s is owned by uid %u, not root or the daemon's "
			 "user",
			 what, why->at, (unsigned)why->uid);
}

int shmfs_file_check_writable(const char *path)
{
	struct stat st;
	char dir[4096];
	const char *slash = strrchr(path, '/');

	if (lstat(path, &st) == 0) {
		if (S_ISLNK(st.st_mode))
			return -ELOOP;
		if (!S_ISREG(st.st_mode))
			return -EINVAL;
		if (st.st_nlink > 1)
			return -EMLINK;
		return access(path, W_OK) < 0 ? -errno : 0;
	}
	if (errno != ENOENT || slash == NULL)
		return -errno;
	snprintf(dir, sizeof(dir), "%.*s",
		 slash == path ? 1 : (int)(slash - path), path);
	return access(dir, W_OK | X_OK) < 0 ? -errno : 0;
}

const char *shmfs_file_strerror(int err)
{
	switch (err) {
	case -ELOOP:
		return "is a symbolic link (refused)";
	case -EINVAL:
		return "is not a regular file (refused)";
	case -EMLINK:
		return "has another hard link (refused)";
	default:
		return strerror(-err);
	}
}

/* SPDX-License-Identifier: MIT */
/*
 * The service manager's descriptor store, spoken directly (see fdstore.h
 * for why): named fd lists, LISTEN_FDS taken in, a store kept equal to a
 * wanted list with as few messages as possible, and LISTEN_FDS set for a
 * re-exec of ourselves. The store keeps a copy of each fd it stored, so
 * that "is this still the stored file" is a kcmp(2) of two open files, not
 * a guess from an fd number that may have been closed and reused.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/kcmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shmfs/fdstore.h"
#include "shmfs/log.h"
#include "shmfs/notify.h"

/* sd_listen_fds(3): passed descriptors start here. */
#define LISTEN_FDS_START 3

struct shmfs_fdstore_held {
	char name[SHMFS_FDNAME_MAX + 1];
	int fd; /* the store's copy; -1: identity unknown, re-store */
	dev_t dev;
	ino_t ino;
	mode_t mode;
};

static bool valid_name(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > SHMFS_FDNAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (name[i] == ':' || name[i] < 0x21 || name[i] > 0x7e)
			return false;
	return true;
}

/* Appends without checking the name: LISTEN_FDNAMES may repeat one. */
static int list_append(struct shmfs_fdlist *l, const char *name, int fd)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		struct shmfs_fdname *v = realloc(l->v, cap * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	snprintf(l->v[l->n].name, sizeof(l->v[l->n].name), "%s", name);
	l->v[l->n].fd = fd;
	l->n++;
	return 0;
}

int shmfs_fdlist_add(struct shmfs_fdlist *l, const char *name, int fd)
{
	if (fd < 0 || !valid_name(name))
		return -EINVAL;
	if (shmfs_fdlist_find(l, name) >= 0)
		return -EEXIST;
	return list_append(l, name, fd);
}

static ssize_t list_index(const struct shmfs_fdlist *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].name, name) == 0)
			return (ssize_t)i;
	return -1;
}

int shmfs_fdlist_find(const struct shmfs_fdlist *l, const char *name)
{
	ssize_t i = list_index(l, name);

	return i < 0 ? -1 : l->v[i].fd;
}

int shmfs_fdlist_claim(struct shmfs_fdlist *l, const char *name)
{
	ssize_t i = list_index(l, name);
	int fd;

	if (i < 0)
		return -1;
	fd = l->v[i].fd;
	memmove(&l->v[i], &l->v[i + 1], (l->n - (size_t)i - 1) * sizeof(*l->v));
	l->n--;
	return fd;
}

void shmfs_fdlist_free(struct shmfs_fdlist *l)
{
	free(l->v);
	*l = (struct shmfs_fdlist){0};
}

void shmfs_fdlist_close(struct shmfs_fdlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].fd >= 0 && close(l->v[i].fd) < 0)
			shmfs_log_sys(LOG_WARNING, errno,
				      "close(%d) of stored fd %s failed",
				      l->v[i].fd, l->v[i].name);
	shmfs_fdlist_free(l);
}

/* A decimal number in [0, max], all of s. */
static int parse_number(const char *s, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0 || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* How many ':'-separated names s holds ("" holds none). */
static size_t count_names(const char *s)
{
	size_t n = 1;

	if (s == NULL || *s == '\0')
		return 0;
	for (; *s; s++)
		n += *s == ':';
	return n;
}

/*
 * Appends fd 3+i under the i-th name of names (NULL: none). A name we
 * could not have stored (empty, too long) is "unknown".
 */
static int take_one(struct shmfs_fdlist *got, const char **names, long i)
{
	char name[SHMFS_FDNAME_MAX + 1] = "unknown";

	if (*names != NULL) {
		const char *end = strchrnul(*names, ':');
		size_t len = (size_t)(end - *names);

		if (len > 0 && len <= SHMFS_FDNAME_MAX) {
			memcpy(name, *names, len);
			name[len] = '\0';
		}
		*names = *end ? end + 1 : end;
	}
	return list_append(got, name, LISTEN_FDS_START + (int)i);
}

/* The variables' values checked, then the fds appended to got. */
static int take_fds(struct shmfs_fdlist *got, const char *pid_s,
		    const char *fds_s, const char *names)
{
	size_t before = got->n;
	long pid, n;
	int res;

	if (parse_number(pid_s, INT_MAX, &pid) < 0 ||
	    parse_number(fds_s, INT_MAX - LISTEN_FDS_START, &n) < 0)
		return -EINVAL;
	if (pid != (long)getpid() || n == 0)
		return 0;
	if (count_names(names) != 0 && count_names(names) != (size_t)n)
		return -EINVAL;
	if (count_names(names) == 0)
		names = NULL;
	for (long i = 0; i < n; i++)
		if (fcntl(LISTEN_FDS_START + (int)i, F_GETFD) < 0)
			return -EBADF;
	for (long i = 0; i < n; i++) {
		res = take_one(got, &names, i);
		if (res < 0) {
			got->n = before;
			return res;
		}
	}
	for (long i = 0; i < n; i++)
		fcntl(LISTEN_FDS_START + (int)i, F_SETFD, FD_CLOEXEC);
	return (int)n;
}

int shmfs_fdstore_take(struct shmfs_fdlist *got)
{
	const char *pid_s = getenv("LISTEN_PID");
	const char *fds_s = getenv("LISTEN_FDS");
	const char *names = getenv("LISTEN_FDNAMES");
	int res = 0;

	if (pid_s != NULL && fds_s != NULL) {
		res = take_fds(got, pid_s, fds_s, names);
		if (res < 0)
			shmfs_log_sys(LOG_WARNING, -res,
				      "LISTEN_PID=%s LISTEN_FDS=%s "
				      "LISTEN_FDNAMES=%s cannot be used: no "
				      "stored descriptor is taken",
				      pid_s, fds_s, names ? names : "(unset)");
	}
	/* After the last use of the values: unsetenv may free them. */
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return res;
}

void shmfs_fdstore_init(struct shmfs_fdstore *s)
{
	*s = (struct shmfs_fdstore){.on = shmfs_notify_on()};
}

static struct shmfs_fdstore_held *held_find(struct shmfs_fdstore *s,
					    const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->held[i].name, name) == 0)
			return &s->held[i];
	return NULL;
}

/* Keeps the order: a sync's removals then follow the order of storing. */
static void held_drop(struct shmfs_fdstore *s, struct shmfs_fdstore_held *h)
{
	size_t i = (size_t)(h - s->held);

	if (h->fd >= 0)
		close(h->fd);
	memmove(h, h + 1, (s->n - i - 1) * sizeof(*h));
	s->n--;
}

/* Records name as held, with a copy of fd. */
static int held_add(struct shmfs_fdstore *s, const char *name, int fd)
{
	struct shmfs_fdstore_held *h;
	struct stat st;
	int copy;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		struct shmfs_fdstore_held *v =
			realloc(s->held, cap * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		s->held = v;
		s->cap = cap;
	}
	copy = fcntl(fd, F_DUPFD_CLOEXEC, LISTEN_FDS_START);
	if (copy < 0 || fstat(copy, &st) < 0) {
		int err = errno;

		shmfs_log_sys(LOG_WARNING, err,
			      "fcntl(%d, F_DUPFD_CLOEXEC) of stored fd %s "
			      "failed",
			      fd, name);
		if (copy >= 0)
			close(copy);
		return -err;
	}
	h = &s->held[s->n++];
	snprintf(h->name, sizeof(h->name), "%s", name);
	h->fd = copy;
	h->dev = st.st_dev;
	h->ino = st.st_ino;
	h->mode = st.st_mode;
	return 0;
}

int shmfs_fdstore_seed(struct shmfs_fdstore *s, const struct shmfs_fdlist *got)
{
	for (size_t i = 0; s->on && i < got->n; i++) {
		struct shmfs_fdstore_held *h = held_find(s, got->v[i].name);
		int res;

		if (h != NULL) {
			/* Two under one name: which one is ours is unknown. */
			if (h->fd >= 0)
				close(h->fd);
			h->fd = -1;
			continue;
		}
		res = held_add(s, got->v[i].name, got->v[i].fd);
		if (res < 0)
			return res;
	}
	return 0;
}

/*
 * Whether fd is the open file the store holds under h. Equal inodes are not
 * enough: every open of /dev/fuse (a clone) has the device's. Where kcmp is
 * refused, only device files are taken for different.
 */
static bool held_same(const struct shmfs_fdstore_held *h, int fd)
{
	struct stat st;
	long res;

	if (h->fd < 0 || fstat(fd, &st) < 0 || st.st_dev != h->dev ||
	    st.st_ino != h->ino)
		return false;
	res = syscall(SYS_kcmp, (pid_t)getpid(), (pid_t)getpid(), KCMP_FILE,
		      (unsigned long)h->fd, (unsigned long)fd);
	if (res >= 0)
		return res == 0;
	return !S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode);
}

static int sync_failed(struct shmfs_fdstore *s, int res, const char *what,
		       const char *name)
{
	shmfs_log_sys(s->failed ? LOG_DEBUG : LOG_WARNING, -res,
		      "%s fd %s in the service manager's store failed", what,
		      name);
	s->failed = true;
	return res;
}

/* Stores one name of want (removing a different file first). */
static int sync_one(struct shmfs_fdstore *s, const struct shmfs_fdname *w)
{
	struct shmfs_fdstore_held *h = held_find(s, w->name);
	int res;

	if (h != NULL && held_same(h, w->fd))
		return 0;
	if (h != NULL) {
		res = shmfs_notify("FDSTOREREMOVE=1\nFDNAME=%s", w->name);
		if (res < 0)
			return sync_failed(s, res, "removing", w->name);
		held_drop(s, h);
	}
	res = held_add(s, w->name, w->fd);
	if (res < 0)
		return res;
	res = shmfs_notify_fds(&w->fd, 1, "FDSTORE=1\nFDNAME=%s", w->name);
	if (res < 0) {
		held_drop(s, &s->held[s->n - 1]);
		return sync_failed(s, res, "storing", w->name);
	}
	return 0;
}

int shmfs_fdstore_sync(struct shmfs_fdstore *s, const struct shmfs_fdlist *want)
{
	int res;

	if (!s->on)
		return 0;
	for (size_t i = 0; i < want->n; i++) {
		res = sync_one(s, &want->v[i]);
		if (res < 0)
			return res;
	}
	for (size_t i = s->n; i-- > 0;) {
		if (list_index(want, s->held[i].name) >= 0)
			continue;
		res = shmfs_notify("FDSTOREREMOVE=1\nFDNAME=%s",
				   s->held[i].name);
		if (res < 0)
			return sync_failed(s, res, "removing", s->held[i].name);
		held_drop(s, &s->held[i]);
	}
	return 0;
}

void shmfs_fdstore_free(struct shmfs_fdstore *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->held[i].fd >= 0)
			close(s->held[i].fd);
	free(s->held);
	*s = (struct shmfs_fdstore){0};
}

static void unset_listen(void)
{
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
}

/* want's names joined by ':', malloc'd. */
static char *join_names(const struct shmfs_fdlist *want)
{
	char *names = malloc(want->n * (SHMFS_FDNAME_MAX + 1) + 1), *p;

	if (names == NULL)
		return NULL;
	p = names;
	for (size_t i = 0; i < want->n; i++)
		p += sprintf(p, "%s%s", i ? ":" : "", want->v[i].name);
	return names;
}

/* Moves want's fds to 3.. through copies above them. */
static int move_down(const struct shmfs_fdlist *want)
{
	int top = LISTEN_FDS_START + (int)want->n, *tmp, res = 0;

	tmp = malloc(want->n * sizeof(*tmp));
	if (tmp == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < want->n; i++) {
		tmp[i] = fcntl(want->v[i].fd, F_DUPFD_CLOEXEC, top);
		if (tmp[i] < 0) {
			int err = errno;

			shmfs_log_sys(LOG_ERR, err,
				      "fcntl(%d, F_DUPFD_CLOEXEC, %d) of fd %s "
				      "failed",
				      want->v[i].fd, top, want->v[i].name);
			while (i-- > 0)
				close(tmp[i]);
			free(tmp);
			return -err;
		}
	}
	for (size_t i = 0; i < want->n; i++)
		fcntl(want->v[i].fd, F_SETFD, FD_CLOEXEC);
	/* dup2 clears FD_CLOEXEC on its copy: these cross the exec. */
	for (size_t i = 0; i < want->n; i++) {
		int to = LISTEN_FDS_START + (int)i;

		if (res == 0 && dup2(tmp[i], to) < 0) {
			res = -errno;
			shmfs_log_sys(LOG_ERR, -res,
				      "dup2(%d, %d) of fd %s failed", tmp[i],
				      to, want->v[i].name);
		}
		close(tmp[i]);
	}
	free(tmp);
	return res;
}

int shmfs_fdstore_export(const struct shmfs_fdlist *want)
{
	char num[32], *names;
	int res;

	unset_listen();
	if (want->n == 0)
		return 0;
	if (want->n > (size_t)(INT_MAX - LISTEN_FDS_START))
		return -EMFILE;
	names = join_names(want);
	if (names == NULL)
		return -ENOMEM;
	res = move_down(want);
	if (res == 0) {
		snprintf(num, sizeof(num), "%zu", want->n);
		if (setenv("LISTEN_FDS", num, 1) < 0 ||
		    setenv("LISTEN_FDNAMES", names, 1) < 0)
			res = -ENOMEM;
		snprintf(num, sizeof(num), "%ld", (long)getpid());
		if (res == 0 && setenv("LISTEN_PID", num, 1) < 0)
			res = -ENOMEM;
	}
	free(names);
	if (res < 0)
		unset_listen();
	return res;
}

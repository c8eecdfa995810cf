/* SPDX-License-Identifier: MIT */
/*
 * keeper: a stand-in for systemd's service manager, as much of it as a
 * restart test needs (Type=notify, Restart=on-failure, RestartSec=0,
 * KillMode=mixed, NotifyAccess=main, FileDescriptorStoreMax=).
 *
 *   keeper [-n|-H] [-m MAX] -d DIR -- COMMAND ARG...
 *
 * It listens on DIR/notify.sock (NOTIFY_SOCKET), starts COMMAND and keeps
 * the descriptors its main process stores (FDSTORE=1, FDNAME=,
 * FDSTOREREMOVE=1); each start gets them at fds 3.. with LISTEN_FDS,
 * LISTEN_FDNAMES and its own LISTEN_PID. A main process killed by a signal or
 * exiting non-zero is started again at once, once every process of its
 * generation is gone (the keeper is their subreaper, as systemd waits for an
 * empty cgroup; stragglers get SIGKILL after 5 s); exit 0, SIGTERM or SIGINT
 * ends the keeper, which then closes the store. SIGUSR1: SIGKILL the main
 * process (the tests' crash). -n: never restart. -H: after each death, hold the
 * store and wait for SIGUSR2 before the restart (so a test can act on the
 * stored fds).
 *
 * What systemd does and the keeper does not, on purpose:
 *  - it never polls stored fds: systemd closes one that shows POLLHUP or
 *    POLLERR (unless FDPOLL=0); here an aborted /dev/fuse fd stays in the
 *    store, so the daemon's own check of it is what the tests see;
 *  - a start limit of its own: no 21st restart within 10 s
 *    ("gave up", exit 1), so that a daemon that cannot start does not spin;
 *    systemd's default (5 in 10 s) would stop a test's ten kills;
 *  - no MAINPID= following: a MAINPID other than the child's is logged and
 *    ignored.
 * As systemd does: fds are not a key-value store; a second fd under a name
 * already stored is kept beside the first (the name comes twice in
 * LISTEN_FDNAMES), an fd whose open file is already stored is dropped
 * (systemd's same_fd), FDSTOREREMOVE=1 closes every fd of that name, and
 * messages from any process but the main one are refused.
 *
 * One line per event on stdout, for wait_for_line (the child's stdout and
 * stderr go to the keeper's stderr):
 *   start pid=P gen=K fds=N names=A:B   (what the start was given)
 *   ready pid=P gen=K kill_to_ready_ms=X fds=N   (X: - if no death since)
 *   mainpid pid=P | status pid=P TEXT | stopping pid=P
 *   stored NAME fds=N file=/dev/fuse | stored NAME ignored: ...
 *   removed NAME closed=C fds=N | refused ...
 *   kill pid=P | died pid=P status=signal:9|exit:N | held fds=N | release
 *   linger pid=P: killed | gave up: ... | exit status=S
 * DIR/main.pid: the main pid, rewritten on each READY=1.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define STORE_MAX 1024
#define MSG_FDS 253 /* SCM_MAX_FD */
#define LINGER_MS 5000
#define START_BURST 20
#define START_INTERVAL_MS 10000

struct stored {
	int fd;
	char name[256];
};

static struct stored store[STORE_MAX];
static int nstored, store_max = 256;
static const char *dir;
static char **command;
static pid_t main_pid;
static int gen;
static double t_down; /* when the last main died or was killed; 0: none */

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

__attribute__((format(printf, 1, 2))) static void event(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void die(const char *what)
{
	fprintf(stderr, "keeper: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* ------------------------------------------------------------ the store */

static bool same_file(int a, int b)
{
	pid_t self = getpid();

	return syscall(SYS_kcmp, self, self, KCMP_FILE, a, b) == 0;
}

static void store_fd(int fd, const char *name)
{
	char link[64], file[512];
	ssize_t n;

	for (int i = 0; i < nstored; i++) {
		if (same_file(fd, store[i].fd)) {
			event("stored %s ignored: the same file as %s", name,
			      store[i].name);
			close(fd);
			return;
		}
	}
	if (nstored == store_max) {
		event("refused %s: the store is full (%d)", name, store_max);
		close(fd);
		return;
	}
	store[nstored].fd = fd;
	snprintf(store[nstored].name, sizeof(store[0].name), "%s", name);
	nstored++;
	/* What it is, for the tests: "/dev/fuse", "/memfd:...". */
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, file, sizeof(file) - 1);
	file[n > 0 ? n : 0] = '\0';
	event("stored %s fds=%d file=%s", name, nstored, file);
}

static void remove_name(const char *name)
{
	int j = 0, gone = 0;

	for (int i = 0; i < nstored; i++) {
		if (strcmp(store[i].name, name) == 0) {
			close(store[i].fd);
			gone++;
		} else {
			store[j++] = store[i];
		}
	}
	nstored = j;
	event("removed %s closed=%d fds=%d", name, gone, nstored);
}

static void close_store(void)
{
	for (int i = 0; i < nstored; i++)
		close(store[i].fd);
	nstored = 0;
}

/* ------------------------------------------------------------ starting */

/* In the child: the store at 3.., the environment, then the command. */
static void exec_child(void)
{
	char names[STORE_MAX * 257] = "", num[32];
	int high[STORE_MAX];

	/* Our stdout is the event log: the daemon writes to stderr. */
	dup2(STDERR_FILENO, STDOUT_FILENO);
	/* Out of the way first, so that no dup2 below hits a stored fd. */
	for (int i = 0; i < nstored; i++) {
		high[i] = fcntl(store[i].fd, F_DUPFD_CLOEXEC, 3 + nstored);
		if (high[i] < 0)
			die("F_DUPFD");
	}
	for (int i = 0; i < nstored; i++) {
		if (dup2(high[i], 3 + i) < 0) /* dup2 clears CLOEXEC */
			die("dup2");
		strcat(names, i ? ":" : "");
		strcat(names, store[i].name);
	}
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	unsetenv("LISTEN_PID");
	if (nstored > 0) {
		snprintf(num, sizeof(num), "%d", nstored);
		setenv("LISTEN_FDS", num, 1);
		setenv("LISTEN_FDNAMES", names, 1);
		snprintf(num, sizeof(num), "%d", (int)getpid());
		setenv("LISTEN_PID", num, 1);
	}
	signal(SIGPIPE, SIG_DFL);
	execvp(command[0], command);
	die(command[0]);
}

static void start(sigset_t *blocked)
{
	pid_t pid = fork();

	if (pid < 0)
		die("fork");
	if (pid == 0) {
		sigprocmask(SIG_UNBLOCK, blocked, NULL);
		exec_child();
	}
	main_pid = pid;
	gen++;
	printf("start pid=%d gen=%d fds=%d names=", (int)pid, gen, nstored);
	for (int i = 0; i < nstored; i++)
		printf("%s%s", i ? ":" : "", store[i].name);
	event("%s", "");
}

static void write_main_pid(void)
{
	char path[4096], tmp[4200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/main.pid", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (f == NULL || fprintf(f, "%d\n", (int)main_pid) < 0 ||
	    fclose(f) != 0 || rename(tmp, path) != 0)
		die(path);
}

/* ------------------------------------------------------------ messages */

/* The value of KEY= in the message, as a static copy; NULL if absent. */
static const char *field(const char *msg, const char *key)
{
	static char value[4096];
	size_t klen = strlen(key);

	for (const char *p = msg; *p; p = strchr(p, '\n') + 1) {
		const char *end = strchr(p, '\n');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		if (n > klen && strncmp(p, key, klen) == 0 && p[klen] == '=') {
			n -= klen + 1;
			n = n < sizeof(value) - 1 ? n : sizeof(value) - 1;
			memcpy(value, p + klen + 1, n);
			value[n] = '\0';
			return value;
		}
		if (end == NULL)
			break;
	}
	return NULL;
}

static bool is_set(const char *msg, const char *key)
{
	const char *v = field(msg, key);

	return v != NULL && strcmp(v, "1") == 0;
}

static bool valid_name(const char *name)
{
	return *name && strlen(name) <= 255 && strchr(name, ':') == NULL;
}

static void act_on(const char *msg, pid_t from, int *fds, int nfds)
{
	const char *v, *name = field(msg, "FDNAME");
	char fdname[256];

	snprintf(fdname, sizeof(fdname), "%s", name ? name : "stored");
	if (is_set(msg, "READY")) {
		char since[32] = "-";

		if (t_down > 0)
			snprintf(since, sizeof(since), "%.1f",
				 now_ms() - t_down);
		t_down = 0;
		write_main_pid();
		event("ready pid=%d gen=%d kill_to_ready_ms=%s fds=%d",
		      (int)from, gen, since, nstored);
	}
	if ((v = field(msg, "MAINPID")) != NULL)
		event("mainpid pid=%s%s", v,
		      atoi(v) == main_pid ? "" : " (not the child: ignored)");
	if ((v = field(msg, "STATUS")) != NULL)
		event("status pid=%d %s", (int)from, v);
	if (is_set(msg, "STOPPING"))
		event("stopping pid=%d", (int)from);
	if (is_set(msg, "FDSTOREREMOVE"))
		remove_name(fdname);
	if (is_set(msg, "FDSTORE") && !valid_name(fdname)) {
		event("refused FDNAME=%s: not a valid name", fdname);
	} else if (is_set(msg, "FDSTORE")) {
		for (int i = 0; i < nfds; i++)
			store_fd(fds[i], fdname);
		return;
	}
	for (int i = 0; i < nfds; i++) /* fds without FDSTORE=1: dropped */
		close(fds[i]);
}

/* Reads one datagram and acts on it; false once none is left. */
static bool receive(int sock)
{
	char buf[8192];
	union {
		char space[CMSG_SPACE(sizeof(int) * MSG_FDS) +
			   CMSG_SPACE(sizeof(struct ucred))];
		struct cmsghdr align;
	} control;
	struct iovec iov = {buf, sizeof(buf) - 1};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = &control,
			    .msg_controllen = sizeof(control)};
	int fds[MSG_FDS], nfds = 0;
	pid_t from = 0;
	ssize_t n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

	if (n < 0)
		return false;
	buf[n] = '\0';
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c;
	     c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET)
			continue;
		if (c->cmsg_type == SCM_RIGHTS) {
			int k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			memcpy(fds + nfds, CMSG_DATA(c), k * sizeof(int));
			nfds += k;
		} else if (c->cmsg_type == SCM_CREDENTIALS) {
			struct ucred uc;

			memcpy(&uc, CMSG_DATA(c), sizeof(uc));
			from = uc.pid;
		}
	}
	if (from != main_pid || main_pid == 0 ||
	    (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		event("refused pid=%d: %s", (int)from,
		      from != main_pid ? "not the main pid" : "truncated");
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		return true;
	}
	act_on(buf, from, fds, nfds);
	return true;
}

/* ------------------------------------------------------------ processes */

/* SIGKILL to our children other than the main (orphans we reaped into). */
static void kill_children(void)
{
	char path[300], line[512];
	DIR *proc = opendir("/proc");
	struct dirent *d;

	while (proc && (d = readdir(proc)) != NULL) {
		FILE *f;
		char *p;

		snprintf(path, sizeof(path), "/proc/%s/stat", d->d_name);
		f = fopen(path, "r");
		if (f == NULL)
			continue;
		p = fgets(line, sizeof(line), f) ? strrchr(line, ')') : NULL;
		fclose(f);
		if (p && atoi(p + 4) == getpid()) {
			event("linger pid=%s: killed", d->d_name);
			kill(atoi(d->d_name), SIGKILL);
		}
	}
	if (proc)
		closedir(proc);
}

static void describe(int status, char *out, size_t len)
{
	if (WIFSIGNALED(status))
		snprintf(out, len, "signal:%d", WTERMSIG(status));
	else
		snprintf(out, len, "exit:%d", WEXITSTATUS(status));
}

static int usage(void)
{
	fprintf(stderr,
		"usage: keeper [-n|-H] [-m MAX] -d DIR -- COMMAND ARG...\n");
	return 2;
}

static enum { RUNNING, DRAINING, HELD, DONE } state = RUNNING;
static bool no_restart, hold, stopping;
static int exit_status;
static double drain_since;

static void on_signal(int signo)
{
	if (signo == SIGUSR1 && main_pid > 0) {
		event("kill pid=%d", (int)main_pid);
		t_down = now_ms();
		kill(main_pid, SIGKILL);
	} else if (signo == SIGUSR2 && state == HELD) {
		event("release");
		state = DRAINING;
	} else if (signo == SIGTERM || signo == SIGINT) {
		stopping = true;
		if (main_pid > 0)
			kill(main_pid, SIGTERM);
		else if (state == HELD)
			state = DRAINING;
	}
}

/* Reaps every child that ended; the main one decides what comes next. */
static void reap(void)
{
	int status;
	pid_t pid;
	char how[32];

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid != main_pid)
			continue; /* a worker or an orphan: nothing to do */
		describe(status, how, sizeof(how));
		event("died pid=%d status=%s", (int)pid, how);
		main_pid = 0;
		if (t_down == 0)
			t_down = now_ms();
		/* Restart=on-failure: a signal or a non-zero status, unless
		 * it is the SIGTERM that we forwarded. */
		exit_status =
			!(WIFEXITED(status) && WEXITSTATUS(status) == 0) &&
			!(stopping && WIFSIGNALED(status) &&
			  WTERMSIG(status) == SIGTERM);
		if (!exit_status || no_restart)
			stopping = true;
		state = hold && !stopping ? HELD : DRAINING;
		if (state == HELD)
			event("held fds=%d", nstored);
		drain_since = now_ms();
	}
}

/* The next start waits until every process of the old generation is
 * gone, as systemd waits for an empty cgroup. */
static void drain(sigset_t *set)
{
	static double starts[START_BURST];
	static int next;

	if (waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD) {
		if (!stopping && starts[next] > 0 &&
		    now_ms() - starts[next] < START_INTERVAL_MS) {
			event("gave up: %d restarts within %d s", START_BURST,
			      START_INTERVAL_MS / 1000);
			exit_status = 1;
			stopping = true;
		}
		if (stopping) {
			state = DONE;
		} else {
			starts[next] = now_ms();
			next = (next + 1) % START_BURST;
			start(set);
			state = RUNNING;
		}
	} else if (now_ms() - drain_since > LINGER_MS) {
		kill_children();
	}
}

static int listen_at(struct sockaddr_un *addr)
{
	int sock, on = 1;

	snprintf(addr->sun_path, sizeof(addr->sun_path), "%s/notify.sock", dir);
	unlink(addr->sun_path);
	sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0 ||
	    bind(sock, (struct sockaddr *)addr, sizeof(*addr)) < 0 ||
	    setsockopt(sock, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) < 0)
		die(addr->sun_path);
	setenv("NOTIFY_SOCKET", addr->sun_path, 1);
	return sock;
}

int main(int argc, char **argv)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	const int sigs[] = {SIGCHLD, SIGTERM, SIGINT, SIGUSR1, SIGUSR2};
	int opt, sock, sfd;
	sigset_t set;

	while ((opt = getopt(argc, argv, "+nHm:d:")) != -1) {
		if (opt == 'n')
			no_restart = true;
		else if (opt == 'H')
			hold = true;
		else if (opt == 'm')
			store_max = atoi(optarg);
		else if (opt == 'd')
			dir = optarg;
		else
			return usage();
	}
	if (dir == NULL || optind >= argc || store_max < 0 ||
	    store_max > STORE_MAX)
		return usage();
	command = argv + optind;

	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(&set, sigs[i]);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0 || prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		die("signalfd");
	sock = listen_at(&addr);
	start(&set);

	while (state != DONE) {
		struct pollfd pfd[2] = {{sfd, POLLIN, 0}, {sock, POLLIN, 0}};
		struct signalfd_siginfo si;

		if (poll(pfd, 2, state == DRAINING ? 100 : -1) < 0 &&
		    errno != EINTR)
			die("poll");
		/* Messages first: a READY=1 sent just before a death. */
		while (pfd[1].revents & POLLIN && receive(sock))
			;
		while (read(sfd, &si, sizeof(si)) == sizeof(si))
			on_signal((int)si.ssi_signo);
		reap();
		if (state == DRAINING)
			drain(&set);
	}
	close_store();
	unlink(addr.sun_path);
	event("exit status=%d", exit_status);
	return exit_status;
}

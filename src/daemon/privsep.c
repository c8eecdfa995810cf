/* SPDX-License-Identifier: MIT */
/*
 * Dropping a worker's privileges, in the order that keeps each step
 * possible: the bounding set needs CAP_SETPCAP, so it goes first; the ids
 * next (setuid also clears the permitted set); the remaining capabilities,
 * NO_NEW_PRIVS, and last the seccomp filter, built with libseccomp (a
 * filter for every architecture quirk is not code we want to own).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#ifdef SHMFS_SECCOMP
#include <seccomp.h>
#endif
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>
#include <linux/capability.h>

#include "shmfs/log.h"
#include "shmfs/privsep.h"

static int drop_capabilities(void)
{
	struct __user_cap_header_struct head = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {0};

	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 &&
	    errno != EINVAL) {
		int err = errno;
		shmfs_log_sys(LOG_ERR, err,
			      "prctl(PR_CAP_AMBIENT_CLEAR_ALL) failed");
		return -err;
	}
	if (syscall(SYS_capset, &head, data) < 0) {
		int err = errno;
		shmfs_log_sys(LOG_ERR, err, "capset(0) failed");
		return -err;
	}
	return 0;
}

/* Needs CAP_SETPCAP, which a non-root master never had: then it is empty. */
static void drop_bounding_set(void)
{
	for (int cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EPERM)
			shmfs_log_sys(LOG_WARNING, errno,
				      "prctl(PR_CAPBSET_DROP, %d) failed", cap);
}

static int switch_ids(uid_t uid, gid_t gid)
{
	if (setgroups(1, &gid) < 0) {
		int err = errno;
		shmfs_log_sys(LOG_ERR, err, "setgroups(1, [%u]) failed",
			      (unsigned)gid);
		return -err;
	}
	if (setresgid(gid, gid, gid) < 0) {
		int err = errno;
		shmfs_log_sys(LOG_ERR, err, "setresgid(%u) failed",
			      (unsigned)gid);
		return -err;
	}
	if (setresuid(uid, uid, uid) < 0) {
		int err = errno;
		shmfs_log_sys(LOG_ERR, err, "setresuid(%u) failed",
			      (unsigned)uid);
		return -err;
	}
	return 0;
}

int shmfs_privsep_drop(bool user_set, uid_t uid, gid_t gid)
{
	int err;

	drop_bounding_set();
	if (user_set && (err = switch_ids(uid, gid)) < 0)
		return err;
	err = drop_capabilities();
	if (err)
		return err;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		err = errno;
		shmfs_log_sys(LOG_ERR, err,
			      "prctl(PR_SET_NO_NEW_PRIVS) failed");
		return -err;
	}
	return 0;
}

#ifdef SHMFS_SECCOMP
/*
 * What a worker calls, found by running the whole test suite under the
 * filter (the master logs any call it denies) and by reading what
 * libfuse 3.14's lowlevel loop can reach: the request loop and replies
 * (read, writev: splice is off, see kernel.c), the zone code (madvise,
 * mincore, fallocate, lseek and fstat of a zone's file), malloc, the
 * robust locks, signals, the clock, and logging (the pipe to the master,
 * stderr, or syslog's socket). Nothing opens a file: a log file is the
 * master's (see log.c). libfuse's own messages go through fuse_log to our
 * log, but a few are perror()s: see shmfs_privsep_seccomp. The
 * fault-injection build loads this same filter.
 */
static const int allowed[] = {
	SCMP_SYS(read),
	SCMP_SYS(readv),
	SCMP_SYS(pread64),
	SCMP_SYS(write),
	SCMP_SYS(writev),
	SCMP_SYS(pwrite64),
	SCMP_SYS(lseek),
	SCMP_SYS(close),
	SCMP_SYS(fstat),
	SCMP_SYS(newfstatat),
	SCMP_SYS(fcntl),
	SCMP_SYS(dup2),
	SCMP_SYS(dup3),
	SCMP_SYS(mmap),
	SCMP_SYS(munmap),
	SCMP_SYS(mremap),
	SCMP_SYS(mprotect),
	SCMP_SYS(brk),
	SCMP_SYS(madvise),
	SCMP_SYS(msync), /* fsync of a file zone */
	SCMP_SYS(mincore),
	SCMP_SYS(fallocate),
	SCMP_SYS(futex),
	SCMP_SYS(io_uring_enter), /* a ring worker (uring_worker.c) */
	SCMP_SYS(clock_gettime),
	SCMP_SYS(clock_nanosleep),
	SCMP_SYS(nanosleep),
	SCMP_SYS(gettimeofday),
	SCMP_SYS(getpid),
	SCMP_SYS(getppid),
	SCMP_SYS(gettid),
	SCMP_SYS(getuid),
	SCMP_SYS(geteuid),
	SCMP_SYS(getgid),
	SCMP_SYS(getegid),
	SCMP_SYS(rt_sigaction),
	SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(rt_sigreturn),
	SCMP_SYS(restart_syscall),
	SCMP_SYS(sched_yield),
	SCMP_SYS(exit),
	SCMP_SYS(exit_group),
	SCMP_SYS(socket), /* syslog(3) reconnecting */
	SCMP_SYS(connect),
	SCMP_SYS(sendto),
};

static _Atomic int *violation_slot;
static int violation_status;

static void on_sigsys(int sig, siginfo_t *info, void *ctx)
{
	(void)sig;
	(void)ctx;
	atomic_store(violation_slot, info->si_syscall);
	_exit(violation_status);
}

int shmfs_privsep_seccomp(_Atomic int *violation, int exit_status)
{
	struct sigaction sa = {
		.sa_sigaction = on_sigsys,
		.sa_flags = SA_SIGINFO,
	};
	scmp_filter_ctx ctx;
	int err = 0;

	violation_slot = violation;
	violation_status = exit_status;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0) {
		err = -errno;
		shmfs_log_sys(LOG_ERR, -err, "sigaction(SIGSYS) failed");
		return err;
	}
	tzset(); /* reads /etc/localtime now, not under the filter */
	/*
	 * libfuse perror()s an unexpected read error of the device. On a
	 * stream with no orientation yet, glibc's perror() writes through a
	 * dup() of the descriptor and an fdopen() whose first write would
	 * also fstat() it and, on a terminal or /dev/null, ioctl(TCGETS) it.
	 * Oriented (bytes), stderr is written as it is: one write().
	 */
	fwide(stderr, -1);

	ctx = seccomp_init(SCMP_ACT_TRAP);
	if (ctx == NULL) {
		shmfs_log_error("seccomp_init failed");
		return -ENOMEM;
	}
	for (size_t i = 0; i < sizeof(allowed) / sizeof(*allowed) && !err; i++)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
	/*
	 * A signal to itself: abort() (a failed assert() in libfuse, which
	 * Debian builds with them, or glibc's heap checks) must die of
	 * SIGABRT, with a core, not of this filter; fault points raise
	 * SIGKILL the same way. Never another process.
	 */
	if (!err)
		err = seccomp_rule_add(
			ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
			SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()));
	if (!err)
		err = seccomp_load(ctx);
	if (err)
		shmfs_log_sys(LOG_ERR, -err,
			      "loading the seccomp filter failed");
	seccomp_release(ctx);
	return err;
}

const char *shmfs_privsep_syscall_name(int nr, char *buf, size_t len)
{
	char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);

	snprintf(buf, len, "%s", name ? name : "?");
	free(name);
	return buf;
}
#else
/*
 * Built with -Dseccomp=false: for tools that cannot run a filtered process
 * (valgrind does not know seccomp(2); bench/callgrind.sh). Never a release
 * build: the workers keep every other restriction, and this says so once.
 */
int shmfs_privsep_seccomp(_Atomic int *violation, int exit_status)
{
	(void)violation, (void)exit_status;
	shmfs_log_warn("built with -Dseccomp=false: this worker runs "
		       "without its seccomp filter");
	return 0;
}

const char *shmfs_privsep_syscall_name(int nr, char *buf, size_t len)
{
	snprintf(buf, len, "%d", nr);
	return buf;
}
#endif

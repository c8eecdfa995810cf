/* SPDX-License-Identifier: MIT */
/*
 * The wait for the dead master's generation (see restart.h): its workers
 * finish what they serve and leave (their parent died: PDEATHSIG) before
 * the new pool serves, so that no request is served by two processes.
 * One that waits more than a second is named with where it waits; after
 * five seconds what is left is killed.
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "shmfs/log.h"
#include "shmfs/pool.h"
#include "shmfs/record.h"
#include "shmfs/region.h"
#include "shmfs/restart.h"

/* How long the dead master's workers get to finish what they serve. */
#define OLD_GENERATION_NS 5000000000LL

static bool old_alive(pid_t pid, uint64_t start)
{
	if (pid <= 0 || pid == getpid())
		return false;
	if (start == 0) /* never said when it started: any such pid */
		return kill(pid, 0) == 0;
	return shmfs_record_alive(pid, start);
}

/* Where pid waits in the kernel (its wchan), for the log. */
static void wchan_of(pid_t pid, char *buf, size_t len)
{
	char path[64];
	FILE *f;

	snprintf(buf, len, "?");
	snprintf(path, sizeof(path), "/proc/%d/wchan", (int)pid);
	if ((f = fopen(path, "re")) == NULL)
		return;
	if (fgets(buf, (int)len, f) == NULL)
		snprintf(buf, len, "?");
	fclose(f);
}

/*
 * Old processes still alive; with kill, SIGKILLed; with say, each is
 * logged with where it waits.
 */
static unsigned sweep(struct shmfs_region *r, const struct shmfs_adopt *a,
		      bool kill_them, bool say)
{
	unsigned n = 0;
	char wchan[64];

	for (unsigned i = 0; i < SHMFS_WORKERS_MAX; i++) {
		struct shmfs_worker_slot *ws = &r->workers[i];
		pid_t pid = atomic_load(&ws->pid);

		if (!old_alive(pid, atomic_load(&ws->start)))
			continue;
		n++;
		if (say) {
			wchan_of(pid, wchan, sizeof(wchan));
			shmfs_log_warn("worker %u (pid %d) of the previous "
				       "master has not left after 1 s (it "
				       "waits in %s)",
				       i, (int)pid, wchan);
		}
		if (kill_them)
			kill(pid, SIGKILL);
	}
	if (old_alive(a->rec.master, a->rec.master_start)) {
		n++;
		if (say) {
			wchan_of(a->rec.master, wchan, sizeof(wchan));
			shmfs_log_warn("the previous master (pid %d) has not "
				       "left after 1 s (it waits in %s)",
				       (int)a->rec.master, wchan);
		}
		if (kill_them)
			kill(a->rec.master, SIGKILL);
	}
	return n;
}

unsigned shmfs_restart_wait_old(struct shmfs_region *r,
				const struct shmfs_adopt *a)
{
	struct timespec tick = {0, 1000000}; /* 1 ms */
	long long start = shmfs_pool_now();
	unsigned killed = 0;
	bool said = false;

	while (sweep(r, a, false, false) > 0) {
		long long waited = shmfs_pool_now() - start;

		if (!said && waited >= 1000000000LL) {
			sweep(r, a, false, true);
			said = true;
		}
		if (waited >= OLD_GENERATION_NS && killed == 0) {
			killed = sweep(r, a, true, false);
			shmfs_log_warn("%u processes of the previous master "
				       "did not leave within %lld s: killed",
				       killed, OLD_GENERATION_NS / 1000000000);
		}
		nanosleep(&tick, NULL);
	}
	for (unsigned i = 0; i < SHMFS_WORKERS_MAX; i++)
		atomic_store(&r->workers[i].pid, 0);
	return killed;
}

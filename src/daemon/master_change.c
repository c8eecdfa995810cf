/* SPDX-License-Identifier: MIT */
/*
 * What changes a running master (see master_internal.h): a reload swaps
 * cycles; a worker's death has what it read resent; an upgrade hands
 * everything to the program executed again; a start that found a dead
 * master's connection takes it over. Each keeps the service manager's
 * store in step (restart.h).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "master_internal.h"
#include "shmfs/cycle.h"
#include "shmfs/kernel.h"
#include "shmfs/log.h"
#include "shmfs/notify.h"
#include "shmfs/region.h"
#include "shmfs/restart.h"
#include "shmfs/safefile.h"
#include "shmfs/zonetab.h"

/*
 * A clone for every slot of the pool that has none. Without the right to
 * open /dev/fuse (a non-root daemon where it is not 0666) or to clone it,
 * workers read the shared descriptor, which still serves: one line says
 * so.
 */
void shmfs_master_make_clones(struct master *m)
{
	/* A pool made smaller by a reload: no one reads those any more. */
	for (unsigned i = m->pool.nchildren; i < SHMFS_WORKERS_MAX; i++) {
		if (m->clones[i] >= 0)
			close(m->clones[i]);
		m->clones[i] = -1;
	}
	for (unsigned i = 0; i < m->pool.nchildren && !m->no_clone; i++) {
		if (m->clones[i] >= 0)
			continue;
		int fd = shmfs_kernel_clone(fuse_session_fd(m->se));
		if (fd < 0) {
			shmfs_log_sys(LOG_WARNING, -fd,
				      "cloning /dev/fuse failed: workers "
				      "share one descriptor");
			m->no_clone = true;
			break;
		}
		m->clones[i] = fd;
	}
}

static void handover(const struct master *m, struct shmfs_handover *h)
{
	*h = (struct shmfs_handover){
		.cycle = m->cycle,
		.fuse = fuse_session_fd(m->se),
		.clones = m->clones,
		.nclones = SHMFS_WORKERS_MAX,
		.mountpoint = m->opts->mountpoint,
		.args = m->args,
		.rings = m->uring ? &m->rings : NULL,
	};
}

/* The store holds what the running cycle and connection need. */
void shmfs_master_keep(struct master *m)
{
	struct shmfs_handover h;

	handover(m, &h);
	shmfs_restart_keep(&m->adopt->store, &h);
}

/* A failed notification only delays what the kernel shows; ENOENT: it
 * held nothing of it. */
static void inval_entry(struct fuse_session *se, const char *name, size_t len)
{
	int res = fuse_lowlevel_notify_inval_entry(se, FUSE_ROOT_ID, name, len);

	if (res < 0 && res != -ENOENT)
		shmfs_log_sys(LOG_WARNING, -res,
			      "fuse_lowlevel_notify_inval_entry(\"%.*s\") "
			      "failed",
			      (int)len, name);
}

static void inval_inode(struct fuse_session *se, fuse_ino_t ino)
{
	int res = fuse_lowlevel_notify_inval_inode(se, ino, 0, 0);

	if (res < 0 && res != -ENOENT)
		shmfs_log_sys(LOG_WARNING, -res,
			      "fuse_lowlevel_notify_inval_inode(%llu) failed",
			      (unsigned long long)ino);
}

/*
 * After a reload the kernel still caches what the old cycle said: names
 * that are gone, and attributes and pages of zones that changed. The new
 * workers must be up: dropping pages may need them to write dirty ones.
 */
void shmfs_master_invalidate(struct master *m)
{
	const struct shmfs_cycle *c = m->cycle;
	const struct shmfs_zonetab *tab = c->tab;

	for (size_t i = 0; i < c->ngone; i++)
		inval_entry(m->se, c->gone[i], strlen(c->gone[i]));
	for (size_t i = 0; i < tab->nzones; i++) {
		const struct shmfs_zonetab_entry *e = &tab->entries[i];

		if (e->renumbered) /* the name now leads to a new inode */
			inval_entry(m->se, e->conf.name, e->namelen);
		else if (e->changed)
			inval_inode(m->se, e->ino);
	}
	inval_inode(m->se, FUSE_ROOT_ID);
}

/* The file to reload, read and checked; logged and -errno if invalid. */
static int load_config(const struct master *m, struct shmfs_config *cfg)
{
	char err[1024];
	int res = shmfs_config_load_default(m->opts->config, cfg, err,
					    sizeof(err));

	if (res == 0 && geteuid() == 0 &&
	    (res = shmfs_config_check_user(cfg, err, sizeof(err))) < 0)
		shmfs_config_free(cfg);
	if (res < 0)
		shmfs_log_error("reload: %s; keeping the running configuration",
				err);
	return res;
}

/* The log as the new configuration says; the old one stays if it fails. */
static void reopen_log_as(const struct master *m)
{
	const struct shmfs_config *cfg = &m->cycle->cfg;
	int res = shmfs_log_open(cfg->log,
				 m->opts->debug ? LOG_DEBUG : cfg->log_level,
				 m->opts->foreground);

	if (res < 0)
		shmfs_log_error("reload: %s:%d: log: %s: %s; logging on where "
				"it was",
				cfg->file, cfg->log_line, cfg->log,
				shmfs_file_strerror(res));
}

/*
 * With no worker running: the next cycle, built from cfg (taken) and the
 * running one, serves in its place. Returns the files written back, or
 * -errno (the running cycle stays).
 */
static long swap_cycle(struct master *m, struct shmfs_config *cfg)
{
	struct shmfs_cycle *next;
	size_t restored = shmfs_zonetab_check_files(m->cycle->tab, false);

	if (shmfs_cycle_create(cfg, m->cycle, &next) < 0) {
		/* The cause is logged where it failed. */
		shmfs_log_notice("reload failed: keeping the running "
				 "configuration");
		return -EINVAL;
	}
	shmfs_cycle_destroy(m->cycle);
	m->cycle = next;
	reopen_log_as(m);
	shmfs_master_configure_pool(m);
	return (long)restored;
}

/*
 * SIGHUP. The new file is read and checked while the old pool serves; an
 * invalid one changes nothing. Then the pool stops (requests wait in the
 * kernel, none fails), the next cycle is built from the running one (it
 * takes over unchanged zones and copies resized ones: no worker can write
 * to them meanwhile), the old cycle is destroyed (removed zones freed), and
 * a new pool starts.
 */
void shmfs_master_reload(struct master *m)
{
	struct shmfs_config cfg;
	const struct shmfs_cycle *next;
	long restored;

	if (load_config(m, &cfg) < 0)
		return;
	shmfs_pool_stop(&m->pool);
	restored = swap_cycle(m, &cfg);
	shmfs_master_make_clones(m);
	shmfs_pool_start(&m->pool);
	if (restored < 0)
		return;
	next = m->cycle;
	shmfs_master_invalidate(m);
	shmfs_master_keep(m);
	if (restored > 0)
		shmfs_log_notice("reloaded %s: %zu zones, %zu removed, %ld "
				 "file%s written back, %u workers",
				 next->cfg.file, next->tab->nzones, next->ngone,
				 restored, restored == 1 ? "" : "s",
				 m->pool.nchildren);
	else
		shmfs_log_notice("reloaded %s: %zu zones, %zu removed, %u "
				 "workers",
				 next->cfg.file, next->tab->nzones, next->ngone,
				 m->pool.nchildren);
}

/* ---- backend = process: following the programs' lives (issue 19) ---- */

size_t shmfs_master_process_fds(const struct master *m, int *fds, size_t max,
				bool *detached)
{
	const struct shmfs_zonetab *tab = m->cycle->tab;
	size_t n = 0;

	*detached = false;
	/* Just rebuilt: a pidfd still readable would spin; the timer waits. */
	if (shmfs_pool_now() - m->followed < 1000000000LL)
		max = 0;
	for (size_t i = 0; i < tab->nzones; i++) {
		const struct shmfs_shm *shm = &tab->entries[i].shm;
		int fd = shmfs_shm_process_pidfd(shm);

		if (fd >= 0 && n < max)
			fds[n++] = fd;
		*detached |= (shm->backend == SHMFS_BACKEND_PROCESS &&
			      shm->detached) ||
			     (fd >= 0 && max == 0);
	}
	return n;
}

/* Whether a zone's program exited (its pidfd is readable) or appeared. */
static bool process_changed(const struct shmfs_zonetab *tab)
{
	for (size_t i = 0; i < tab->nzones; i++) {
		const struct shmfs_shm *shm = &tab->entries[i].shm;
		struct pollfd p = {.fd = shmfs_shm_process_pidfd(shm),
				   .events = POLLIN};

		if (p.fd >= 0 && poll(&p, 1, 0) > 0) {
			shmfs_log_notice("zone \"%s\": process %d exited",
					 shm->label, (int)shm->pid);
			return true;
		}
		if (shmfs_shm_process_appeared(shm)) {
			shmfs_log_notice("zone \"%s\": %s names a running "
					 "process",
					 shm->label, shm->object);
			return true;
		}
	}
	return false;
}

bool shmfs_master_follow(struct master *m)
{
	struct shmfs_config cfg;
	long long now = shmfs_pool_now();

	if (now - m->followed < 1000000000LL || !process_changed(m->cycle->tab))
		return false;
	m->followed = now;
	if (shmfs_config_copy(&m->cycle->cfg, &cfg) < 0)
		return false;
	shmfs_pool_stop(&m->pool);
	long restored = swap_cycle(m, &cfg);
	shmfs_master_make_clones(m);
	shmfs_pool_start(&m->pool);
	if (restored < 0)
		return false;
	shmfs_master_invalidate(m);
	shmfs_master_keep(m);
	return true;
}

/* ---- end of backend = process ---- */

/*
 * A worker died holding requests, which stay on the connection (its
 * clone is ours): the others finish what they serve and leave, and once
 * no worker lives the kernel puts every request read and not answered
 * back in the queue, for the new pool to read: the callers wait a few
 * milliseconds and succeed. But a slot whose workers keep crashing (a
 * signal of their own making, not a SIGKILL) right after their start may
 * be fed a request that kills whoever serves it: that slot's clone is
 * closed instead, and what it held fails with ECONNABORTED, as without a
 * resend.
 */
void shmfs_master_recover(struct master *m)
{
	bool poisoned = false;
	unsigned failed = 0;
	int res;

	shmfs_pool_stop(&m->pool);
	for (unsigned i = 0; i < SHMFS_WORKERS_MAX; i++)
		poisoned |= m->died_slot[i] && m->crashed[i] &&
			    m->pool.quick_deaths[i] >= 2 && m->clones[i] >= 0;
	for (unsigned i = 0; i < SHMFS_WORKERS_MAX; i++) {
		if (m->died_slot[i] && poisoned && m->clones[i] >= 0) {
			/* Its last copy gone (ours, the store's), the
			 * kernel ends what it held. */
			close(m->clones[i]);
			m->clones[i] = -1;
			failed++;
		}
		m->died_slot[i] = false;
	}
	m->died = false;
	if (poisoned) {
		shmfs_log_warn("workers kept dying right after their start: "
			       "the requests %s held failed (ECONNABORTED)",
			       failed == 1 ? "one" : "they");
		shmfs_master_make_clones(m);
		shmfs_master_keep(m);
		return;
	}
	res = shmfs_kernel_resend(fuse_session_fd(m->se));
	if (res < 0)
		shmfs_log_sys(LOG_ERR, -res,
			      "resending the dead worker's requests failed");
	else
		shmfs_log_info("the requests the dead worker held were "
			       "resent");
}

/*
 * SIGUSR2: the binary at the path this one was started from takes over,
 * in this process, once the workers finished what they serve. Returns
 * only if it could not: true if the master must then exit as if it had
 * crashed (what it held is moved), false if nothing was touched.
 */
bool shmfs_master_upgrade(struct master *m)
{
	struct shmfs_handover h;
	const char *path = shmfs_restart_program();

	if (path == NULL || access(path, X_OK) < 0) {
		shmfs_log_sys(LOG_ERR, errno,
			      "upgrade: %s cannot be executed: "
			      "serving on",
			      path ? path : "the program");
		return false;
	}
	shmfs_log_notice("upgrade: stopping the workers, then executing %s",
			 path);
	shmfs_notify("STATUS=Upgrading");
	shmfs_pool_stop(&m->pool);
	handover(m, &h);
	shmfs_restart_exec(&h); /* logged */
	return true;
}

/* Slots' clones the dead master made and stored, reused as they are. */
static void take_clones(struct master *m)
{
	char name[32];

	for (unsigned i = 0; i < SHMFS_WORKERS_MAX; i++) {
		snprintf(name, sizeof(name), "clone.%u", i);
		int fd = shmfs_fdlist_claim(&m->adopt->fds, name);
		if (fd >= 0 && i < m->pool.nchildren)
			m->clones[i] = fd;
		else if (fd >= 0)
			close(fd);
	}
}

/*
 * The dead master's connection is ours: once none of its processes can
 * answer what they read, the kernel resends it; one more master is
 * counted; the current file applies as a reload would (cfg, taken).
 * Returns true if it did (a new cycle serves).
 */
bool shmfs_master_take_over(struct master *m, struct shmfs_config *cfg)
{
	struct shmfs_region *r = shmfs_cycle_region(m->cycle);
	const struct shmfs_zonetab *tab = m->cycle->tab;
	const struct shmfs_config *was = &m->cycle->cfg;
	unsigned killed = shmfs_restart_wait_old(r, m->adopt);
	int res = shmfs_kernel_resend(fuse_session_fd(m->se));
	bool same;

	if (res < 0)
		shmfs_log_sys(res == -ENOSYS ? LOG_WARNING : LOG_ERR, -res,
			      "resending the requests the previous master "
			      "held failed: their callers may wait until "
			      "the mount ends");
	atomic_fetch_add(&r->generation, 1);
	atomic_fetch_add(m->adopt->upgrade ? &r->upgrades : &r->restarts, 1);
	take_clones(m);
	shmfs_log_notice("%s: generation %llu on %s: %zu zone%s, %llu bytes "
			 "adopted%s",
			 m->adopt->upgrade ? "upgraded" : "restarted",
			 (unsigned long long)atomic_load(&r->generation),
			 m->opts->mountpoint, tab->nzones,
			 tab->nzones == 1 ? "" : "s",
			 (unsigned long long)tab->capacity,
			 killed ? "; old workers killed" : "");
	same = was->text && cfg->text && was->text_len == cfg->text_len &&
	       memcmp(was->text, cfg->text, cfg->text_len) == 0;
	if (same) {
		shmfs_config_free(cfg);
		return false;
	}
	if (swap_cycle(m, cfg) < 0)
		return false;
	shmfs_log_notice("reloaded %s (changed while no master ran): %zu "
			 "zones, %zu removed",
			 m->cycle->cfg.file, m->cycle->tab->nzones,
			 m->cycle->ngone);
	return true;
}

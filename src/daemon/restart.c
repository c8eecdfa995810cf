/* SPDX-License-Identifier: MIT */
/*
 * The hand-over between masters (see restart.h): what is stored, how it
 * is found again, and the upgrade's execve.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <fuse_lowlevel.h>

#include "shmfs/config.h"
#include "shmfs/cycle.h"
#include "shmfs/kernel.h"
#include "shmfs/log.h"
#include "shmfs/mountpoint.h"
#include "shmfs/notify.h"
#include "shmfs/pool.h"
#include "shmfs/region.h"
#include "shmfs/restart.h"
#include "shmfs/shm.h"
#include "shmfs/statsfile.h"
#include "shmfs/uring.h"

/* FileDescriptorStoreMax= in shmfs@.service. */
#define UNIT_STORE_MAX 256
static bool warned_max;

static char **program_argv;
static char program[PATH_MAX];

const char *shmfs_restart_program(void)
{
	return program_argv ? program : NULL;
}

void shmfs_restart_set_argv(char **argv)
{
	ssize_t n = readlink("/proc/self/exe", program, sizeof(program) - 1);
	const char *deleted = " (deleted)";
	size_t dl = strlen(deleted);

	program_argv = argv;
	if (n < 0) { /* no /proc: the name it was started by */
		snprintf(program, sizeof(program), "%s", argv[0]);
		return;
	}
	program[n] = '\0';
	/* Replaced under us already (a package upgrade): the path is it. */
	if ((size_t)n > dl && strcmp(program + n - dl, deleted) == 0)
		program[n - dl] = '\0';
}

/* ------------------------------------------------------------ finding */

static void init_adopt(struct shmfs_adopt *a)
{
	memset(a, 0, sizeof(*a));
	a->fuse = -1;
	a->rings.fd = -1;
	a->upgrade = getenv("SHMFS_UPGRADE") != NULL;
	unsetenv("SHMFS_UPGRADE");
	shmfs_fdstore_init(&a->store);
}

/*
 * Records are stored as state.N, N counting up: the next one goes in
 * before the last one leaves, so a master that dies in between leaves
 * both, and the highest is the latest.
 */
static unsigned long long state_seq;

/* The latest record passed back (claimed), or -1. */
static int claim_state(struct shmfs_adopt *a)
{
	char name[SHMFS_FDNAME_MAX + 1] = "";

	for (size_t i = 0; i < a->fds.n; i++) {
		unsigned long long n;
		char end;

		if (sscanf(a->fds.v[i].name, "state.%llu%c", &n, &end) == 1 &&
		    (name[0] == '\0' || n > state_seq)) {
			state_seq = n;
			snprintf(name, sizeof(name), "%s", a->fds.v[i].name);
		}
	}
	return name[0] ? shmfs_fdlist_claim(&a->fds, name) : -1;
}

/*
 * A connection that speaks io_uring: the requests its dead workers held
 * can only be answered from their ring buffers, at the addresses they
 * registered. Mapped here, before anything else can take that range.
 * Why not, or NULL. (Without them the connection ends when the store
 * lets it go: its callers get ENOTCONN instead of waiting for ever.)
 */
static const char *adopt_rings(struct shmfs_adopt *a)
{
	static char why[160];
	uint32_t flags2 = 0;
	const char *bad;
	int fd, err;

	if (a->rec.init_out_len >= SHMFS_INIT_OUT_FLAGS2 + sizeof(flags2))
		memcpy(&flags2, a->rec.init_out + SHMFS_INIT_OUT_FLAGS2,
		       sizeof(flags2));
	if (!(flags2 & SHMFS_FUSE_OVER_IO_URING_FLAGS2))
		return NULL;
	fd = shmfs_fdlist_claim(&a->fds, "uring.region");
	if (fd < 0)
		return "its connection speaks io_uring, and its ring buffers "
		       "were not stored";
	err = shmfs_uring_region_adopt(fd, &a->rings, &bad);
	if (err == 0)
		return NULL;
	snprintf(why, sizeof(why),
		 "its ring buffers cannot be mapped where "
		 "they were registered (%s)",
		 bad ? bad : strerror(-err));
	return why;
}

/* Why what was passed cannot be adopted, or NULL. */
static const char *check(struct shmfs_adopt *a)
{
	int state = claim_state(a);
	const char *why = NULL;

	a->fuse = shmfs_fdlist_claim(&a->fds, "fuse");
	if (state < 0)
		return "no state record was stored";
	if (shmfs_record_read(state, &a->rec, &a->zones, &a->config, &why) <
	    0) {
		/* Nothing of it can be trusted, its mount point included. */
		memset(&a->rec, 0, sizeof(a->rec));
		close(state);
		return why ? why : "its state record cannot be read";
	}
	close(state);
	if (a->fuse < 0)
		return "no FUSE descriptor was stored (INIT never recorded)";
	if (shmfs_kernel_aborted(a->fuse))
		return "its FUSE connection was aborted";
	return adopt_rings(a);
}

/*
 * Lets the old connection go: nothing of it stays in the store, the last
 * descriptor closes (the kernel then ends the connection), and its dead
 * mount is detached so that the fresh start can mount there.
 */
void shmfs_restart_discard(struct shmfs_adopt *a, const char *why)
{
	struct shmfs_fdlist none = {0};

	shmfs_log_notice("the stored state was not adopted: %s; starting "
			 "fresh",
			 why);
	shmfs_fdstore_sync(&a->store, &none);
	shmfs_fdlist_close(&a->fds);
	if (a->fuse >= 0)
		close(a->fuse);
	a->fuse = -1;
	if (a->rec.mountpoint[0] == '/')
		shmfs_mountpoint_release(a->rec.mountpoint);
	shmfs_uring_region_destroy(&a->rings);
	free(a->zones);
	free(a->config);
	a->zones = NULL;
	a->config = NULL;
	a->found = false;
}

int shmfs_restart_find(struct shmfs_adopt *a)
{
	const char *why;
	int n;

	init_adopt(a);
	n = shmfs_fdstore_take(&a->fds); /* a malformed one is logged */
	if (n <= 0)
		return 0;
	shmfs_fdstore_seed(&a->store, &a->fds);
	why = check(a);
	if (why != NULL) {
		shmfs_restart_discard(a, why);
		return 0;
	}
	a->init.in_len = a->rec.init_in_len;
	a->init.out_len = a->rec.init_out_len;
	memcpy(a->init.in, a->rec.init_in, sizeof(a->init.in));
	memcpy(a->init.out, a->rec.init_out, sizeof(a->init.out));
	a->found = true;
	return 1;
}

void shmfs_restart_free(struct shmfs_adopt *a)
{
	shmfs_uring_region_destroy(&a->rings);
	shmfs_fdlist_close(&a->fds);
	if (a->fuse >= 0)
		close(a->fuse);
	a->fuse = -1;
	free(a->zones);
	free(a->config);
	a->zones = NULL;
	a->config = NULL;
	shmfs_fdstore_free(&a->store);
}

/* ------------------------------------------------------------ adopting */

/* The configuration the dead master ran, from its text. */
int shmfs_restart_config(const struct shmfs_adopt *a, const char *file,
			 struct shmfs_config *cfg)
{
	char err[1024];

	if (shmfs_config_parse_string(a->config, file, cfg, err, sizeof(err)) <
	    0) {
		shmfs_log_error("the stored configuration: %s", err);
		return -EPROTO;
	}
	cfg->text = strdup(a->config);
	if (cfg->text == NULL) {
		shmfs_config_free(cfg);
		return -ENOMEM;
	}
	cfg->text_len = strlen(a->config);
	return 0;
}

static int old_config(struct shmfs_adopt *a, const char *file,
		      struct shmfs_config *cfg)
{
	int err = shmfs_restart_config(a, file, cfg);

	if (err)
		return err;
	if (cfg->nzones != a->rec.nzones) {
		shmfs_log_error("the stored configuration has %zu zones, its "
				"record %u",
				cfg->nzones, a->rec.nzones);
		shmfs_config_free(cfg);
		return -EPROTO;
	}
	for (size_t i = 0; i < cfg->nzones; i++) {
		if (strcmp(cfg->zones[i].name, a->zones[i].name) != 0) {
			shmfs_log_error("the stored zone %zu is \"%s\" in the "
					"record, \"%s\" in the configuration",
					i, a->zones[i].name,
					cfg->zones[i].name);
			shmfs_config_free(cfg);
			return -EPROTO;
		}
	}
	return 0;
}

int shmfs_restart_cycle(struct shmfs_adopt *a, const char *file,
			struct shmfs_cycle **out)
{
	struct shmfs_config cfg;
	size_t n = a->rec.nzones;
	struct shmfs_zonetab_stored_zone *zones = calloc(n + 1, sizeof(*zones));
	struct shmfs_cycle_zone *run = calloc(n + 1, sizeof(*run));
	struct shmfs_cycle_stored st = {
		.tab = {.region_size = a->rec.region_size, .zones = zones},
		.generation = a->rec.stats_epoch,
		.zones = run,
	};
	int err = -ENOMEM;

	if (zones == NULL || run == NULL) {
		shmfs_log_sys(LOG_ERR, ENOMEM, "calloc(%zu) of stored zones",
			      n);
		goto out;
	}
	err = old_config(a, file, &cfg);
	if (err)
		goto out;
	for (size_t i = 0; i < n; i++) {
		const struct shmfs_record_zone *z = &a->zones[i];

		zones[i].fd = z->fdname[0]
				      ? shmfs_fdlist_claim(&a->fds, z->fdname)
				      : -1;
		zones[i].size = z->size;
		zones[i].ino = z->ino;
		zones[i].sysv_id = z->sysv_id;
		zones[i].created = z->created;
		run[i].cache = z->cache;
		run[i].backing_id = z->backing_id;
		if (zones[i].fd < 0 && z->backend != SHMFS_BACKEND_PROCESS)
			shmfs_log_warn("zone \"%s\": its memory was not "
				       "stored: it starts empty",
				       z->name);
	}
	st.tab.region_fd = shmfs_fdlist_claim(&a->fds, "region");
	st.stats_fd = shmfs_fdlist_claim(&a->fds, "stats");
	if (st.tab.region_fd < 0) {
		shmfs_log_error("no shared region was stored");
		err = -EPROTO;
		shmfs_config_free(&cfg);
		for (size_t i = 0; i < n; i++)
			if (zones[i].fd >= 0)
				close(zones[i].fd);
		if (st.stats_fd >= 0)
			close(st.stats_fd);
		goto out;
	}
	err = shmfs_cycle_restore(&cfg, &st, out);
out:
	free(zones);
	free(run);
	return err;
}

/* ------------------------------------------------------------ keeping */

/* Descriptors opened only to be handed over, closed once they are. */
struct handed {
	struct shmfs_fdlist want;
	int *temp;
	size_t ntemp;
};

/* fd < 0 (a file that cannot be had here) is left out. */
static int add(struct handed *hd, const char *name, int fd, bool temp)
{
	int err;

	if (fd < 0)
		return 0;
	err = shmfs_fdlist_add(&hd->want, name, fd);

	if (err == 0 && temp)
		hd->temp[hd->ntemp++] = fd;
	else if (err < 0 && temp)
		close(fd);
	return err;
}

/* The memory's file of a mapping without one (needs root): -1 if none. */
static int mapping_file(void *addr, size_t size)
{
	struct shmfs_shm shm = {.addr = addr, .size = size, .fd = -1};
	int fd = shmfs_shm_memory_file(&shm);

	return fd < 0 ? -1 : fd;
}

int shmfs_restart_fuse_args(const struct shmfs_adopt *a, struct fuse_args *args)
{
	char opts[sizeof(a->rec.fuse_opts)], *save = NULL;
	struct fuse_args none = FUSE_ARGS_INIT(0, NULL);

	*args = none;
	snprintf(opts, sizeof(opts), "%s", a->rec.fuse_opts);
	if (fuse_opt_add_arg(args, "shmfs") < 0)
		goto fail;
	for (char *p = strtok_r(opts, "\n", &save); p != NULL;
	     p = strtok_r(NULL, "\n", &save))
		if (fuse_opt_add_arg(args, p) < 0)
			goto fail;
	return 0;
fail:
	shmfs_log_sys(LOG_ERR, ENOMEM, "the adopted mount's options");
	fuse_opt_free_args(args);
	return -ENOMEM;
}

static void join_args(const struct fuse_args *args, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 1; i < args->argc && used < len; i++)
		used += snprintf(buf + used, len - used, "%s%s",
				 i > 1 ? "\n" : "", args->argv[i]);
}

static void fill_head(struct shmfs_record *rec, const struct shmfs_handover *h)
{
	const struct shmfs_cycle *c = h->cycle;
	struct shmfs_region *r = shmfs_cycle_region(c);
	const struct shmfs_kernel_init *init = shmfs_kernel_init_recorded();

	memset(rec, 0, sizeof(*rec));
	rec->generation = atomic_load(&r->generation);
	rec->restarts = atomic_load(&r->restarts);
	rec->upgrades = atomic_load(&r->upgrades);
	rec->stats_epoch = c->generation;
	if (init) {
		rec->init_in_len = init->in_len;
		rec->init_out_len = init->out_len;
		memcpy(rec->init_in, init->in, init->in_len);
		memcpy(rec->init_out, init->out, init->out_len);
	}
	snprintf(rec->mountpoint, sizeof(rec->mountpoint), "%s", h->mountpoint);
	join_args(h->args, rec->fuse_opts, sizeof(rec->fuse_opts));
	rec->region_size = c->tab->region_shm.size;
	rec->stats_size = SHMFS_STATSFILE_SLOTS * c->stats.slot_size;
	rec->master = getpid();
	rec->master_start = shmfs_record_start_time(getpid());
	rec->nzones = c->tab->nzones;
	rec->config_len = c->cfg.text ? c->cfg.text_len : 0;
}

/* Each zone's line of the record, and its memory in hd. */
static int add_zones(struct handed *hd, const struct shmfs_handover *h,
		     struct shmfs_record_zone *zones)
{
	const struct shmfs_cycle *c = h->cycle;

	for (size_t i = 0; i < c->tab->nzones; i++) {
		const struct shmfs_zonetab_entry *e = &c->tab->entries[i];
		const struct shmfs_cycle_zone *run = &c->zones[i];
		struct shmfs_record_zone *z = &zones[i];
		/* A program's memory is found again: never stored (pinned). */
		bool found_again = e->conf.backend == SHMFS_BACKEND_PROCESS;
		bool temp = e->shm.fd < 0 && !found_again;
		int fd = found_again ? -1
			 : temp	     ? mapping_file(e->shm.addr, e->shm.size)
				     : e->shm.fd;

		snprintf(z->name, sizeof(z->name), "%s", e->conf.name);
		z->ino = e->ino;
		z->size = e->shm.size;
		z->backend = e->conf.backend;
		z->cache = run->cache;
		z->backing_id = run->backing_id;
		z->sysv_id =
			e->conf.backend == SHMFS_BACKEND_SYSV ? e->shm.id : -1;
		z->created = e->shm.created;
		z->keep = e->shm.keep;
		if (fd < 0)
			continue; /* not root: a private zone starts empty */
		snprintf(z->fdname, sizeof(z->fdname), "zone.%llu",
			 (unsigned long long)e->ino);
		int err = add(hd, z->fdname, fd, temp);
		if (err)
			return err;
	}
	return 0;
}

/* Everything h hands over, in hd; free with release(). */
static int collect(struct handed *hd, const struct shmfs_handover *h)
{
	const struct shmfs_cycle *c = h->cycle;
	size_t n = c->tab->nzones;
	struct shmfs_record rec;
	struct shmfs_record_zone *zones = calloc(n + 1, sizeof(*zones));
	int err = -ENOMEM, state = -1;
	char name[32];

	memset(hd, 0, sizeof(*hd));
	hd->temp = calloc(n + 4, sizeof(*hd->temp));
	if (zones == NULL || hd->temp == NULL)
		goto out;
	fill_head(&rec, h);
	err = add(hd, "fuse", h->fuse, false);
	for (unsigned i = 0; err == 0 && i < h->nclones; i++) {
		if (h->clones[i] < 0)
			continue;
		snprintf(name, sizeof(name), "clone.%u", i);
		err = add(hd, name, h->clones[i], false);
	}
	if (err == 0) {
		int fd = c->tab->region_shm.fd;
		err = fd >= 0 ? add(hd, "region", fd, false)
			      : add(hd, "region",
				    mapping_file(c->tab->region_shm.addr,
						 c->tab->region_shm.size),
				    true);
	}
	if (err == 0)
		err = add(hd, "stats", c->stats.fd, false);
	if (err == 0 && h->rings != NULL)
		err = add(hd, "uring.region", h->rings->fd, false);
	if (err == 0)
		err = add_zones(hd, h, zones);
	if (err == 0)
		err = shmfs_record_write(
			&rec, zones, c->cfg.text ? c->cfg.text : "", &state);
	snprintf(name, sizeof(name), "state.%llu", ++state_seq);
	if (err == 0)
		err = add(hd, name, state, true);
out:
	if (err)
		shmfs_log_sys(LOG_ERR, -err,
			      "collecting what a restart needs failed");
	free(zones);
	return err;
}

static void release(struct handed *hd)
{
	for (size_t i = 0; i < hd->ntemp; i++)
		close(hd->temp[i]);
	free(hd->temp);
	shmfs_fdlist_free(&hd->want);
}

int shmfs_restart_keep(struct shmfs_fdstore *store,
		       const struct shmfs_handover *h)
{
	struct handed hd;
	int err;

	if (!store->on || shmfs_kernel_init_recorded() == NULL)
		return 0;
	err = collect(&hd, h);
	if (err == 0 && hd.want.n > UNIT_STORE_MAX && !warned_max) {
		/* systemd drops what does not fit, and says nothing. */
		shmfs_log_warn(
			"a restart needs %zu stored descriptors, more "
			"than shmfs@.service's FileDescriptorStoreMax=%d: "
			"raise it in a drop-in, or a crash loses zones",
			hd.want.n, UNIT_STORE_MAX);
		warned_max = true;
	}
	if (err == 0)
		err = shmfs_fdstore_sync(store, &hd.want);
	release(&hd);
	return err;
}

void shmfs_restart_forget(struct shmfs_fdstore *store)
{
	struct shmfs_fdlist none = {0};

	shmfs_fdstore_sync(store, &none);
}

int shmfs_restart_exec(const struct shmfs_handover *h)
{
	struct handed hd;
	int err;

	if (program_argv == NULL || shmfs_kernel_init_recorded() == NULL)
		return -ENOEXEC;
	err = collect(&hd, h);
	if (err)
		return err;
	err = shmfs_fdstore_export(&hd.want);
	if (err == 0 && setenv("SHMFS_UPGRADE", "1", 1) < 0)
		err = -errno;
	if (err == 0 && shmfs_notify_socket() != NULL &&
	    setenv("NOTIFY_SOCKET", shmfs_notify_socket(), 1) < 0)
		err = -errno;
	if (err == 0) {
		execv(program, program_argv);
		err = -errno;
	}
	shmfs_log_sys(LOG_CRIT, -err, "upgrade: executing %s failed", program);
	return err;
}

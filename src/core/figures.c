/* SPDX-License-Identifier: MIT */
/*
 * The table of the figures that /.stats and /.metrics show, and the getters
 * of those that are not a counter in shared memory. Every counter is an
 * atomic in the shared region, so any worker reads the same numbers.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "shmfs/config.h"
#include "shmfs/figures.h"
#include "shmfs/region.h"
#include "shmfs/shm.h"
#include "shmfs/zone.h"
#include "shmfs/zonetab.h"

/* ------------------------------------------------------------ getters */

/* In nanoseconds: the metric shows them as decimals of a second. */
static uint64_t start_time(const struct shmfs_figure_at *at)
{
	const struct timespec *t = &at->tab->region->started;

	return (uint64_t)t->tv_sec * 1000000000u + (uint64_t)t->tv_nsec;
}

/* 0 while the clock is set before the mount: never a negative uptime. */
static uint64_t uptime(const struct shmfs_figure_at *at)
{
	time_t started = at->tab->region->started.tv_sec;

	return at->now.tv_sec > started ? (uint64_t)(at->now.tv_sec - started)
					: 0;
}

static uint64_t workers(const struct shmfs_figure_at *at)
{
	const struct shmfs_region *r = at->tab->region;
	uint64_t n = 0;

	for (unsigned i = 0; i < SHMFS_WORKERS_MAX; i++)
		n += atomic_load(&r->workers[i].pid) != 0;
	return n;
}

/* How requests reach the workers (the region says: a worker may turn
 * the rings off when the kernel refuses them). */
static const char *transport(const struct shmfs_figure_at *at, char *buf,
			     size_t cap)
{
	(void)buf;
	(void)cap;
	return atomic_load(&at->tab->region->uring) ? "io_uring" : "/dev/fuse";
}

static uint64_t zones(const struct shmfs_figure_at *at)
{
	return at->tab->nzones;
}

static uint64_t worker_pid(const struct shmfs_figure_at *at)
{
	return (uint64_t)atomic_load(&at->worker->pid);
}

static uint64_t zone_capacity(const struct shmfs_figure_at *at)
{
	return at->zone->zone.capacity;
}

static uint64_t zone_used(const struct shmfs_figure_at *at)
{
	return shmfs_zone_used(&at->zone->zone);
}

static const char *zone_backend(const struct shmfs_figure_at *at, char *buf,
				size_t cap)
{
	(void)buf, (void)cap;
	return shmfs_backend_name(at->zone->conf.backend);
}

/*
 * What other programs know the zone's memory by: "/NAME", "key 0x2a",
 * "PATH", with " attach" and " keep"; "-" for private memory.
 */
static const char *zone_object(const struct shmfs_figure_at *at, char *buf,
			       size_t cap)
{
	shmfs_shm_describe(&at->zone->shm, buf, cap);
	return buf;
}

/* The mode the zone runs in, which can differ from its section's. */
static const char *zone_cache(const struct shmfs_figure_at *at, char *buf,
			      size_t cap)
{
	(void)buf, (void)cap;
	return shmfs_config_cache_name((enum shmfs_cache)at->cache);
}

/* The permission bits as chmod(1) takes them; they change at run time. */
static const char *zone_mode(const struct shmfs_figure_at *at, char *buf,
			     size_t cap)
{
	struct stat st;

	if (shmfs_zone_stat(&at->zone->zone, &st) < 0)
		return "?";
	snprintf(buf, cap, "%04o", (unsigned)(st.st_mode & 07777));
	return buf;
}

/* backend = process: 0 while the zone's program is not running. */
static uint64_t zone_attached(const struct shmfs_figure_at *at)
{
	return !at->zone->zone.detached;
}

/* ------------------------------------------------------------ the table */

/* The offset of a uint64_t counter (anything else does not compile). */
#define COUNTER_AT(type, field)                                                \
	.offset = _Generic(((type *)0)->field, uint64_t : offsetof(type, field))
#define REGION(field) COUNTER_AT(struct shmfs_region, field)
#define SLOT(field) COUNTER_AT(struct shmfs_worker_slot, field)
#define RECORD(field) COUNTER_AT(struct shmfs_zone_meta, field)

#define DAEMON(t) .scope = SHMFS_FIGURE_DAEMON, .type = SHMFS_FIGURE_##t
#define WORKER(t) .scope = SHMFS_FIGURE_WORKER, .type = SHMFS_FIGURE_##t
#define ZONE(t) .scope = SHMFS_FIGURE_ZONE, .type = SHMFS_FIGURE_##t

/*
 * Kept out of clang-format, which would lay each row out differently: a
 * row reads scope and type, names, where the value is, then the HELP text.
 */
/* clang-format off */
const struct shmfs_figure shmfs_figures[SHMFS_FIGURES] = {
	[SHMFS_FIGURE_START_TIME] = {DAEMON(GAUGE),
		.metric = "shmfs_start_time_seconds", .unit = "seconds",
		.decimals = 9, .get = start_time,
		.help = "Time of the mount, in seconds since the Epoch."},
	[SHMFS_FIGURE_UPTIME] = {DAEMON(GAUGE), .name = "uptime",
		.metric = "shmfs_uptime_seconds", .unit = "seconds",
		.get = uptime, .flags = SHMFS_FIGURE_REQUIRED,
		.help = "Seconds since the mount (/.stats uptime)."},
	[SHMFS_FIGURE_RELOADS] = {DAEMON(COUNTER), .name = "reloads",
		.metric = "shmfs_reloads_total", REGION(reloads),
		.status = "reload",
		.help = "Configuration reloads (SIGHUP) since the mount."},
	[SHMFS_FIGURE_RESPAWNS] = {DAEMON(COUNTER), .name = "respawns",
		.metric = "shmfs_respawns_total", REGION(respawns),
		.status = "respawn",
		.help = "Workers replaced since the mount."},
	[SHMFS_FIGURE_STOPS] = {DAEMON(COUNTER), .name = "stops",
		.metric = "shmfs_worker_stops_total", REGION(stops),
		.flags = SHMFS_FIGURE_OPTIONAL, .status = "stop",
		.help = "Workers found stopped by a signal (and continued) "
			"since the mount."},
	[SHMFS_FIGURE_LOG_DROPPED] = {DAEMON(COUNTER), .name = "log_dropped",
		.metric = "shmfs_log_dropped_total", REGION(log_dropped),
		.flags = SHMFS_FIGURE_OPTIONAL, .status = "dropped log line",
		.help = "Workers' log lines lost because the pipe to the "
			"master was full."},
	/*
	 * The masters of this mount: a restart adopted what a dead master
	 * stored, an upgrade re-executed the master in place. Optional:
	 * daemons before restarts did not write them.
	 */
	[SHMFS_FIGURE_GENERATION] = {DAEMON(GAUGE), .name = "generation",
		.metric = "shmfs_generation", REGION(generation),
		.flags = SHMFS_FIGURE_OPTIONAL | SHMFS_FIGURE_RANK,
		.status = "generation",
		.help = "Masters that served this mount: 1 + restarts + "
			"upgrades."},
	[SHMFS_FIGURE_RESTARTS] = {DAEMON(COUNTER), .name = "restarts",
		.metric = "shmfs_restarts_total", REGION(restarts),
		.flags = SHMFS_FIGURE_OPTIONAL, .status = "restart",
		.help = "Masters that took the mount over from a dead one "
			"(a crash, kill -9, a restart) since the mount."},
	[SHMFS_FIGURE_UPGRADES] = {DAEMON(COUNTER), .name = "upgrades",
		.metric = "shmfs_upgrades_total", REGION(upgrades),
		.flags = SHMFS_FIGURE_OPTIONAL, .status = "upgrade",
		.help = "Times the master re-executed its binary in place "
			"(shmfs -s upgrade) since the mount."},
	/* Optional: daemons before rings did not write it. */
	[SHMFS_FIGURE_TRANSPORT_INFO] = {DAEMON(INFO),
		.metric = "shmfs_transport_info",
		.help = "How the kernel's requests reach the workers."},
	[SHMFS_FIGURE_TRANSPORT] = {DAEMON(LABEL), .name = "transport",
		.text = transport, .flags = SHMFS_FIGURE_OPTIONAL,
		.status = "served through",
		.help = "io_uring (FUSE over io_uring, a ring per CPU) or "
			"/dev/fuse."},

	[SHMFS_FIGURE_WORKERS] = {DAEMON(GAUGE), .name = "workers",
		.metric = "shmfs_workers", .get = workers,
		.flags = SHMFS_FIGURE_COUNT,
		.help = "Worker processes running."},
	[SHMFS_FIGURE_WORKER_PID] = {WORKER(GAUGE), .name = "pid",
		.metric = "shmfs_worker_pid", .get = worker_pid,
		.status = "PID",
		.help = "Process id of the worker in this slot."},
	[SHMFS_FIGURE_WORKER_REQUESTS] = {WORKER(COUNTER), .name = "requests",
		.metric = "shmfs_worker_requests_total", SLOT(requests),
		.status = "REQUESTS",
		.help = "Requests the worker in this slot served (from 0 at "
			"its start)."},
	[SHMFS_FIGURE_WORKER_ERRORS] = {WORKER(COUNTER), .name = "errors",
		.metric = "shmfs_worker_errors_total", SLOT(errors),
		.status = "ERRORS",
		.help = "Requests the worker in this slot answered with an "
			"error."},
	[SHMFS_FIGURE_WORKER_BYTES_IN] = {WORKER(COUNTER), .name = "bytes_in",
		.metric = "shmfs_worker_written_bytes_total", .unit = "bytes",
		SLOT(bytes_in),
		.help = "Bytes the worker in this slot wrote into zones."},
	[SHMFS_FIGURE_WORKER_BYTES_OUT] = {WORKER(COUNTER), .name = "bytes_out",
		.metric = "shmfs_worker_read_bytes_total", .unit = "bytes",
		SLOT(bytes_out),
		.help = "Bytes the worker in this slot read from zones."},

	[SHMFS_FIGURE_ZONES] = {DAEMON(GAUGE), .name = "zones",
		.metric = "shmfs_zones", .get = zones,
		.flags = SHMFS_FIGURE_REQUIRED | SHMFS_FIGURE_COUNT,
		.help = "Zones in the configuration."},
	[SHMFS_FIGURE_ZONE_INFO] = {ZONE(INFO),
		.metric = "shmfs_zone_info",
		.help = "Always 1; the labels describe the zone."},
	[SHMFS_FIGURE_ZONE_BACKEND] = {ZONE(LABEL), .name = "backend",
		.text = zone_backend,
		.help = "The backend of the zone's memory."},
	[SHMFS_FIGURE_ZONE_OBJECT] = {ZONE(LABEL), .name = "object",
		.text = zone_object, .flags = SHMFS_FIGURE_LONG,
		.help = "The shared object behind the zone, \"-\" for none."},
	[SHMFS_FIGURE_ZONE_CACHE] = {ZONE(LABEL), .name = "cache",
		.text = zone_cache,
		.help = "The cache mode the zone runs in."},
	[SHMFS_FIGURE_ZONE_MODE] = {ZONE(LABEL), .name = "mode",
		.text = zone_mode,
		.help = "The permission bits of the zone file."},
	[SHMFS_FIGURE_ZONE_CAPACITY] = {ZONE(GAUGE), .name = "capacity",
		.metric = "shmfs_zone_capacity_bytes", .unit = "bytes",
		.get = zone_capacity, .flags = SHMFS_FIGURE_REQUIRED,
		.help = "Configured size of the zone."},
	[SHMFS_FIGURE_ZONE_LENGTH] = {ZONE(GAUGE), .name = "length",
		.metric = "shmfs_zone_length_bytes", .unit = "bytes",
		RECORD(length),
		.help = "Length of the zone file (st_size)."},
	[SHMFS_FIGURE_ZONE_USED] = {ZONE(GAUGE), .name = "used",
		.metric = "shmfs_zone_used_bytes", .unit = "bytes",
		.get = zone_used, .flags = SHMFS_FIGURE_OPTIONAL,
		.help = "Bytes of the zone in use, as df counts them: the "
			"length, or the memory a fixed-size zone holds."},
	[SHMFS_FIGURE_ZONE_READS] = {ZONE(COUNTER), .name = "reads",
		.metric = "shmfs_zone_reads_total", RECORD(reads),
		.help = "Read requests that reached a worker."},
	[SHMFS_FIGURE_ZONE_WRITES] = {ZONE(COUNTER), .name = "writes",
		.metric = "shmfs_zone_writes_total", RECORD(writes),
		.help = "Write requests that reached a worker."},
	[SHMFS_FIGURE_ZONE_BYTES_IN] = {ZONE(COUNTER), .name = "bytes_in",
		.metric = "shmfs_zone_written_bytes_total", .unit = "bytes",
		RECORD(bytes_in),
		.help = "Bytes written into the zone by workers."},
	[SHMFS_FIGURE_ZONE_BYTES_OUT] = {ZONE(COUNTER), .name = "bytes_out",
		.metric = "shmfs_zone_read_bytes_total", .unit = "bytes",
		RECORD(bytes_out),
		.help = "Bytes read from the zone by workers."},
	/* Issue 18: how much of the zone really is in huge pages. */
	[SHMFS_FIGURE_ZONE_HUGE_BYTES] = {ZONE(GAUGE), .name = "huge_bytes",
		.metric = "shmfs_zone_huge_bytes", .unit = "bytes",
		RECORD(huge_bytes), .flags = SHMFS_FIGURE_OPTIONAL,
		.help = "Bytes of the zone in 2 MiB pages in the master's "
			"mapping (smaps ShmemPmdMapped, every few seconds)."},
	[SHMFS_FIGURE_ZONE_HUGE_WANTED] = {ZONE(GAUGE),
		.name = "huge_wanted",
		.metric = "shmfs_zone_huge_wanted_bytes", .unit = "bytes",
		RECORD(huge_wanted), .flags = SHMFS_FIGURE_OPTIONAL,
		.help = "Bytes of the zone that huge_pages = try or on asks "
			"to be in 2 MiB pages (0: off); less in huge_bytes is "
			"a fallback."},
	/* backend = process (issue 19) */
	[SHMFS_FIGURE_ZONE_ATTACHED] = {ZONE(GAUGE), .name = "attached",
		.metric = "shmfs_zone_attached", .get = zone_attached,
		.flags = SHMFS_FIGURE_OPTIONAL,
		.help = "1 while the zone has its memory; 0 for a process "
			"zone whose program is not running (detached)."},
};
/* clang-format on */

/* ------------------------------------------------------------ reading */

size_t shmfs_figure_run_end(size_t k)
{
	size_t end = k;

	while (end < SHMFS_FIGURES &&
	       shmfs_figures[end].scope == shmfs_figures[k].scope)
		end++;
	return end;
}

uint64_t shmfs_figure_value(const struct shmfs_figure *f,
			    const struct shmfs_figure_at *at)
{
	const void *base = at->tab->region;

	if (f->get != NULL)
		return f->get(at);
	if (f->scope == SHMFS_FIGURE_WORKER)
		base = at->worker;
	else if (f->scope == SHMFS_FIGURE_ZONE)
		base = at->zone->zone.meta;
	return atomic_load_explicit(
		(const _Atomic uint64_t *)((const char *)base + f->offset),
		memory_order_relaxed);
}

const char *shmfs_figure_text(const struct shmfs_figure *f,
			      const struct shmfs_figure_at *at, char *buf,
			      size_t cap)
{
	return f->text(at, buf, cap);
}

const char *shmfs_figure_type_name(enum shmfs_figure_type type)
{
	/* The exposition format has no info type: a family of 1s is a gauge. */
	return type == SHMFS_FIGURE_COUNTER ? "counter" : "gauge";
}

const struct shmfs_figure *shmfs_figure_find(enum shmfs_figure_scope scope,
					     const char *name, size_t len)
{
	for (size_t k = 0; k < SHMFS_FIGURES; k++) {
		const struct shmfs_figure *f = &shmfs_figures[k];

		if (f->scope == scope && f->name != NULL &&
		    strlen(f->name) == len && memcmp(f->name, name, len) == 0)
			return f;
	}
	return NULL;
}

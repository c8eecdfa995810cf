/* SPDX-License-Identifier: MIT */
/*
 * What the configuration can check only once the whole file is read: what
 * each zone takes from [shmfs] (wherever [shmfs] stands in the file) or
 * from the defaults, the keys that go together (user and group, a
 * backend and the keys naming its object, a cache mode and the backends
 * that allow it), the zones' total, and zones that would share an object.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_parser.h"
#include "shmfs/limits.h"

/* user = and group = : the workers' ids. */
static void resolve_user(struct config_parser *p)
{
	struct shmfs_config *cfg = p->cfg;
	const int *line = p->global.key_line;

	if (line[KEY_GROUP] && !line[KEY_USER])
		shmfs_config_fail(p, line[KEY_GROUP], "group: needs user =");
	else if (line[KEY_USER] && !line[KEY_GROUP] && cfg->user_set &&
		 cfg->group == (gid_t)-1)
		shmfs_config_fail(p, line[KEY_USER],
				  "user: uid %u has no passwd entry: give "
				  "group = too",
				  (unsigned)cfg->user);
}

/*
 * Passthrough needs a backing object that cannot grow past the zone: the
 * kernel writes it for clients and would extend it past the end unseen.
 * Only a sealable backend (a memfd) stops that, so a passthrough zone is
 * a memfd. A backend named beside its cache mode (in the zone, or in
 * [shmfs] when the zone takes both from there) must be one; the [shmfs]
 * default backend does not apply to a zone that asks for passthrough
 * itself (see takes_global).
 */
static void resolve_passthrough(struct config_parser *p,
				struct shmfs_zone_config *z, const int *line)
{
	int at = line[KEY_BACKEND] ? line[KEY_BACKEND]
		 : line[KEY_CACHE] ? 0
				   : p->global.key_line[KEY_BACKEND];

	if (z->cache != SHMFS_CACHE_PASSTHROUGH)
		return;
	if (!at)
		z->backend = SHMFS_BACKEND_MEMFD;
	else if (!shmfs_backend_info(z->backend)->sealable)
		shmfs_config_fail(
			p, at,
			"[zone:%s]: cache = passthrough needs backend "
			"= memfd (only a memfd can be sealed so that "
			"a write past the end cannot grow the zone)",
			z->name);
}

/* ---- backend = process (issue 19) ---- */

/*
 * A process zone names its process and at least one way to find its
 * mapping (all given must hold); the other backends take none of these.
 * It is read-only unless writable = yes: its mode loses the write bits.
 */
static void check_process_keys(struct config_parser *p,
			       struct shmfs_zone_config *z, const int *line)
{
	static const enum config_key_id only[] = {KEY_MATCH, KEY_ADDRESS,
						  KEY_WRITABLE};

	if (z->backend != SHMFS_BACKEND_PROCESS) {
		for (size_t i = 0; i < sizeof(only) / sizeof(*only); i++)
			if (line[only[i]]) {
				shmfs_config_fail(
					p, line[only[i]],
					"%s: only for backend = process",
					shmfs_config_keys[only[i]].name);
				return;
			}
		return;
	}
	if (!line[KEY_PROCESS])
		shmfs_config_fail(p, z->line,
				  "[zone:%s]: backend = process needs process "
				  "= (a pid file's absolute path, or a pid)",
				  z->name);
	else if (!line[KEY_MATCH] && !line[KEY_ADDRESS] && !line[KEY_SIZE])
		shmfs_config_fail(p, z->line,
				  "[zone:%s]: backend = process needs match =, "
				  "address = or size = to pick one of the "
				  "process's shared mappings",
				  z->name);
	else if (line[KEY_MATCH] && z->match[0] == '\0')
		shmfs_config_fail(p, line[KEY_MATCH], "match: value is empty");
	if (!z->writable)
		z->mode &= ~(mode_t)0222;
}

/* ---- end of backend = process ---- */

/* The backend whose object the key (name, key, path) names. */
static const char *named_by(enum config_key_id key)
{
	for (int b = 0; b < SHMFS_BACKEND_COUNT; b++) {
		const char *k = shmfs_backend_info(b)->object_key;

		if (k && strcmp(k, shmfs_config_keys[key].name) == 0)
			return shmfs_backend_name(b);
	}
	return "?";
}

/*
 * The keys of shared objects, each for the backends that have one: name,
 * key and path for the backend whose object each names; attach and keep
 * for an object shmfs may create or find (posix, keyed sysv: a file is
 * both created and kept); object_owner where an object may exist.
 */
static void check_object_keys(struct config_parser *p,
			      struct shmfs_zone_config *z, const int *line)
{
	static const enum config_key_id naming[] = {KEY_NAME, KEY_KEY, KEY_PATH,
						    KEY_PROCESS};
	const char *own = shmfs_backend_info(z->backend)->object_key;
	bool posix = z->backend == SHMFS_BACKEND_POSIX;
	bool file = z->backend == SHMFS_BACKEND_FILE;
	bool process = z->backend == SHMFS_BACKEND_PROCESS;
	bool keyed = z->backend == SHMFS_BACKEND_SYSV && line[KEY_KEY];

	for (size_t i = 0; i < sizeof(naming) / sizeof(*naming); i++) {
		const char *name = shmfs_config_keys[naming[i]].name;

		if (line[naming[i]] && (!own || strcmp(own, name) != 0)) {
			shmfs_config_fail(p, line[naming[i]],
					  "%s: only for backend = %s", name,
					  named_by(naming[i]));
			return;
		}
	}
	if (file && !line[KEY_PATH])
		shmfs_config_fail(
			p, z->line,
			"[zone:%s]: backend = file needs path =", z->name);
	else if (line[KEY_ATTACH] && !posix && !keyed)
		shmfs_config_fail(p, line[KEY_ATTACH],
				  "attach: only for backend = posix, or sysv "
				  "with key =");
	else if (line[KEY_KEEP] && !posix && !keyed)
		shmfs_config_fail(p, line[KEY_KEEP],
				  "keep: only for backend = posix, or sysv "
				  "with key = (a file is always kept)");
	else if (line[KEY_OBJECT_OWNER] && !file && !process && !z->attach)
		shmfs_config_fail(p, line[KEY_OBJECT_OWNER],
				  "object_owner: only for backend = file or "
				  "process, or with attach = yes (shmfs owns "
				  "what it creates)");
	else
		check_process_keys(p, z, line);
}

/* A posix object's name, "/shmfs.ZONE" unless name = gives one. */
static void default_posix_name(struct config_parser *p,
			       struct shmfs_zone_config *z)
{
	char name[2 * SHMFS_NAME_MAX];

	snprintf(name, sizeof(name), "/shmfs.%s", z->name);
	if (strlen(name) > 1 + 255) {
		shmfs_config_fail(p, z->line,
				  "[zone:%s]: %s is too long for a posix "
				  "name: give name =",
				  z->name, name);
		return;
	}
	z->object = strdup(name);
	if (z->object == NULL)
		shmfs_config_fail_nomem(p);
}

/*
 * A shared object's capacity is its own, exact (other programs see it),
 * and left out for one that exists (attach = yes, or a file); private
 * memory needs a size.
 */
static void resolve_capacity(struct config_parser *p,
			     struct shmfs_zone_config *z, const int *line)
{
	bool posix = z->backend == SHMFS_BACKEND_POSIX;
	bool keyed = z->backend == SHMFS_BACKEND_SYSV && line[KEY_KEY];

	if (line[KEY_SIZE] && shmfs_zone_config_shared(z))
		z->capacity = z->requested; /* the object's, not rounded */
	else if (!line[KEY_SIZE] && posix && !z->attach)
		shmfs_config_fail(p, z->line,
				  "[zone:%s]: size is required to create "
				  "posix object %s (or attach = yes)",
				  z->name, z->object);
	else if (!line[KEY_SIZE] && keyed && !z->attach)
		shmfs_config_fail(p, z->line,
				  "[zone:%s]: size is required to create "
				  "the segment with key = (or attach = yes)",
				  z->name);
	else if (!line[KEY_SIZE] && !shmfs_zone_config_shared(z))
		shmfs_config_fail(p, z->line, "[zone:%s]: size is required",
				  z->name);
}

/*
 * Other programs write a shared object behind the kernel's page cache of
 * the zone file, which would then serve stale bytes: such zones run direct
 * (every read reaches the memory). Passthrough needs a sealed memfd (see
 * resolve_passthrough). The [shmfs] default does not apply to them.
 */
static void resolve_cache(struct config_parser *p, struct shmfs_zone_config *z,
			  const int *line)
{
	if (!shmfs_zone_config_shared(z))
		return;
	if (!line[KEY_CACHE])
		z->cache = SHMFS_CACHE_DIRECT;
	else if (z->cache != SHMFS_CACHE_DIRECT)
		shmfs_config_fail(
			p, line[KEY_CACHE],
			"[zone:%s]: cache = %s cannot show what other "
			"programs write into a %s object: use cache = direct%s",
			z->name, shmfs_config_cache_name(z->cache),
			shmfs_backend_name(z->backend),
			z->cache == SHMFS_CACHE_PAGE
				? " (the kernel's page cache of the zone file "
				  "would serve stale bytes)"
				: " (passthrough needs a memfd, which only "
				  "the daemon maps)");
}

/* Two zones over one object would each think the bytes their own. */
static void check_objects(struct config_parser *p)
{
	struct shmfs_config *cfg = p->cfg;

	for (size_t i = 0; i < cfg->nzones && !p->ret; i++) {
		if (!shmfs_zone_config_shared(&cfg->zones[i]))
			continue;
		for (size_t j = 0; j < i; j++) {
			if (!shmfs_zone_config_same_object(&cfg->zones[i],
							   &cfg->zones[j]))
				continue;
			shmfs_config_fail(p, cfg->zones[i].line,
					  "[zone:%s]: same object as "
					  "[zone:%s] (line %d)",
					  cfg->zones[i].name,
					  cfg->zones[j].name,
					  cfg->zones[j].line);
			break;
		}
	}
}

/*
 * Whether a zone without the key takes [shmfs]'s value: for every key of
 * both sections, but a zone that asks for passthrough itself is a memfd,
 * whatever [shmfs]'s backend (resolve_passthrough).
 */
static bool takes_global(const struct shmfs_zone_config *z, const int *line,
			 enum config_key_id key)
{
	if (shmfs_config_keys[key].at[IN_GLOBAL] == NOWHERE)
		return false;
	return key != KEY_BACKEND || !line[KEY_CACHE] ||
	       z->cache != SHMFS_CACHE_PASSTHROUGH;
}

/* The keys a zone does not give: [shmfs]'s value, or the default. */
static void inherit(struct config_parser *p, struct shmfs_zone_config *z,
		    const int *line)
{
	for (int key = 0; key < KEY_COUNT; key++) {
		const struct config_key *k = &shmfs_config_keys[key];

		if (line[key] || k->at[IN_ZONE] == NOWHERE)
			continue;
		if (takes_global(z, line, key))
			memcpy((char *)z + k->at[IN_ZONE],
			       (char *)p->cfg + k->at[IN_GLOBAL], k->size);
		else if (k->at[IN_GLOBAL] == NOWHERE)
			shmfs_config_set_default(p, z, IN_ZONE, key);
	}
}

/*
 * Issue 18 (huge.h): huge_pages = try|on makes the zone resident from the
 * start (populate = yes, which a populate = no beside it contradicts),
 * and a private zone's capacity whole 2 MiB pages (a shared object's
 * stays exact: its tail runs in 4 KiB pages). A file zone's pages are the
 * file's page cache: none of these keys apply. numa_node and numa =
 * interleave exclude each other.
 */
static int either_line(const struct config_parser *p, const int *line,
		       enum config_key_id key)
{
	return line[key] ? line[key] : p->global.key_line[key];
}

static void resolve_placement(struct config_parser *p,
			      struct shmfs_zone_config *z, const int *line)
{
	static const enum config_key_id keys[] = {KEY_HUGE_PAGES, KEY_POPULATE,
						  KEY_NUMA, KEY_NUMA_NODE};
	int node_line = either_line(p, line, KEY_NUMA_NODE);
	int numa_line = either_line(p, line, KEY_NUMA);

	z->huge_line = either_line(p, line, KEY_HUGE_PAGES);
	z->numa_line = z->numa_node >= 0 ? node_line : numa_line;
	if (z->backend == SHMFS_BACKEND_FILE) {
		for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++) {
			if (!line[keys[i]])
				continue;
			shmfs_config_fail(p, line[keys[i]],
					  "%s: not for backend = file (its "
					  "pages are the file's page cache)",
					  shmfs_config_keys[keys[i]].name);
			return;
		}
		/* [shmfs]'s defaults are for the zones they fit. */
		z->huge_pages = SHMFS_HUGE_OFF;
		z->populate = false;
		z->numa = SHMFS_NUMA_DEFAULT;
		z->numa_node = -1;
		return;
	}
	if (z->numa_node >= 0 && z->numa == SHMFS_NUMA_INTERLEAVE) {
		shmfs_config_fail(p,
				  node_line > numa_line ? node_line : numa_line,
				  "[zone:%s]: numa_node = %d and numa = "
				  "interleave exclude each other",
				  z->name, z->numa_node);
		return;
	}
	if (z->huge_pages == SHMFS_HUGE_OFF)
		return;
	if (line[KEY_POPULATE] && !z->populate) {
		shmfs_config_fail(p, line[KEY_POPULATE],
				  "populate: huge_pages = %s makes the zone "
				  "resident from the start: populate = no "
				  "cannot be had with it",
				  shmfs_huge_mode_name(z->huge_pages));
		return;
	}
	z->populate = true;
	if (line[KEY_SIZE] && !shmfs_zone_config_shared(z))
		z->capacity =
			shmfs_huge_align_up(z->requested, SHMFS_HUGE_SIZE);
}

/* One zone, once the whole file is read. */
static void resolve_zone(struct config_parser *p, struct shmfs_zone_config *z,
			 const int *line)
{
	inherit(p, z, line);
	if (!p->ret)
		check_object_keys(p, z, line);
	if (!p->ret && z->backend == SHMFS_BACKEND_POSIX && !z->object)
		default_posix_name(p, z);
	if (!p->ret)
		resolve_capacity(p, z, line);
	if (!p->ret)
		resolve_placement(p, z, line);
}

void shmfs_config_resolve(struct config_parser *p)
{
	struct shmfs_config *cfg = p->cfg;
	uint64_t total = 0;

	resolve_user(p);
	for (size_t i = 0; i < cfg->nzones && !p->ret; i++) {
		struct shmfs_zone_config *z = &cfg->zones[i];
		const int *line = p->zones[i].key_line;

		resolve_zone(p, z, line);
		if (p->ret)
			break;
		total += z->capacity;
		if (total > SHMFS_SIZE_MAX)
			shmfs_config_fail(p, line[KEY_SIZE],
					  "size: total of all zones is too "
					  "large (max 64T)");
		resolve_cache(p, z, line);
		if (!p->ret)
			resolve_passthrough(p, z, line);
	}
	if (!p->ret)
		check_objects(p);
}

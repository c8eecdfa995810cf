/* SPDX-License-Identifier: MIT */
/*
 * Fault injection (see fault.h). Counts are atomics in a small shared
 * mapping made before the fork, so "die once" means once in the whole pool,
 * not once per worker.
 */
#ifdef SHMFS_FAULT_INJECTION

#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shmfs/fault.h"
#include "shmfs/log.h"

#define POINTS_MAX 4

static struct fault {
	char name[32];
	_Atomic int *budget;
} faults[POINTS_MAX];

static const void *unmapped;

void shmfs_fault_init(void)
{
	const char *spec = getenv("SHMFS_FAULT");
	_Atomic int *budgets;
	unsigned n = 0;

	if (spec == NULL || *spec == '\0')
		return;
	budgets =
		mmap(NULL, POINTS_MAX * sizeof(*budgets),
		     PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_SHARED, -1, 0);
	if (budgets == MAP_FAILED)
		return;
	unmapped = mmap(NULL, (size_t)sysconf(_SC_PAGESIZE), PROT_NONE,
			MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	if (unmapped == MAP_FAILED)
		unmapped = NULL;
	for (const char *p = spec; *p != '\0' && n < POINTS_MAX; n++) {
		size_t len = strcspn(p, ",");
		size_t name = strcspn(p, ",:");
		struct fault *f = &faults[n];

		memcpy(f->name, p,
		       name < sizeof(f->name) ? name : sizeof(f->name) - 1);
		f->budget = &budgets[n];
		atomic_store(f->budget, name < len ? atoi(p + name + 1) : 1);
		p += len + (p[len] == ',');
	}
	shmfs_log_warn("fault injection armed: %s", spec);
}

static struct fault *find(const char *point)
{
	for (unsigned i = 0; i < POINTS_MAX && faults[i].budget; i++)
		if (strcmp(point, faults[i].name) == 0)
			return &faults[i];
	return NULL;
}

bool shmfs_fault_is(const char *point)
{
	return find(point) != NULL;
}

bool shmfs_fault_take(const char *point)
{
	struct fault *f = find(point);

	if (f == NULL || atomic_fetch_sub(f->budget, 1) <= 0)
		return false;
	shmfs_log_warn("fault injection: taking %s", point);
	return true;
}

void shmfs_fault_point(const char *point)
{
	struct fault *f = find(point);

	if (f == NULL || atomic_fetch_sub(f->budget, 1) <= 0)
		return;
	shmfs_log_warn("fault injection: dying at %s", point);
	raise(SIGKILL);
}

const void *shmfs_fault_unmapped(void)
{
	return unmapped;
}

#endif

/* SPDX-License-Identifier: MIT */
/*
 * verify: a verifying load on zone files, for the restart tests.
 *
 *   verify [-t SECONDS | -s STOPFILE] [-p PROCS] [-b BLOCKS] [-S STATE] FILE...
 *   verify -c STATE FILE...
 *
 * First every 4 KiB block of BLOCKS (default 64) in every FILE gets version
 * 0 of its pattern. Then PROCS processes (default 2) run until SECONDS have
 * passed, STOPFILE exists, or SIGTERM/SIGINT: process p owns the blocks b
 * with b % PROCS == p in every file and does random pwrite (half the ops)
 * and pread of its own blocks, checking every read against the version it
 * last wrote. Process 0 also maps the first FILE (MAP_SHARED) and checks
 * its own blocks through the mapping at each op. Each process stats every
 * FILE once a second and checks that st_ino did not change.
 *
 * A block holds a header (magic, file index, block, version) and bytes
 * that follow from it, ending in a checksum: a wrong read says what it
 * got. A write that failed leaves its block at either version; the next
 * read settles which.
 *
 * One summary line on exit:
 *   ops=N errors=N enotconn=N econnaborted=N wrong=N mmap_wrong=N
 *   ino_changed=N max_pause_ms=X.X hung=N
 * max_pause_ms is the slowest single call; hung counts processes that did
 * not end within 15 s of the stop (then killed). Exit 0 only if errors,
 * wrong, mmap_wrong, ino_changed and hung are all 0. The first error and
 * the first wrong read are described on a line of their own (stderr).
 *
 * -S STATE saves the last version of each block after the run; -c STATE
 * then reads every block of the FILEs and checks it against that version:
 *   blocks=N wrong=N wrong_bytes=N errors=N
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BLOCK 4096
#define WORDS (BLOCK / 8)
#define MAGIC 0x5346594d48535653ull /* "SVSHMYFS" */
#define MAX_FILES 32
#define MAX_PROCS 64
#define UNSURE                                                                 \
	0x80000000u /* the version, or the one before: a failed write          \
		     */
#define HANG_SECONDS 15

struct counts {
	uint64_t ops, errors, enotconn, econnaborted, wrong, mmap_wrong;
	uint64_t ino_changed;
	double max_ms;
};

/* Shared by all the processes (MAP_SHARED|MAP_ANONYMOUS). */
struct shared {
	atomic_int stop;
	atomic_int said_error, said_wrong;
	struct counts counts[MAX_PROCS];
	ino_t ino[MAX_FILES];
	uint32_t version[]; /* [file * nblocks + block]: written by its owner */
};

static struct shared *sh;
static char **files;
static int nfiles, nblocks = 64, nprocs = 2;
static int fds[MAX_FILES];
static volatile sig_atomic_t parent_stop;
static sigjmp_buf bus_jump;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	return x ^ (x >> 33);
}

/* The pattern of version V of block B of file F. */
static void pattern(uint64_t *w, int f, int b, uint32_t v)
{
	uint64_t x = mix(((uint64_t)f << 48) ^ ((uint64_t)b << 32) ^ v),
		 sum = 0;

	w[0] = MAGIC;
	w[1] = (uint64_t)f;
	w[2] = (uint64_t)b;
	w[3] = v;
	for (int i = 4; i < WORDS - 1; i++)
		w[i] = x = mix(x + i);
	for (int i = 0; i < WORDS - 1; i++)
		sum = mix(sum ^ w[i]);
	w[WORDS - 1] = sum;
}

/* What a wrong block holds, in words. */
static void describe(const uint64_t *w, char *out, size_t len)
{
	uint64_t sum = 0;
	int zero = 1;

	for (int i = 0; i < WORDS; i++)
		zero &= w[i] == 0;
	for (int i = 0; i < WORDS - 1; i++)
		sum = mix(sum ^ w[i]);
	if (zero)
		snprintf(out, len, "zeros");
	else if (w[0] != MAGIC)
		snprintf(out, len, "no pattern (first word %016llx)",
			 (unsigned long long)w[0]);
	else
		snprintf(out, len, "file %llu block %llu version %llu%s",
			 (unsigned long long)w[1], (unsigned long long)w[2],
			 (unsigned long long)w[3],
			 sum == w[WORDS - 1] ? "" : ", torn (bad checksum)");
}

/* ------------------------------------------------------------ counting */

static void note_error(struct counts *c, const char *call, int f, int b,
		       int err)
{
	c->errors++;
	c->enotconn += err == ENOTCONN;
	c->econnaborted += err == ECONNABORTED;
	if (atomic_exchange(&sh->said_error, 1) == 0)
		fprintf(stderr, "verify: first error: %s %s block %d: %s\n",
			call, files[f], b, err ? strerror(err) : "short count");
}

/* Checks a block read against version V (or V-1 too if UNSURE). Returns
 * the version found, or -1 if wrong (counted in *wrong). */
static int64_t check(const uint64_t *got, int f, int b, uint32_t v,
		     uint64_t *wrong, const char *how)
{
	uint64_t want[WORDS];
	uint32_t base = v & ~UNSURE;
	char what[128];

	pattern(want, f, b, base);
	if (memcmp(got, want, BLOCK) == 0)
		return base;
	if ((v & UNSURE) && base > 0) {
		pattern(want, f, b, base - 1);
		if (memcmp(got, want, BLOCK) == 0)
			return base - 1;
	}
	(*wrong)++;
	if (atomic_exchange(&sh->said_wrong, 1) == 0) {
		describe(got, what, sizeof(what));
		fprintf(stderr,
			"verify: first wrong read (%s): %s block %d: expected "
			"version %u%s, got %s\n",
			how, files[f], b, base, v & UNSURE ? " or before" : "",
			what);
	}
	return -1;
}

/* ------------------------------------------------------------ the load */

static void on_bus(int sig)
{
	(void)sig;
	siglongjmp(bus_jump, 1);
}

/* Process 0's check of its block B of file 0 through the mapping. */
static void check_mapped(struct counts *c, const unsigned char *map, int b)
{
	uint64_t got[WORDS];
	uint32_t *v = &sh->version[b];

	int64_t found;

	if (sigsetjmp(bus_jump, 1)) {
		note_error(c, "mmap read (SIGBUS)", 0, b, 0);
		return;
	}
	memcpy(got, map + (size_t)b * BLOCK, BLOCK);
	if ((found = check(got, 0, b, *v, &c->mmap_wrong, "mmap")) >= 0)
		*v = (uint32_t)found; /* settled */
}

static void stat_all(struct counts *c)
{
	struct stat st;

	for (int f = 0; f < nfiles; f++) {
		if (stat(files[f], &st) < 0) {
			note_error(c, "stat", f, -1, errno);
		} else if (st.st_ino != sh->ino[f]) {
			c->ino_changed++;
			fprintf(stderr, "verify: %s: inode %llu, was %llu\n",
				files[f], (unsigned long long)st.st_ino,
				(unsigned long long)sh->ino[f]);
			sh->ino[f] = st.st_ino; /* count each change once */
		}
	}
}

/* One pwrite or pread of a random block of our own. */
static void one_op(struct counts *c, int p, uint64_t *rng)
{
	uint64_t buf[WORDS];
	int f = (int)((*rng = mix(*rng)) % nfiles);
	int own = (nblocks - p + nprocs - 1) / nprocs;
	int b = p + nprocs * (int)((*rng = mix(*rng)) % own);
	bool write = (*rng = mix(*rng)) & 1;
	uint32_t *v = &sh->version[f * nblocks + b];
	off_t off = (off_t)b * BLOCK;
	double t0 = now_ms(), dt;
	int64_t found;
	ssize_t n;
	int err;

	if (write)
		pattern(buf, f, b, (*v & ~UNSURE) + 1);
	n = write ? pwrite(fds[f], buf, BLOCK, off)
		  : pread(fds[f], buf, BLOCK, off);
	err = n < 0 ? errno : 0;
	dt = now_ms() - t0;
	c->ops++;
	c->max_ms = dt > c->max_ms ? dt : c->max_ms;
	if (n != BLOCK) {
		note_error(c, write ? "pwrite" : "pread", f, b, err);
		if (write) /* done or not: the next read tells */
			*v = ((*v & ~UNSURE) + 1) | UNSURE;
		usleep(1000); /* a dead mount fails at once: do not spin */
		return;
	}
	if (write)
		*v = (*v & ~UNSURE) + 1;
	else if ((found = check(buf, f, b, *v, &c->wrong, "pread")) >= 0)
		*v = (uint32_t)found; /* settled */
}

static void run(int p)
{
	struct counts *c = &sh->counts[p];
	uint64_t rng = mix((uint64_t)getpid() << 20 ^ (uint64_t)p);
	unsigned char *map = NULL;
	double next_stat = now_ms() + 1000;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	if (p == 0) {
		map = mmap(NULL, (size_t)nblocks * BLOCK, PROT_READ, MAP_SHARED,
			   fds[0], 0);
		if (map == MAP_FAILED) {
			note_error(c, "mmap", 0, -1, errno);
			map = NULL;
		}
		signal(SIGBUS, on_bus);
	}
	while (!atomic_load(&sh->stop)) {
		one_op(c, p, &rng);
		if (map)
			check_mapped(c, map,
				     (int)((rng = mix(rng)) %
					   ((nblocks + nprocs - 1) / nprocs)) *
					     nprocs);
		if (now_ms() >= next_stat) {
			double t0 = now_ms(), dt;

			stat_all(c);
			dt = now_ms() - t0;
			c->max_ms = dt > c->max_ms ? dt : c->max_ms;
			next_stat = now_ms() + 1000;
		}
	}
	_exit(0);
}

/* ------------------------------------------------------------ the parent */

static void on_stop(int sig)
{
	(void)sig;
	parent_stop = 1;
}

/* Version 0 everywhere, before any process runs. */
static int fill(void)
{
	uint64_t buf[WORDS];
	struct stat st;

	for (int f = 0; f < nfiles; f++) {
		fds[f] = open(files[f], O_RDWR);
		if (fds[f] < 0 || fstat(fds[f], &st) < 0) {
			fprintf(stderr, "verify: %s: %s\n", files[f],
				strerror(errno));
			return -1;
		}
		sh->ino[f] = st.st_ino;
		for (int b = 0; b < nblocks; b++) {
			pattern(buf, f, b, 0);
			if (pwrite(fds[f], buf, BLOCK, (off_t)b * BLOCK) !=
			    BLOCK) {
				fprintf(stderr,
					"verify: first error: pwrite %s block "
					"%d: %s\n",
					files[f], b, strerror(errno));
				return -1;
			}
		}
	}
	return 0;
}

/* Waits for the processes, at most HANG_SECONDS after the stop; returns
 * how many had to be killed. */
static int reap(pid_t *pids)
{
	double deadline = now_ms() + HANG_SECONDS * 1000.0;
	int left = nprocs, hung = 0;

	while (left > 0 && now_ms() < deadline) {
		for (int p = 0; p < nprocs; p++) {
			if (pids[p] > 0 &&
			    waitpid(pids[p], NULL, WNOHANG) > 0) {
				pids[p] = 0;
				left--;
			}
		}
		usleep(10000);
	}
	for (int p = 0; p < nprocs; p++) {
		if (pids[p] > 0) {
			fprintf(stderr, "verify: process %d (pid %d) hung\n", p,
				(int)pids[p]);
			kill(pids[p], SIGKILL);
			hung++;
		}
	}
	return hung;
}

static int summary(int hung)
{
	struct counts t = {0};

	for (int p = 0; p < nprocs; p++) {
		struct counts *c = &sh->counts[p];

		t.ops += c->ops;
		t.errors += c->errors;
		t.enotconn += c->enotconn;
		t.econnaborted += c->econnaborted;
		t.wrong += c->wrong;
		t.mmap_wrong += c->mmap_wrong;
		t.ino_changed += c->ino_changed;
		t.max_ms = c->max_ms > t.max_ms ? c->max_ms : t.max_ms;
	}
	printf("ops=%llu errors=%llu enotconn=%llu econnaborted=%llu "
	       "wrong=%llu mmap_wrong=%llu ino_changed=%llu "
	       "max_pause_ms=%.1f hung=%d\n",
	       (unsigned long long)t.ops, (unsigned long long)t.errors,
	       (unsigned long long)t.enotconn,
	       (unsigned long long)t.econnaborted, (unsigned long long)t.wrong,
	       (unsigned long long)t.mmap_wrong,
	       (unsigned long long)t.ino_changed, t.max_ms, hung);
	return t.errors || t.wrong || t.mmap_wrong || t.ino_changed || hung;
}

/* STATE: "verify-state FILES BLOCKS", then one line of versions per file
 * ("7" or "7?" where a failed write left 6 or 7). */
static int save(const char *path)
{
	FILE *out = fopen(path, "w");

	if (out == NULL)
		return -1;
	fprintf(out, "verify-state %d %d\n", nfiles, nblocks);
	for (int f = 0; f < nfiles; f++) {
		for (int b = 0; b < nblocks; b++) {
			uint32_t v = sh->version[f * nblocks + b];

			fprintf(out, "%s%u%s", b ? " " : "", v & ~UNSURE,
				v & UNSURE ? "?" : "");
		}
		fputc('\n', out);
	}
	return fclose(out);
}

static int load(const char *path)
{
	FILE *in = fopen(path, "r");
	int f, b, n;

	if (in == NULL || fscanf(in, "verify-state %d %d", &f, &n) != 2 ||
	    f != nfiles || n != nblocks) {
		fprintf(stderr, "verify: %s: not a state of %d files\n", path,
			nfiles);
		return -1;
	}
	for (f = 0; f < nfiles; f++) {
		for (b = 0; b < nblocks; b++) {
			unsigned v;
			int c;

			if (fscanf(in, "%u", &v) != 1)
				return -1;
			c = fgetc(in);
			sh->version[f * nblocks + b] =
				v | (c == '?' ? UNSURE : 0);
		}
	}
	fclose(in);
	return 0;
}

/* -c: every block of every file against the saved versions. */
static int check_all(void)
{
	uint64_t got[WORDS], want[WORDS], wrong = 0, bytes = 0, errors = 0;

	for (int f = 0; f < nfiles; f++) {
		fds[f] = open(files[f], O_RDONLY);
		for (int b = 0; b < nblocks; b++) {
			uint32_t v = sh->version[f * nblocks + b];
			uint64_t before = wrong;

			if (fds[f] < 0 || pread(fds[f], got, BLOCK,
						(off_t)b * BLOCK) != BLOCK) {
				fprintf(stderr, "verify: %s block %d: %s\n",
					files[f], b, strerror(errno));
				errors++;
				continue;
			}
			if (check(got, f, b, v, &wrong, "check") >= 0)
				continue;
			pattern(want, f, b, v & ~UNSURE);
			for (int i = 0; i < BLOCK && wrong > before; i++)
				bytes += ((unsigned char *)got)[i] !=
					 ((unsigned char *)want)[i];
		}
	}
	printf("blocks=%d wrong=%llu wrong_bytes=%llu errors=%llu\n",
	       nfiles * nblocks, (unsigned long long)wrong,
	       (unsigned long long)bytes, (unsigned long long)errors);
	return wrong || errors;
}

static int usage(void)
{
	fprintf(stderr, "usage: verify [-t SECONDS | -s STOPFILE] [-p PROCS] "
			"[-b BLOCKS] [-S STATE] FILE...\n"
			"       verify -c STATE FILE...\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *stopfile = NULL, *state = NULL, *checkstate = NULL;
	double seconds = 0, end;
	pid_t pids[MAX_PROCS];
	int opt, hung;
	size_t size;
	FILE *peek;

	while ((opt = getopt(argc, argv, "t:s:p:b:S:c:")) != -1) {
		if (opt == 't')
			seconds = atof(optarg);
		else if (opt == 's')
			stopfile = optarg;
		else if (opt == 'p')
			nprocs = atoi(optarg);
		else if (opt == 'b')
			nblocks = atoi(optarg);
		else if (opt == 'S')
			state = optarg;
		else if (opt == 'c')
			checkstate = optarg;
		else
			return usage();
	}
	files = argv + optind;
	nfiles = argc - optind;
	if (nfiles < 1 || nfiles > MAX_FILES || nprocs < 1 ||
	    nprocs > MAX_PROCS || nblocks < nprocs || nblocks > 1 << 20 ||
	    (!checkstate && (seconds > 0) == (stopfile != NULL)))
		return usage();
	if (checkstate && (peek = fopen(checkstate, "r")) != NULL) {
		if (fscanf(peek, "verify-state %*d %d", &nblocks) != 1)
			nblocks = 0;
		fclose(peek);
	}
	size = sizeof(*sh) + sizeof(uint32_t) * nfiles * nblocks;
	sh = mmap(NULL, size, PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return 1;
	if (checkstate)
		return load(checkstate) < 0 ? 1 : check_all();
	if (fill() < 0) { /* said; the summary line all the same */
		sh->counts[0].errors = 1;
		summary(0);
		return 1;
	}
	signal(SIGTERM, on_stop);
	signal(SIGINT, on_stop);
	for (int p = 0; p < nprocs; p++) {
		pids[p] = fork();
		if (pids[p] == 0)
			run(p);
		if (pids[p] < 0) {
			perror("verify: fork");
			atomic_store(&sh->stop, 1);
			nprocs = p;
			break;
		}
	}
	fprintf(stderr, "verify: running %d processes on %d files\n", nprocs,
		nfiles);
	end = now_ms() + seconds * 1000;
	while (!parent_stop &&
	       (stopfile ? access(stopfile, F_OK) != 0 : now_ms() < end))
		usleep(20000);
	atomic_store(&sh->stop, 1);
	hung = reap(pids);
	if (state && save(state) != 0)
		fprintf(stderr, "verify: %s: %s\n", state, strerror(errno));
	return summary(hung);
}

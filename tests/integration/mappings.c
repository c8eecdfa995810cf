/* SPDX-License-Identifier: MIT */
/*
 * mappings: a program with several anonymous shared mappings, as nginx
 * has its zones, for the tests of backend = process (process.sh).
 *
 *   mappings [-t] [-p PIDFILE] [sysv:|memfd:]SIZE[:TEXT]...
 *
 * Maps each SIZE bytes MAP_ANON|MAP_SHARED (before any fork, as nginx
 * does), or as a SysV segment (removed at once: IPC_RMID) or a memfd, writes
 * TEXT at offset 4096 of it, with -t touches every page (so that the memory
 * shows in Shmem), writes its pid to PIDFILE, prints each mapping as
 * "START-END" (as /proc/PID/maps does) and then "ready", and waits until a
 * signal ends it. Exit status 0, or 1 with a message.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <unistd.h>

/* SIZE bytes of shared memory of the kind asked; NULL on failure (said). */
static unsigned char *map(const char *kind, size_t size)
{
	void *p = MAP_FAILED;

	if (strcmp(kind, "sysv") == 0) {
		int id = shmget(IPC_PRIVATE, size, IPC_CREAT | 0600);

		p = id < 0 ? MAP_FAILED : shmat(id, NULL, 0);
		if (p == (void *)-1)
			p = MAP_FAILED;
		if (id >= 0)
			shmctl(id, IPC_RMID, NULL); /* nothing left behind */
	} else if (strcmp(kind, "memfd") == 0) {
		int fd = memfd_create("mappings", MFD_CLOEXEC);

		if (fd >= 0 && ftruncate(fd, (off_t)size) == 0)
			p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
				 fd, 0);
		if (fd >= 0)
			close(fd);
	} else {
		p = mmap(NULL, size, PROT_READ | PROT_WRITE,
			 MAP_ANONYMOUS | MAP_SHARED, -1, 0);
	}
	if (p == MAP_FAILED) {
		fprintf(stderr, "mappings: %s %zu: %s\n", kind, size,
			strerror(errno));
		return NULL;
	}
	return p;
}

int main(int argc, char **argv)
{
	const char *pidfile = NULL;
	int touch = 0, opt;

	while ((opt = getopt(argc, argv, "tp:")) != -1) {
		if (opt == 't')
			touch = 1;
		else if (opt == 'p')
			pidfile = optarg;
		else
			return 1;
	}
	for (int i = optind; i < argc; i++) {
		char *arg = argv[i], *text;
		const char *kind = "anon";
		unsigned char *p;
		size_t size;

		if (strncmp(arg, "sysv:", 5) == 0 ||
		    strncmp(arg, "memfd:", 6) == 0) {
			kind = arg;
			arg = strchr(arg, ':');
			*arg++ = '\0';
		}
		text = strchr(arg, ':');
		size = strtoull(arg, NULL, 0);
		if (text)
			*text++ = '\0';
		p = map(kind, size);
		if (p == NULL)
			return 1;
		if (touch)
			memset(p, 0x5a, size);
		if (text && 4096 + strlen(text) <= size)
			memcpy(p + 4096, text, strlen(text));
		printf("%lx-%lx\n", (unsigned long)p,
		       (unsigned long)(p + size));
	}
	if (pidfile) {
		FILE *f = fopen(pidfile, "w");

		if (f == NULL || fprintf(f, "%d\n", (int)getpid()) < 0 ||
		    fclose(f) != 0) {
			fprintf(stderr, "mappings: %s: %s\n", pidfile,
				strerror(errno));
			return 1;
		}
	}
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}

/* SPDX-License-Identifier: MIT */
/*
 * mappings: a program with several anonymous shared mappings, as nginx
 * has its zones, for the tests of backend = process (process.sh).
 *
 *   mappings [-t] [-p PIDFILE] SIZE[:TEXT]...
 *
 * Maps each SIZE bytes MAP_ANON|MAP_SHARED (before any fork, as nginx
 * does), writes TEXT at offset 4096 of it, with -t touches every page (so
 * that the memory shows in Shmem), writes its pid to PIDFILE, prints each
 * mapping as "START-END" (as /proc/PID/maps does) and then "ready", and
 * waits until a signal ends it. Exit status 0, or 1 with
 * a message.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

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
		char *text = strchr(argv[i], ':');
		size_t size = strtoull(argv[i], NULL, 0);
		unsigned char *p;

		if (text)
			*text++ = '\0';
		p = mmap(NULL, size, PROT_READ | PROT_WRITE,
			 MAP_ANONYMOUS | MAP_SHARED, -1, 0);
		if (p == MAP_FAILED) {
			fprintf(stderr, "mappings: mmap(%zu): %s\n", size,
				strerror(errno));
			return 1;
		}
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

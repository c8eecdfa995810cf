/* SPDX-License-Identifier: MIT */
/*
 * peer: another program using a zone's shared object, as the tests need
 * one. It maps the object itself (shm_open, shmat, or the file) and reads
 * or stores bytes through its own mapping, never through the mount.
 *
 *   peer posix /NAME   read OFF LEN | write OFF TEXT | create SIZE
 *   peer sysv  KEY     read OFF LEN | write OFF TEXT | create SIZE
 *   peer file  PATH    read OFF LEN | write OFF TEXT
 *
 * read prints the bytes (NULs as '.'); create makes the object (for
 * attach = yes). Exit status 0, or 1 with a message.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

static int die(const char *what)
{
	fprintf(stderr, "peer: %s: %s\n", what, strerror(errno));
	return 1;
}

/* Maps the object; *size is its size. NULL on failure (said). */
static unsigned char *map(const char *kind, const char *name, size_t *size,
			  size_t create)
{
	struct stat st;
	void *p;
	int fd;

	if (strcmp(kind, "sysv") == 0) {
		key_t key = (key_t)strtoul(name, NULL, 0);
		struct shmid_ds ds;
		int id = create ? shmget(key, create,
					 IPC_CREAT | IPC_EXCL | 0600)
				: shmget(key, 0, 0);

		if (id < 0 || shmctl(id, IPC_STAT, &ds) < 0) {
			die("shmget");
			return NULL;
		}
		*size = ds.shm_segsz;
		p = shmat(id, NULL, 0);
		if (p == (void *)-1) {
			die("shmat");
			return NULL;
		}
		return p;
	}
	if (strcmp(kind, "posix") == 0)
		fd = create ? shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600)
			    : shm_open(name, O_RDWR, 0);
	else
		fd = open(name, O_RDWR);
	if (fd < 0 || (create && ftruncate(fd, create) < 0) ||
	    fstat(fd, &st) < 0) {
		die(name);
		return NULL;
	}
	*size = st.st_size;
	p = mmap(NULL, *size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		die("mmap");
		return NULL;
	}
	return p;
}

int main(int argc, char **argv)
{
	unsigned char *p;
	size_t size, off;

	if (argc == 5 && strcmp(argv[3], "create") == 0)
		return map(argv[1], argv[2], &size, strtoull(argv[4], NULL, 0))
			       ? 0
			       : 1;
	if (argc != 6)
		goto usage;
	p = map(argv[1], argv[2], &size, 0);
	if (p == NULL)
		return 1;
	off = strtoull(argv[4], NULL, 0);
	if (strcmp(argv[3], "read") == 0) {
		size_t len = strtoull(argv[5], NULL, 0);

		for (size_t i = off; i < off + len && i < size; i++)
			putchar(p[i] ? p[i] : '.');
		putchar('\n');
		return 0;
	}
	if (strcmp(argv[3], "write") == 0) {
		size_t len = strlen(argv[5]);

		if (off + len > size) {
			fprintf(stderr, "peer: past the end (%zu)\n", size);
			return 1;
		}
		memcpy(p + off, argv[5], len);
		return 0;
	}
usage:
	fprintf(stderr, "usage: peer posix|sysv|file NAME read OFF LEN | "
			"write OFF TEXT | create SIZE\n");
	return 2;
}

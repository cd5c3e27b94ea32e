/*
 * Pith's first example: boot a kernel inside this process, work in its
 * tmpfs through the system-call API, print what happened, shut it down.
 *
 *	cc hello.c $(pkg-config --cflags --libs pith)
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include <pith/pith.h>

#define CHECK(call) \
	do { \
		if ((call) < 0) { \
			fprintf(stderr, "hello: %s: %s\n", #call, strerror(errno)); \
			exit(1); \
		} \
	} while (0)

struct dirent64_rec {
	unsigned long long d_ino;
	long long d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static void
list(const char *dir)
{
	char buf[4096];
	ssize_t n;
	int fd;

	CHECK(fd = pith_sys_open(dir, O_RDONLY | O_DIRECTORY));
	printf("  %s:", dir);
	while ((n = pith_sys_getdents64(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0; off < n;) {
			struct dirent64_rec *d = (void *)(buf + off);
			printf(" %s", d->d_name);
			off += d->d_reclen;
		}
	}
	CHECK(n);
	printf("\n");
	pith_sys_close(fd);
}

int
main(void)
{
	struct utsname u;
	struct stat st;
	char buf[64];
	int fd, p[2];
	ssize_t n;

	CHECK(pith_init(NULL));
	CHECK(pith_sys_uname(&u));
	printf("booted %s %s kernel in-process (pid %d inside)\n", u.sysname,
	    u.release, pith_sys_getpid());

	CHECK(pith_sys_mkdir("/home", 0755));
	CHECK(fd = pith_sys_open("/home/hello", O_CREAT | O_RDWR, 0644));
	CHECK(n = pith_sys_write(fd, "hello from pith\n", 16));
	printf("wrote %zd bytes to /home/hello\n", n);
	CHECK(pith_sys_fstat(fd, &st));
	printf("  mode %o, size %lld, inode %llu\n", st.st_mode & 07777,
	    (long long)st.st_size, (unsigned long long)st.st_ino);
	CHECK(n = pith_sys_pread(fd, buf, sizeof(buf) - 1, 0));
	buf[n] = '\0';
	printf("read back: %s", buf);
	CHECK(pith_sys_close(fd));

	CHECK(pith_sys_symlink("hello", "/home/link"));
	CHECK(pith_sys_rename("/home/hello", "/home/greeting"));
	CHECK(n = pith_sys_readlink("/home/link", buf, sizeof(buf)));
	printf("renamed hello to greeting; link -> %.*s now dangles: %s\n",
	    (int)n, buf, pith_sys_stat("/home/link", &st) < 0 ?
	    strerror(errno) : "no");
	list("/");
	list("/dev");
	list("/home");

	CHECK(pith_sys_pipe(p));
	CHECK(pith_sys_write(p[1], "through a pipe\n", 15));
	CHECK(n = pith_sys_read(p[0], buf, sizeof(buf)));
	printf("%.*s", (int)n, buf);
	pith_sys_close(p[0]);
	pith_sys_close(p[1]);

	pith_fini();
	printf("kernel shut down; memory held from the host: %zu bytes\n",
	    pith_mem_inuse());
	return 0;
}

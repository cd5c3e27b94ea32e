/*
 * The program tests/scripts/metal_run_cli.t runs with `pith run` and
 * `pith bake`: an ordinary static Linux program (musl-gcc -static), the
 * same on the host and in the VM.  It prints its argv and the environment
 * variables named RT_*, each as "argv[N]=[...]" with bytes outside
 * 0x20-0x7e as \xHH, then obeys the arguments that are requests:
 *	cat:PATH		print the file as "cat PATH=[...]"
 *	write:PATH:TEXT		create PATH holding TEXT and a newline
 *	mkdir:PATH		make a directory
 *	exit:N			exit with status N now
 * and exits 0, or 1 after a failed request.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

extern char **environ;

static void
quoted(const char *s, size_t n)
{
	size_t i;

	putchar('[');
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f)
			putchar(c);
		else
			printf("\\x%02x", c);
	}
	puts("]");
}

static int
do_cat(const char *path)
{
	char buf[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || (n = read(fd, buf, sizeof(buf))) < 0) {
		printf("cat %s: %s\n", path, strerror(errno));
		return 1;
	}
	close(fd);
	printf("cat %s=", path);
	quoted(buf, (size_t)n);
	return 0;
}

static int
do_write(char *spec)
{
	char *colon = strchr(spec, ':');
	FILE *f;

	if (colon == NULL)
		return 1;
	*colon = '\0';
	f = fopen(spec, "w");
	if (f == NULL || fprintf(f, "%s\n", colon + 1) < 0 || fclose(f) != 0) {
		printf("write %s: %s\n", spec, strerror(errno));
		return 1;
	}
	printf("write %s ok\n", spec);
	return 0;
}

int
main(int argc, char **argv)
{
	char **e;
	int i, rc = 0;

	for (i = 0; i < argc; i++) {
		printf("argv[%d]=", i);
		quoted(argv[i], strlen(argv[i]));
	}
	for (e = environ; *e != NULL; e++) {
		if (strncmp(*e, "RT_", 3) != 0)
			continue;
		printf("env=");
		quoted(*e, strlen(*e));
	}
	for (i = 1; i < argc; i++) {
		if (strncmp(argv[i], "cat:", 4) == 0)
			rc |= do_cat(argv[i] + 4);
		else if (strncmp(argv[i], "write:", 6) == 0)
			rc |= do_write(argv[i] + 6);
		else if (strncmp(argv[i], "mkdir:", 6) == 0)
			rc |= mkdir(argv[i] + 6, 0755) != 0;
		else if (strncmp(argv[i], "exit:", 5) == 0) {
			fflush(stdout);
			return atoi(argv[i] + 5);
		}
	}
	return rc;
}

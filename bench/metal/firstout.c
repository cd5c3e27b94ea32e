/*
 * Time a command to the first appearance of a marker in its output, for
 * bench/metal_bench.sh: QEMU start to the program's first output.
 *
 *	firstout MARKER SECONDS LOG -- COMMAND [ARGS...]
 *
 * Runs COMMAND with stdout and stderr on a pipe (stdin /dev/null), copies
 * everything to LOG, and notes the time from just before the fork to the
 * moment MARKER has been read; kills the command after SECONDS.  Prints
 * "first_ms X" (or "first_ms -") and "status S" (the command's exit
 * status, or 128+signal).
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int
main(int argc, char **argv)
{
	char buf[65536], tail[256 + 65536];
	size_t mlen, tlen = 0;
	double t0, first = -1, limit;
	int p[2], st = 0, logfd, nul;
	struct pollfd pf;
	pid_t pid;
	ssize_t n;

	if (argc < 6 || strcmp(argv[4], "--") != 0) {
		fprintf(stderr, "usage: firstout MARKER SECONDS LOG -- CMD...\n");
		return 2;
	}
	mlen = strlen(argv[1]);
	if (mlen == 0 || mlen > 256)
		return 2;
	limit = atof(argv[2]) * 1e3;
	logfd = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (logfd < 0 || pipe(p) != 0)
		return 2;
	t0 = now_ms();
	pid = fork();
	if (pid == 0) {
		nul = open("/dev/null", O_RDONLY);
		dup2(nul, 0);
		dup2(p[1], 1);
		dup2(p[1], 2);
		close(p[0]);
		execvp(argv[5], argv + 5);
		_exit(127);
	}
	close(p[1]);
	pf.fd = p[0];
	pf.events = POLLIN;
	for (;;) {
		double left = limit - (now_ms() - t0);

		if (left <= 0) {
			kill(pid, SIGKILL);
			break;
		}
		if (poll(&pf, 1, (int)left + 1) <= 0)
			continue;
		n = read(p[0], buf, sizeof(buf));
		if (n <= 0)
			break;
		if (write(logfd, buf, (size_t)n) != n)
			return 2;
		if (first < 0) {
			/* Keep the last mlen-1 bytes: a marker may straddle. */
			memcpy(tail + tlen, buf, (size_t)n);
			tlen += (size_t)n;
			if (memmem(tail, tlen, argv[1], mlen) != NULL)
				first = now_ms() - t0;
			else if (tlen >= mlen) {
				memmove(tail, tail + tlen - (mlen - 1), mlen - 1);
				tlen = mlen - 1;
			}
		}
	}
	waitpid(pid, &st, 0);
	if (first < 0)
		printf("first_ms -\n");
	else
		printf("first_ms %.1f\n", first);
	printf("status %d\n", WIFEXITED(st) ? WEXITSTATUS(st) :
	    128 + WTERMSIG(st));
	return 0;
}

/*
 * The children glibc makes, under `pith exec` (tests/scripts/shim_spawn.t
 * runs this): posix_spawn with every kind of file action, posix_spawnp
 * with attributes, system, popen both ways, vfork, clone and freopen.  Each case
 * works in the server directory D (/pith/...) given on the command line
 * and checks, through the shim, what the children left there; it prints
 * what went wrong and exits 1, or exits 0.  Run by itself (prove walks
 * the build tree) it says it is skipped.
 *
 *	spawn CASE D
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

static const char *dir;
static int failed;

#define FAIL(...) do {							\
	fprintf(stderr, "spawn: " __VA_ARGS__);				\
	fputc('\n', stderr);						\
	failed = 1;							\
} while (0)

/* D/name */
static const char *
at(const char *name)
{
	static char buf[8][4096];
	static int i;
	char *b = buf[i++ & 7];

	snprintf(b, sizeof(buf[0]), "%s/%s", dir, name);
	return b;
}

/* Whether file D/name holds exactly want. */
static void
expect(const char *name, const char *want)
{
	char got[4096];
	size_t n;
	FILE *f = fopen(at(name), "r");

	if (f == NULL) {
		FAIL("%s: %s", at(name), strerror(errno));
		return;
	}
	n = fread(got, 1, sizeof(got) - 1, f);
	got[n] = '\0';
	fclose(f);
	if (strcmp(got, want) != 0)
		FAIL("%s holds \"%s\", not \"%s\"", at(name), got, want);
}

/* Wait for pid; whether it exited with status st. */
static void
reap(pid_t pid, int st, const char *what)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		FAIL("%s: waitpid: %s", what, strerror(errno));
	else if (!WIFEXITED(status) || WEXITSTATUS(status) != st)
		FAIL("%s: status %#x, not exit %d", what, status, st);
}

static int
wopen(const char *name)
{
	int fd = open(at(name), O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		FAIL("open %s: %s", at(name), strerror(errno));
	return fd;
}

/*
 * open (stdout onto a new server file), dup2 (a server file as stdin),
 * chdir into the server, close and closefrom; a program that reads,
 * writes and lists there.  Then fchdir, and errors from the child.
 */
static void
case_actions(void)
{
	char *argv[] = { "sh", "-c", "cat; /bin/pwd; ls", NULL };
	char *argv2[] = { "sh", "-c", "/bin/pwd > pwd2", NULL };
	char *argv3[] = { "true", NULL };
	posix_spawn_file_actions_t fa;
	char want[4200];
	int in, d, r;
	pid_t pid;

	in = open(at("in"), O_RDONLY);
	if (in < 0) {
		FAIL("open in: %s", strerror(errno));
		return;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in, 0);
	posix_spawn_file_actions_addopen(&fa, 1, at("out"),
	    O_WRONLY | O_CREAT | O_TRUNC, 0644);
	posix_spawn_file_actions_addchdir_np(&fa, dir);
	posix_spawn_file_actions_addclose(&fa, in);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	r = posix_spawn(&pid, "/bin/sh", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0)
		FAIL("posix_spawn: %s", strerror(r));
	else
		reap(pid, 0, "posix_spawn with file actions");
	snprintf(want, sizeof(want), "input\n%s\nin\nout\n", dir);
	expect("out", want);
	close(in);

	d = open(dir, O_RDONLY | O_DIRECTORY);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addfchdir_np(&fa, d);
	r = posix_spawn(&pid, "/bin/sh", &fa, NULL, argv2, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(d);
	if (r != 0)
		FAIL("posix_spawn (fchdir): %s", strerror(r));
	else
		reap(pid, 0, "posix_spawn with fchdir");
	snprintf(want, sizeof(want), "%s\n", dir);
	expect("pwd2", want);

	r = posix_spawn(&pid, "/nonexistent/prog", NULL, NULL, argv3, environ);
	if (r != ENOENT)
		FAIL("posix_spawn of a missing program: %d, not ENOENT", r);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, at("nodir/x"), O_RDONLY, 0);
	r = posix_spawn(&pid, "/bin/true", &fa, NULL, argv3, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != ENOENT)
		FAIL("posix_spawn with a failing open: %d, not ENOENT", r);
	/* Both failed children were reaped. */
	if (waitpid(-1, NULL, WNOHANG) != -1 || errno != ECHILD)
		FAIL("a failed spawn left a child behind");
}

/* The child's SigBlk from /proc, and whether it leads its session. */
static void
check_attrs(pid_t pid)
{
	char path[64], line[256];
	unsigned long long blk = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL) {
		FAIL("%s: %s", path, strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "SigBlk: %llx", &blk) == 1)
			break;
	fclose(f);
	if (!(blk & (1ULL << (SIGUSR1 - 1))))
		FAIL("the child does not block SIGUSR1 (%llx)", blk);
	if (getsid(pid) != pid)
		FAIL("the child is not a session leader");
}

/* posix_spawnp by PATH with setsid and a signal mask; the child holds a
 * server descriptor it inherited and shares its offset. */
static void
case_spawnp(void)
{
	char cmd[64];
	char *argv[] = { "sh", "-c", cmd, NULL };
	char *argv2[] = { "no-such-program-here", NULL };
	posix_spawnattr_t attr;
	sigset_t mask;
	int fd, p[2], r;
	pid_t pid;

	fd = wopen("shared");
	if (fd < 0)
		return;
	write(fd, "a\n", 2);
	snprintf(cmd, sizeof(cmd), "echo b >&%d; read x", fd);
	if (pipe2(p, O_CLOEXEC) < 0)
		return;
	posix_spawnattr_init(&attr);
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	posix_spawnattr_setsigmask(&attr, &mask);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID |
	    POSIX_SPAWN_SETSIGMASK);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[0], 0);
	r = posix_spawnp(&pid, "sh", &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(p[0]);
	if (r != 0) {
		FAIL("posix_spawnp: %s", strerror(r));
		return;
	}
	check_attrs(pid);
	close(p[1]);
	reap(pid, 1, "posix_spawnp");	/* read at EOF fails */
	write(fd, "c\n", 2);
	close(fd);
	expect("shared", "a\nb\nc\n");
	r = posix_spawnp(&pid, "no-such-program-here", NULL, NULL, argv2,
	    environ);
	if (r != ENOENT)
		FAIL("posix_spawnp of a missing program: %d, not ENOENT", r);
}

static void
case_system(void)
{
	char cmd[8192];
	int fd, st;

	snprintf(cmd, sizeof(cmd),
	    "cd %s && echo sys > s1 && ls | wc -l > count", dir);
	st = system(cmd);
	if (st != 0)
		FAIL("system: status %#x", st);
	expect("s1", "sys\n");
	/* The shell has our server descriptors, offsets shared. */
	if ((fd = wopen("sshared")) < 0)
		return;
	write(fd, "a\n", 2);
	snprintf(cmd, sizeof(cmd), "echo b >&%d", fd);
	if ((st = system(cmd)) != 0)
		FAIL("system(\"%s\"): status %#x", cmd, st);
	write(fd, "c\n", 2);
	close(fd);
	expect("sshared", "a\nb\nc\n");
	st = system("exit 7");
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 7)
		FAIL("system(\"exit 7\"): status %#x", st);
	if (system(NULL) == 0)
		FAIL("system(NULL) finds no shell");
}

static void
case_popen(void)
{
	char cmd[8192], buf[256];
	FILE *f;
	int fd, st;

	snprintf(cmd, sizeof(cmd), "cat %s", at("in"));
	if ((f = popen(cmd, "r")) == NULL) {
		FAIL("popen r: %s", strerror(errno));
		return;
	}
	if (fgets(buf, sizeof(buf), f) == NULL || strcmp(buf, "input\n"))
		FAIL("popen r read the wrong thing");
	if ((st = pclose(f)) != 0)
		FAIL("pclose r: %#x", st);

	snprintf(cmd, sizeof(cmd), "cat > %s", at("pw"));
	if ((f = popen(cmd, "w")) == NULL) {
		FAIL("popen w: %s", strerror(errno));
		return;
	}
	fputs("written\n", f);
	if ((st = pclose(f)) != 0)
		FAIL("pclose w: %#x", st);
	expect("pw", "written\n");

	/* The child has our server descriptors, offsets shared. */
	if ((fd = wopen("pshared")) < 0)
		return;
	write(fd, "a\n", 2);
	snprintf(cmd, sizeof(cmd), "echo b >&%d; echo done", fd);
	if ((f = popen(cmd, "re")) == NULL) {
		FAIL("popen re: %s", strerror(errno));
		return;
	}
	if (fgets(buf, sizeof(buf), f) == NULL || strcmp(buf, "done\n"))
		FAIL("popen re read the wrong thing");
	if ((st = pclose(f)) != 0)
		FAIL("pclose re: %#x", st);
	write(fd, "c\n", 2);
	close(fd);
	expect("pshared", "a\nb\nc\n");
	if (popen("true", "x") != NULL || errno != EINVAL)
		FAIL("popen with mode \"x\" did not fail with EINVAL");
}

static void
case_vfork(void)
{
	int fd = wopen("vf");
	pid_t pid;

	if (fd < 0)
		return;
	write(fd, "a\n", 2);
	pid = vfork();
	if (pid == 0) {
		dup2(fd, 1);
		execl("/bin/echo", "echo", "vforked", (char *)NULL);
		_exit(127);
	}
	if (pid < 0) {
		FAIL("vfork: %s", strerror(errno));
		return;
	}
	reap(pid, 0, "vfork+exec");
	write(fd, "c\n", 2);
	close(fd);
	expect("vf", "a\nvforked\nc\n");
}

static int clone_fd;

/* The clone child: writes on the inherited descriptor, opens anew. */
static int
clone_fn(void *arg)
{
	int fd;

	(void)arg;
	if (write(clone_fd, "cloned\n", 7) != 7)
		return 2;
	fd = open(at("c2"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, "new\n", 4) != 4)
		return 3;
	close(fd);
	/* Our own kernel process: its umask is not the parent's. */
	umask(077);
	return 0;
}

static void
case_clone(void)
{
	size_t ssize = 256 * 1024;
	struct stat st;
	char *stack;
	pid_t pid;

	if ((clone_fd = wopen("c1")) < 0)
		return;
	stack = mmap(NULL, ssize, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (stack == MAP_FAILED)
		return;
	pid = clone(clone_fn, stack + ssize, SIGCHLD, NULL);
	if (pid < 0) {
		FAIL("clone: %s", strerror(errno));
		return;
	}
	reap(pid, 0, "clone");
	write(clone_fd, "parent\n", 7);
	close(clone_fd);
	expect("c1", "cloned\nparent\n");
	expect("c2", "new\n");
	close(wopen("c3"));
	if (stat(at("c3"), &st) < 0 || (st.st_mode & 0777) != 0644)
		FAIL("the clone child's umask reached the parent (%o)",
		    (unsigned)st.st_mode & 0777);
	munmap(stack, ssize);
}

/* A server file dup2-ed onto 1; its descriptor is consumed. */
static void
dup_onto_stdout(const char *name)
{
	int fd = open(at(name), O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || dup2(fd, 1) != 1)
		FAIL("%s onto 1: %s", at(name), strerror(errno));
	if (fd >= 0)
		close(fd);
}

/*
 * stdout follows a server file dup2-ed onto 1 (as a shell redirects a
 * builtin) and comes back with the host descriptor; freopen of stdout
 * while it follows one; freopen of stdin.  stdio writes and reads them,
 * and a child finds the file at 1 with the offset shared.
 */
static void
case_freopen(void)
{
	char buf[64];
	FILE *f;
	int save = dup(1);
	pid_t pid;

	/* After freopen of stdout, a host descriptor dup2-ed onto 1 stays
	 * open and stdout still writes (in a child, to keep this process's
	 * stdout). */
	if ((pid = fork()) == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (freopen(at("f3"), "w", stdout) == NULL)
			_exit(2);
		printf("f3\n");
		fflush(stdout);
		_exit(dup2(null, 1) == 1 && fcntl(1, F_GETFD) >= 0 &&
		    printf("to-null\n") > 0 && fflush(stdout) == 0 ? 0 : 1);
	}
	reap(pid, 0, "host descriptor onto a freopen-ed stdout");
	expect("f3", "f3\n");
	dup_onto_stdout("d1");
	printf("followed\n");
	fflush(stdout);
	if (dup2(save, 1) != 1 || fflush(stdout) != 0 || fileno(stdout) != 1)
		FAIL("stdout did not come back with the host descriptor");
	close(save);
	expect("d1", "followed\n");
	dup_onto_stdout("d2");
	printf("before-freopen\n");
	if (freopen(at("fo"), "w", stdout) == NULL) {
		FAIL("freopen stdout: %s", strerror(errno));
		return;
	}
	printf("via-freopen\n");
	fflush(stdout);
	if (system("echo child") != 0)
		FAIL("system after freopen failed");
	printf("after\n");
	fclose(stdout);
	expect("d2", "before-freopen\n");
	expect("fo", "via-freopen\nchild\nafter\n");
	if ((f = freopen(at("in"), "r", stdin)) == NULL) {
		FAIL("freopen stdin: %s", strerror(errno));
		return;
	}
	if (fgets(buf, sizeof(buf), stdin) == NULL || strcmp(buf, "input\n"))
		FAIL("stdin after freopen read the wrong thing");
	if (freopen(at("nodir/x"), "r", stdin) != NULL || errno != ENOENT)
		FAIL("freopen of a missing file did not fail with ENOENT");
}

/* Light spawns from several threads at once, all children appending
 * through one inherited server descriptor. */
#define TH_N	4
#define TH_EACH	10
static int th_fd;

static void *
th_run(void *arg)
{
	char cmd[64];
	char *argv[] = { "sh", "-c", cmd, NULL };
	int i, r;
	pid_t pid;

	(void)arg;
	snprintf(cmd, sizeof(cmd), "echo x >&%d", th_fd);
	for (i = 0; i < TH_EACH; i++) {
		r = posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, environ);
		if (r != 0)
			FAIL("posix_spawn in a thread: %s", strerror(r));
		else
			reap(pid, 0, "posix_spawn in a thread");
	}
	return NULL;
}

static void
case_threads(void)
{
	char want[TH_N * TH_EACH * 2 + 1];
	pthread_t t[TH_N];
	int i;

	if ((th_fd = wopen("threads")) < 0)
		return;
	for (i = 0; i < TH_N; i++)
		pthread_create(&t[i], NULL, th_run, NULL);
	for (i = 0; i < TH_N; i++)
		pthread_join(t[i], NULL);
	close(th_fd);
	for (i = 0; i < TH_N * TH_EACH; i++)
		memcpy(want + 2 * i, "x\n", 2);
	want[sizeof(want) - 1] = '\0';
	expect("threads", want);
}

int
main(int argc, char **argv)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} cases[] = {
		{ "actions", case_actions }, { "spawnp", case_spawnp },
		{ "system", case_system }, { "popen", case_popen },
		{ "vfork", case_vfork }, { "clone", case_clone },
		{ "freopen", case_freopen }, { "threads", case_threads },
	};
	size_t i;

	if (argc != 3) {
		printf("1..0 # SKIP run by tests/scripts/shim_spawn.t\n");
		return 0;
	}
	dir = argv[2];
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (strcmp(argv[1], cases[i].name) == 0) {
			cases[i].fn();
			return failed;
		}
	fprintf(stderr, "spawn: unknown case %s\n", argv[1]);
	return 2;
}

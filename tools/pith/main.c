/*
 * pith: work on disk images without root, through an in-process Pith
 * kernel.
 *
 * main() picks the command from the first argument and hands it the rest
 * (argv[0] is then the command's name, so each command runs getopt as a
 * program of its own would).  "--help" anywhere before "--" prints the
 * command's usage and exits 0.  Messages follow the getopt tools' form,
 * "pith: WHAT: REASON" on stderr; any failure makes the exit status 1.
 *
 * SIGINT and SIGTERM only set a flag: long commands look at it between
 * files, stop, and unmount cleanly, so an interrupted copy never leaves an
 * image inconsistent.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pith/pith.h>

#include "pith_tool.h"

const char *progname = "pith";
volatile sig_atomic_t interrupted;

struct command {
	const char *name;
	int (*fn)(int, char **);
	const char *usage;
	const char *summary;
	const char *options;	/* --help's option list, or NULL */
};

static const struct command commands[] = {
	{ "ls", cmd_ls, "ls [-l] [-a] [-R] [-d] IMG:/PATH...",
	    "list directory contents",
	    "  -l  long format: mode, links, uid, gid, size, mtime, name\n"
	    "  -a  include names starting with a dot\n"
	    "  -R  recurse into subdirectories\n"
	    "  -d  list directories themselves, not their contents\n" },
	{ "cat", cmd_cat, "cat IMG:/FILE...", "print files", NULL },
	{ "cp", cmd_cp, "cp [-r] [-p] [-a] [-L|-P] SRC... DST",
	    "copy into, out of, or between images",
	    "  -r  copy directories recursively (symlinks stay links)\n"
	    "  -p  keep mode, owner and times\n"
	    "  -a  same as -r -p -P\n"
	    "  -L  follow symbolic links in the source\n"
	    "  -P  never follow symbolic links in the source\n" },
	{ "mkdir", cmd_mkdir, "mkdir [-p] [-m MODE] IMG:/DIR...",
	    "make directories",
	    "  -p       make parents as needed; no error if it exists\n"
	    "  -m MODE  set the mode (octal or symbolic)\n" },
	{ "rm", cmd_rm, "rm [-r] [-f] IMG:/PATH...", "remove files",
	    "  -r  remove directories and their contents\n"
	    "  -f  ignore missing files\n" },
	{ "mv", cmd_mv, "mv IMG:/FROM IMG:/TO", "rename within an image",
	    NULL },
	{ "ln", cmd_ln, "ln [-s] TARGET IMG:/LINK", "make a link",
	    "  -s  make a symbolic link containing TARGET\n" },
	{ "chmod", cmd_chmod, "chmod MODE IMG:/PATH...",
	    "change modes (octal or u+x style)", NULL },
	{ "chown", cmd_chown, "chown UID[:GID] IMG:/PATH...",
	    "change owner and group (numbers)", NULL },
	{ "stat", cmd_stat, "stat IMG:/PATH...", "show file status", NULL },
	{ "df", cmd_df, "df IMG[:/]...", "show space and inodes", NULL },
	{ "touch", cmd_touch, "touch IMG:/FILE...",
	    "create files or set their times to now", NULL },
	{ "mount", cmd_mount,
	    "mount [-r] [-f] [-d] [-o OPTS] IMG[@N] MOUNTPOINT",
	    "mount an image through FUSE",
	    "  -r       read-only\n"
	    "  -f       stay in the foreground\n"
	    "  -d       FUSE debug output (implies -f)\n"
	    "  -o OPTS  FUSE mount options (allow_other, ...)\n"
	    "Unmount with fusermount3 -u MOUNTPOINT.\n" },
	{ "exec", cmd_exec,
	    "exec [--server SOCKET] [--prefix DIR | --root] -- PROGRAM [ARGS...]",
	    "run a program with a pithd server's files under DIR",
	    "  -s, --server SOCKET  the server (default: $PITH_SERVER)\n"
	    "  -p, --prefix DIR     where its files appear (default: "
	    "$PITH_PREFIX or /pith)\n"
	    "  -r, --root           the server's tree as the root, but for "
	    "the host's\n"
	    "                       programs and libraries (docs/shim.md)\n"
	    "Static programs run through pithload (syscall user dispatch).\n" },
	{ "ps", cmd_ps, "ps [--server SOCKET]",
	    "list a pithd server's client processes",
	    "  -s, --server SOCKET  the server (default: $PITH_SERVER)\n" },
	{ "kill", cmd_kill, "kill [--server SOCKET] KPID",
	    "end one client's process in a pithd server",
	    "  -s, --server SOCKET  the server (default: $PITH_SERVER)\n" },
	{ "stop", cmd_stop, "stop [--server SOCKET]",
	    "stop a pithd server cleanly (sync, unmount)",
	    "  -s, --server SOCKET  the server (default: $PITH_SERVER)\n" },
	{ "run", cmd_run,
	    "run [OPTIONS] [--] PROGRAM [ARGS...]",
	    "run a static x86-64 Linux program on the bare-metal kernel under "
	    "QEMU",
	    "  --kernel FILE   the kernel image (default: $PITH_KERNEL, then "
	    "pith-kernel.elf\n"
	    "                  of the build tree or the install)\n"
	    "  --dir DIR       copy DIR's tree into the VM's root first\n"
	    "  --disk IMG      attach IMG as the virtio disk vda\n"
	    "  --mount SRC:/DIR:TYPE[:ro]  mount at boot (e.g. "
	    "vda:/mnt:ext2)\n"
	    "  --env NAME=VALUE  set an environment variable (repeatable)\n"
	    "  --mem SIZE      the VM's memory (default 64M)\n"
	    "  --timeout S     stop QEMU after S seconds (exit status 124)\n"
	    "  --kvm, --no-kvm  require or refuse KVM (default: $PITH_KVM, "
	    "else KVM when\n                  /dev/kvm runs a test guest)\n"
	    "  --gdb           wait for gdb on localhost:1234\n"
	    "Exits with the program's status, 128+N if a fault killed it, 125 "
	    "if pith,\nQEMU or the kernel failed.  See docs/run.md.\n" },
	{ "bake", cmd_bake,
	    "bake [--kernel FILE] [--dir DIR] [--env NAME=VALUE] "
	    "[--mount SPEC] [--iso]\n           -o OUT PROGRAM [ARGS...]",
	    "make a bootable image that runs PROGRAM with ARGS",
	    "  -o, --output OUT  the image: a multiboot ELF for "
	    "qemu-system-x86_64 -kernel,\n"
	    "                  or with --iso a GRUB ISO (-cdrom, USB, "
	    "hypervisors)\n"
	    "  --kernel, --dir, --env, --mount: as for pith run.\n" },
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

void
warnx_(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

const char *
loc_name(const struct loc *l, char *buf, size_t len)
{
	if (l->img == NULL)
		snprintf(buf, len, "%s", l->path);
	else
		snprintf(buf, len, "%s:%s", l->img,
		    l->path[l->skip] ? l->path + l->skip : "/");
	return buf;
}

void
warn_loc(const struct loc *l, int err)
{
	char name[PATH_MAX + 256];

	warnx_("%s: %s", loc_name(l, name, sizeof(name)), strerror(err));
}

static void
print_usage(FILE *f, const struct command *c)
{
	fprintf(f, "usage: %s %s\n", progname, c->usage);
	if (f == stdout) {
		fprintf(f, "%s.\n", c->summary);
		if (c->options != NULL)
			fprintf(f, "options:\n%s", c->options);
	}
}

void
command_help(const char *cmd)
{
	size_t i;

	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, cmd) == 0)
			print_usage(stdout, &commands[i]);
}

int
usage_error(const char *cmd, const char *msg)
{
	size_t i;

	if (msg != NULL)
		warnx_("%s: %s", cmd, msg);
	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, cmd) == 0)
			print_usage(stderr, &commands[i]);
	return 1;
}

static void
main_help(FILE *f)
{
	size_t i;

	fprintf(f,
	    "usage: %s COMMAND [ARGS...]\n"
	    "Work on disk images (ext2, ext4 read-only) without root, with "
	    "Pith's own driver.\n"
	    "A path IMAGE:/PATH or IMAGE@N:/PATH (partition N) is inside an "
	    "image; any other path is on the host.\n\n"
	    "commands:\n", progname);
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-7s %s\n", commands[i].name,
		    commands[i].summary);
	fprintf(f, "\n%s COMMAND --help shows a command's options; "
	    "%s --version its version.\n", progname, progname);
}

bool
want_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return false;
		if (strcmp(argv[i], "--help") == 0)
			return true;
	}
	return false;
}

static void
on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void
signals_init(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int
main(int argc, char **argv)
{
	const struct command *c = NULL;
	size_t i;
	int rc;

	if (argc < 2) {
		main_help(stderr);
		return 1;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		main_help(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0 ||
	    strcmp(argv[1], "-V") == 0) {
		printf("pith %s\n", PITH_VERSION_STRING);
		return 0;
	}
	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, argv[1]) == 0)
			c = &commands[i];
	if (c == NULL) {
		warnx_("unknown command '%s'; try '%s --help'", argv[1],
		    progname);
		return 1;
	}
	/*
	 * run and bake see --help themselves: after PROGRAM, every word is
	 * the program's own.
	 */
	if (c->fn != cmd_run && c->fn != cmd_bake &&
	    want_help(argc - 1, argv + 1)) {
		print_usage(stdout, c);
		return 0;
	}
	signals_init();
	rc = c->fn(argc - 1, argv + 1);
	if (image_finish() != 0)
		rc = 1;
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (errno != EPIPE)
			warnx_("stdout: %s", strerror(errno));
		rc = 1;
	}
	return rc != 0;
}

/*
 * A minimal stand-in for metal-run's platform/metal/bootargs.c, so that
 * pith-kernel.elf runs a program before that lands: the program is
 * multiboot module 0, the kernel command line is
 *	[env=NAME=VALUE ...] -- argv0 argv1 ...
 * with \xHH escapes inside words (docs: the bare-metal run contract), and
 * the run ends with one status record on COM2 ("exit N", "signal N",
 * "panic") and power-off.  No cpio, no mounts, no baked sections: those
 * are bootargs.c's.  THE LEAD DROPS THIS FILE when bootargs.c is merged.
 *
 * Strings are kept in static storage (words point into a copy of the
 * command line), so nothing here is freed.
 */
#include "metal.h"

#define COM2 0x2f8
#define DEBUG_EXIT_PORT 0xf4
#define MAXWORDS 256

static char ba_line[4096];
static char *ba_argv[MAXWORDS + 2];
static char *ba_envp[MAXWORDS + 1];
static char ba_prog[256];

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode \xHH in place; -1 on a bad escape. */
static int
unescape(char *w)
{
	char *o = w;

	while (*w != '\0') {
		if (*w == '\\') {
			int h, l;

			if (w[1] != 'x' || (h = hexval(w[2])) < 0 ||
			    (l = hexval(w[3])) < 0)
				return -1;
			*o++ = (char)(h << 4 | l);
			w += 4;
		} else
			*o++ = *w++;
	}
	*o = '\0';
	return 0;
}

static int
prefix(const char *s, const char *p)
{
	while (*p != '\0')
		if (*s++ != *p++)
			return 0;
	return 1;
}

int
metal_bootargs_setup(struct metal_bootargs *ba)
{
	const struct metal_module *mods;
	const char *c = metal_cmdline();
	char *w, *words[MAXWORDS];
	int n = 0, i, argc = 0, envc = 0, dashes = -1, first;

	for (i = 0; c[i] != '\0' && i < (int)sizeof(ba_line) - 1; i++)
		ba_line[i] = c[i];
	ba_line[i] = '\0';
	for (w = ba_line; *w != '\0' && n < MAXWORDS;) {
		while (*w == ' ')
			*w++ = '\0';
		if (*w == '\0')
			break;
		words[n++] = w;
		while (*w != '\0' && *w != ' ')
			w++;
	}
	/* Multiboot loaders (QEMU, GRUB) put the kernel's file name first. */
	first = n > 0 ? 1 : 0;
	for (i = first; i < n; i++)
		if (words[i][0] == '-' && words[i][1] == '-' && words[i][2] == '\0') {
			dashes = i;
			break;
		}
	for (i = first; i < (dashes < 0 ? n : dashes); i++) {
		if (unescape(words[i]) != 0) {
			metal_puts("pith metal: bad escape in boot option\n");
			return -1;
		}
		if (prefix(words[i], "env=") && words[i][4] != '\0')
			ba_envp[envc++] = words[i] + 4;
		else {
			metal_puts("pith metal: unknown boot option: ");
			metal_puts(words[i]);
			metal_puts("\n");
			return -1;
		}
	}
	if (metal_modules(&mods) < 1)
		return 0;               /* no program: the caller says so */
	for (i = 0; mods[0].mm_string[i] != '\0' && mods[0].mm_string[i] != ' ' &&
	    i < (int)sizeof(ba_prog) - 1; i++)
		ba_prog[i] = mods[0].mm_string[i];
	ba_prog[i] = '\0';
	if (dashes >= 0) {
		for (i = dashes + 1; i < n && argc < MAXWORDS; i++) {
			if (unescape(words[i]) != 0) {
				metal_puts("pith metal: bad escape in argv\n");
				return -1;
			}
			ba_argv[argc++] = words[i];
		}
	}
	if (argc == 0)
		ba_argv[argc++] = ba_prog;
	ba_argv[argc] = NULL;
	ba_envp[envc] = NULL;
	ba->ba_elf = metal_kva(mods[0].mm_start);
	ba->ba_elflen = mods[0].mm_end - mods[0].mm_start;
	ba->ba_argv = ba_argv;
	ba->ba_envp = ba_envp;
	return 0;
}

static void
com2_puts(const char *s)
{
	unsigned spins;

	for (; *s != '\0'; s++) {
		spins = 0;
		while ((inb(COM2 + 5) & 0x20) == 0 && spins++ < 1000000)
			cpu_relax();
		outb(COM2, (u8)*s);
	}
}

void
metal_exit_status(int kind, int n)
{
	char num[12];
	int i = sizeof(num) - 1;
	unsigned u = (unsigned)n;

	outb(COM2 + 1, 0x00);
	outb(COM2 + 3, 0x80);
	outb(COM2 + 0, 0x01);
	outb(COM2 + 1, 0x00);
	outb(COM2 + 3, 0x03);
	outb(COM2 + 2, 0xc7);
	num[i] = '\0';
	do {
		num[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (kind == METAL_STATUS_EXIT) {
		com2_puts("exit ");
		com2_puts(&num[i]);
	} else if (kind == METAL_STATUS_SIGNAL) {
		com2_puts("signal ");
		com2_puts(&num[i]);
	} else
		com2_puts("panic");
	com2_puts("\n");
	metal_exit(kind == METAL_STATUS_PANIC ? METAL_EXIT_PANIC :
	    kind == METAL_STATUS_EXIT && n == 0 ? METAL_EXIT_PASS :
	    METAL_EXIT_FAIL);
}

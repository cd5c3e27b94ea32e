/*
 * What the bare-metal image is told to run, and how it reports the end.
 *
 * The program and its files reach the image in one of two ways (the
 * contract is docs/run.md):
 *  - as multiboot modules (QEMU -initrd prog[,cpio]): module 0 the
 *    program, module 1, if any, a newc cpio archive for the root; the
 *    kernel command line (QEMU -append) carries argv, env= and mount=;
 *  - baked into the image by `pith bake`: a struct boot_bake header and
 *    its blobs at the first page after the image's end, where the
 *    multiboot loader puts them with the image itself.
 * A non-empty multiboot command line overrides the baked one.
 *
 * The loader's modules and command line are metal.c's (metal_modules,
 * metal_cmdline: copied or recorded there, and kept out of the heap).  Two
 * steps here.  metal_bootargs_early runs before the heap exists: it finds
 * a baked blob and tells the boot path how far past the image it reaches,
 * so that the heap leaves it alone.  metal_bootargs_setup runs after
 * pith_kinit: it parses the command line (bootparse.c), unpacks the
 * archive into the tmpfs root, mounts, and hands back the program, argv
 * and envp.  The modules and the blob stay where they are, reserved, for
 * the life of the machine.
 *
 * metal_exit_status ends every run: one status line on COM2 (0x2f8),
 * read by `pith run`, then power-off.  Boot thread only; no locks.
 */
#include "metal.h"
#include "bootparse.h"

#define COM2 0x2f8
#define BOOT_SYS_sync 162

long pith_syscall6(long nr, long a1, long a2, long a3, long a4, long a5,
    long a6);

/* Everything the loader hands over must lie in the direct map. */
#define BOOT_CEILING	0x40000000ul

extern char _end[];

/*
 * Set once by metal_bootargs_early; read by metal_bootargs_setup.  A
 * physical address: the early step runs on the boot page tables, which
 * map the first GiB one to one; the later one reads through the direct
 * map (metal_kva).
 */
static u64 boot_baked;			/* the struct boot_bake, or 0 */
/* The command line, decoded in place by boot_parse; argv and envp point in. */
static char boot_cmdbuf[4096];

static int boot_kernel_up;		/* metal_bootargs_setup ran */

static struct boot_cmdline boot_cl;
static char boot_err[BOOT_ERRLEN];
static char boot_noname[] = "app";

static uintptr
page_up(uintptr v)
{
	return (v + 4095) & ~4095ul;
}

static int
bake_valid(const struct boot_bake *bb)
{
	const char *m = BOOT_BAKE_MAGIC;
	unsigned long long t = bb->bb_total;
	int i;

	for (i = 0; i < 8; i++)
		if (bb->bb_magic[i] != m[i])
			return 0;
	if (bb->bb_version != BOOT_BAKE_VERSION ||
	    bb->bb_hdrlen != sizeof(*bb) || bb->bb_sum != boot_bake_sum(bb))
		return 0;
	/* Every blob inside the total, the total inside the identity map. */
	return t <= BOOT_CEILING - (uintptr)bb &&
	    bb->bb_app_off <= t && bb->bb_app_len <= t - bb->bb_app_off &&
	    bb->bb_cpio_off <= t && bb->bb_cpio_len <= t - bb->bb_cpio_off &&
	    bb->bb_cmd_off <= t && bb->bb_cmd_len < t - bb->bb_cmd_off &&
	    ((const char *)bb)[bb->bb_cmd_off + bb->bb_cmd_len] == '\0';
}

u64
metal_bootargs_early(void)
{
	const struct metal_module *mods;
	struct boot_bake *bb;

	bb = (struct boot_bake *)page_up((uintptr)_end);
	if (metal_modules(&mods) > 0 || !bake_valid(bb))
		return 0;
	boot_baked = (uintptr)bb;
	return (uintptr)bb + bb->bb_total;
}

void
metal_bootargs_kernel_down(void)
{
	boot_kernel_up = 0;
}

/* --- the status record on COM2 ------------------------------------------- */

static void
com2_putc(char c)
{
	unsigned spins = 0;

	while ((inb(COM2 + 5) & 0x20) == 0 && spins++ < 1000000)
		cpu_relax();
	outb(COM2, (u8)c);
}

static void
com2_puts(const char *s)
{
	while (*s != '\0')
		com2_putc(*s++);
}

void
metal_exit_status(int kind, int n)
{
	char num[4];
	int i = 3;
	u8 code;

	/*
	 * The program is over: what it wrote to disks must be there when
	 * the host looks (e2fsck after pith run --disk).  Not after a panic.
	 */
	if (boot_kernel_up && kind != METAL_STATUS_PANIC)
		(void)pith_syscall6(BOOT_SYS_sync, 0, 0, 0, 0, 0, 0);
	outb(COM2 + 1, 0x00);		/* as COM1: polled, 115200 8N1 */
	outb(COM2 + 3, 0x80);
	outb(COM2 + 0, 0x01);
	outb(COM2 + 1, 0x00);
	outb(COM2 + 3, 0x03);
	outb(COM2 + 2, 0xc7);
	outb(COM2 + 4, 0x03);
	n &= 0xff;
	num[i] = '\0';
	do {
		num[--i] = (char)('0' + n % 10);
		n /= 10;
	} while (n != 0);
	switch (kind) {
	case METAL_STATUS_EXIT:
		com2_puts("exit ");
		com2_puts(&num[i]);
		code = num[i] == '0' ? METAL_EXIT_PASS : METAL_EXIT_FAIL;
		break;
	case METAL_STATUS_SIGNAL:
		com2_puts("signal ");
		com2_puts(&num[i]);
		code = METAL_EXIT_FAIL;
		break;
	case METAL_STATUS_ERROR:
		com2_puts("error");
		code = METAL_EXIT_FAIL;
		break;
	default:
		com2_puts("panic");
		code = METAL_EXIT_PANIC;
		break;
	}
	com2_puts("\n");
	/* Drained: QEMU must see the line before the machine goes away. */
	for (i = 0; i < 1000000 && (inb(COM2 + 5) & 0x40) == 0; i++)
		cpu_relax();
	metal_exit(code);
}

/* --- after pith_kinit ----------------------------------------------------- */

static void __attribute__((noreturn))
boot_fail(const char *what)
{
	metal_puts("pith: boot: ");
	metal_puts(what);
	if (boot_err[0] != '\0') {
		metal_puts(": ");
		metal_puts(boot_err);
	}
	metal_puts("\n");
	metal_exit_status(METAL_STATUS_ERROR, 0);
}

/* Is the command line more than the loader's own name for the image? */
static int
cmdline_given(const struct boot_cmdline *bc)
{
	return bc->bc_dashdash || bc->bc_envc > 0 || bc->bc_nmounts > 0 ||
	    bc->bc_selftest != NULL;
}

int
metal_bootargs_setup(struct metal_bootargs *ba)
{
	struct boot_cmdline *bc = &boot_cl;
	struct boot_bake *bb = NULL;
	const struct metal_module *mods;
	const char *cmd = metal_cmdline();
	char *modname = NULL, *cpio = NULL;
	hyp_size_t cpiolen = 0;
	int error, nmods = metal_modules(&mods);
	unsigned i;

	boot_err[0] = '\0';
	boot_kernel_up = 1;
	if (boot_baked != 0)
		bb = metal_kva(boot_baked);
	if (cmd[0] != '\0') {
		/* A copy to decode: metal.c's stays as the loader gave it. */
		for (i = 0; cmd[i] != '\0' && i < sizeof(boot_cmdbuf) - 1; i++)
			boot_cmdbuf[i] = cmd[i];
		boot_cmdbuf[i] = '\0';
		error = boot_parse(boot_cmdbuf, bc, boot_err, sizeof(boot_err));
		if (error)
			boot_fail("command line");
	}
	if (bb != NULL && (cmd[0] == '\0' || !cmdline_given(bc))) {
		error = boot_parse((char *)bb + bb->bb_cmd_off, bc, boot_err,
		    sizeof(boot_err));
		if (error)
			boot_fail("baked command line");
	}
	if (nmods > 0) {
		ba->ba_elf = metal_kva(mods[0].mm_start);
		ba->ba_elflen = mods[0].mm_end - mods[0].mm_start;
		/* Loader memory kept from the heap: split in place. */
		modname = (char *)(uintptr)mods[0].mm_string;
		if (nmods > 1) {
			cpio = metal_kva(mods[1].mm_start);
			cpiolen = mods[1].mm_end - mods[1].mm_start;
		}
	} else if (bb != NULL) {
		ba->ba_elf = (char *)bb + bb->bb_app_off;
		ba->ba_elflen = bb->bb_app_len;
		if (bb->bb_cpio_len > 0) {
			cpio = (char *)bb + bb->bb_cpio_off;
			cpiolen = bb->bb_cpio_len;
		}
	} else {
		boot_fail("no program: give it as multiboot module 0 (QEMU "
		    "-initrd PROG) or bake it into the image (pith bake)");
	}
	if (!bc->bc_dashdash) {
		/* No argv given: the module's own string, or "app". */
		if (modname != NULL && *modname != '\0')
			(void)boot_split_plain(modname, bc, boot_err,
			    sizeof(boot_err));
		if (bc->bc_argc == 0) {
			bc->bc_argv[0] = boot_noname;
			bc->bc_argv[1] = NULL;
			bc->bc_argc = 1;
		}
	} else if (bc->bc_argc == 0) {
		boot_fail("nothing after --: the program needs an argv[0]");
	}
	if (cpio != NULL) {
		error = boot_cpio_unpack(cpio, cpiolen, boot_err,
		    sizeof(boot_err));
		if (error)
			boot_fail("root file archive");
	}
	error = boot_mount_all(bc, boot_err, sizeof(boot_err));
	if (error)
		boot_fail("mount");
	ba->ba_argv = bc->bc_argv;
	ba->ba_envp = bc->bc_envp;
	return 0;
}

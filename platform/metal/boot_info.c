/*
 * What the boot loader tells us about the machine: the memory map, and
 * the translation of a PVH boot's start_info into multiboot information.
 *
 * Multiboot (v1) describes memory twice: mem_lower/mem_upper (KiB below
 * 1 MiB and contiguous above it) and, when flag bit 6 is set, a list of
 * (base, length, type) ranges from the firmware's E820 map.  The heap is
 * one contiguous range starting after the image, so what we need is the
 * end of the usable RAM range that holds the image; the map is preferred,
 * mem_upper is the fallback.  RAM above the first hole (or above the
 * identity map's ceiling) is left alone for now.
 *
 * A PVH loader gives struct hvm_start_info instead: command line,
 * modules and (version 1) an E820-style memory map.  pvh_to_multiboot()
 * copies all of it into a multiboot information block of our own (in
 * bss), so that every later reader -- metal.c, the boot arguments --
 * knows only multiboot.  Addresses above 4 GiB cannot be expressed there
 * and are dropped (QEMU and Firecracker load everything low).  QEMU puts
 * start_info and its tables in page 0, which the page tables leave
 * unmapped, so every read goes through pvh_copy() and pvh.S's copy of
 * that page, and the strings are copied into buffers of our own.
 *
 * Runs once, on the boot CPU, before anything else: no locks.  The
 * structures the loader gave stay where it put them and are only read.
 */
#include "metal.h"

#define MB_BOOT_MAGIC 0x2BADB002
#define MB_INFO_MEM 0x1
#define MB_INFO_CMDLINE 0x4
#define MB_INFO_MODS 0x8
#define MB_INFO_MMAP 0x40
#define E820_RAM 1
#define IMAGE_BASE 0x100000ul
#define PVH_MAXMODS 16
#define PVH_MAXMAP 64
#define PAGE0 4096ul

/* The multiboot information fields read here, by byte offset. */
#define MBI_FLAGS 0
#define MBI_MEM_LOWER 4
#define MBI_MEM_UPPER 8
#define MBI_CMDLINE 16
#define MBI_MODS_COUNT 20
#define MBI_MODS_ADDR 24
#define MBI_MMAP_LENGTH 44
#define MBI_MMAP_ADDR 48
#define MBI_SIZE 120

struct hvm_start_info {
	u32 si_magic;
	u32 si_version;
	u32 si_flags;
	u32 si_nr_modules;
	u64 si_modlist_paddr;
	u64 si_cmdline_paddr;
	u64 si_rsdp_paddr;
	u64 si_memmap_paddr;            /* version 1 */
	u32 si_memmap_entries;
	u32 si_reserved;
};

struct hvm_modlist_entry {
	u64 me_paddr;
	u64 me_size;
	u64 me_cmdline_paddr;
	u64 me_reserved;
};

struct hvm_memmap_entry {
	u64 mm_addr;
	u64 mm_size;
	u32 mm_type;
	u32 mm_reserved;
};

/* A multiboot memory map entry: size excludes the size field itself. */
struct mb_mmap {
	u32 mm_size;
	u64 mm_base;
	u64 mm_len;
	u32 mm_type;
} __attribute__((packed));

struct mb_module {
	u32 mo_start;
	u32 mo_end;
	u32 mo_string;
	u32 mo_reserved;
};

static u32 bi_mbi[MBI_SIZE / 4];
static struct mb_mmap bi_mmap[PVH_MAXMAP];
static struct mb_module bi_mods[PVH_MAXMODS];
static char bi_cmdline[4096];
static char bi_modstr[PVH_MAXMODS][256];

/* pvh.S: a copy of physical page 0, taken before paging was on. */
extern const u8 pvh_page0[];

static u32
mbi_get(u32 info, unsigned off)
{
	return *(const u32 *)(uintptr)(info + off);
}

static void
mbi_set(unsigned off, u32 v)
{
	bi_mbi[off / 4] = v;
}

/* Does a physical address fit the 32 bits multiboot has for it? */
static int
low(u64 pa)
{
	return pa != 0 && pa < 0x100000000ul;
}

/*
 * Copy len bytes at physical address pa: from pvh_page0 (pvh.S's copy)
 * for the part in page 0, which is not mapped, directly for the rest.
 */
static void
pvh_copy(void *dst, u64 pa, hyp_size_t len)
{
	u8 *d = dst;

	for (; len > 0; len--, pa++)
		*d++ = pa < PAGE0 ? pvh_page0[pa] : *(const u8 *)(uintptr)pa;
}

/* A loader's string into buf (NUL-terminated, cut to size); its address. */
static u32
pvh_string(char *buf, hyp_size_t size, u64 pa)
{
	hyp_size_t i;

	for (i = 0; i + 1 < size; i++) {
		pvh_copy(&buf[i], pa + i, 1);
		if (buf[i] == '\0')
			break;
	}
	buf[i] = '\0';
	return (u32)(uintptr)buf;
}

u32
pvh_to_multiboot(u32 start_info)
{
	struct hvm_start_info si;
	struct hvm_memmap_entry me;
	struct hvm_modlist_entry mod;
	u32 flags = 0, i, n;
	u64 end;

	metal_puts("pith metal: entered through PVH\n");
	pvh_copy(&si, start_info, sizeof(si));
	if (si.si_magic != PVH_MAGIC)
		metal_fatal("PVH boot without the hvm_start_info magic");
	if (low(si.si_cmdline_paddr)) {
		mbi_set(MBI_CMDLINE, pvh_string(bi_cmdline, sizeof(bi_cmdline),
		    si.si_cmdline_paddr));
		flags |= MB_INFO_CMDLINE;
	}
	n = si.si_nr_modules < PVH_MAXMODS ? si.si_nr_modules : PVH_MAXMODS;
	if (n > 0 && low(si.si_modlist_paddr)) {
		for (i = 0; i < n; i++) {
			pvh_copy(&mod, si.si_modlist_paddr + i * sizeof(mod),
			    sizeof(mod));
			if (!low(mod.me_paddr + mod.me_size))
				break;
			bi_mods[i].mo_start = (u32)mod.me_paddr;
			bi_mods[i].mo_end = (u32)(mod.me_paddr + mod.me_size);
			bi_mods[i].mo_string = low(mod.me_cmdline_paddr) ?
			    pvh_string(bi_modstr[i], sizeof(bi_modstr[i]),
			    mod.me_cmdline_paddr) : 0;
			bi_mods[i].mo_reserved = 0;
		}
		mbi_set(MBI_MODS_COUNT, i);
		mbi_set(MBI_MODS_ADDR, (u32)(uintptr)bi_mods);
		flags |= MB_INFO_MODS;
	}
	n = si.si_memmap_entries < PVH_MAXMAP ? si.si_memmap_entries :
	    PVH_MAXMAP;
	if (si.si_version >= 1 && n > 0 && low(si.si_memmap_paddr)) {
		for (i = 0; i < n; i++) {
			pvh_copy(&me, si.si_memmap_paddr + i * sizeof(me),
			    sizeof(me));
			bi_mmap[i].mm_size = sizeof(bi_mmap[i]) - 4;
			bi_mmap[i].mm_base = me.mm_addr;
			bi_mmap[i].mm_len = me.mm_size;
			bi_mmap[i].mm_type = me.mm_type;
			/* mem_lower and mem_upper, as multiboot has them. */
			end = me.mm_addr + me.mm_size;
			if (me.mm_type != E820_RAM)
				continue;
			if (me.mm_addr == 0)
				mbi_set(MBI_MEM_LOWER, (u32)((end < 0xa0000 ?
				    end : 0xa0000) >> 10));
			if (me.mm_addr <= IMAGE_BASE && end > IMAGE_BASE)
				mbi_set(MBI_MEM_UPPER, (u32)(((end < 1ul << 32 ?
				    end : 1ul << 32) - IMAGE_BASE) >> 10));
		}
		mbi_set(MBI_MMAP_LENGTH, n * (u32)sizeof(bi_mmap[0]));
		mbi_set(MBI_MMAP_ADDR, (u32)(uintptr)bi_mmap);
		flags |= MB_INFO_MMAP | MB_INFO_MEM;
	}
	mbi_set(MBI_FLAGS, flags);
	return (u32)(uintptr)bi_mbi;
}

/*
 * The top of the heap: the end of the RAM range holding the image (by
 * the memory map if there is one, else mem_upper), capped at ceiling.
 * 0 if the loader said nothing usable.
 */
uintptr
metal_mem_top(u32 info, uintptr ceiling)
{
	u32 flags = mbi_get(info, MBI_FLAGS), len, off;
	const struct mb_mmap *e;
	u64 top = 0;

	if (flags & MB_INFO_MMAP) {
		len = mbi_get(info, MBI_MMAP_LENGTH);
		for (off = 0; off + sizeof(*e) <= len; off += e->mm_size + 4) {
			e = (const struct mb_mmap *)(uintptr)
			    (mbi_get(info, MBI_MMAP_ADDR) + off);
			if (e->mm_size < sizeof(*e) - 4)
				break;  /* malformed: stop rather than loop */
			if (e->mm_type == E820_RAM &&
			    e->mm_base <= IMAGE_BASE &&
			    e->mm_base + e->mm_len > IMAGE_BASE)
				top = e->mm_base + e->mm_len;
		}
	}
	if (top == 0 && (flags & MB_INFO_MEM))
		top = IMAGE_BASE + (u64)mbi_get(info, MBI_MEM_UPPER) * 1024;
	if (top > ceiling)
		top = ceiling;
	return (uintptr)top;
}

/*
 * Symbol names for a panic's backtrace on the hosted platform.
 *
 * The kernel's names are hidden (they never reach the dynamic symbol
 * table, which is the point of the anykernel's namespace), so glibc's
 * backtrace_symbols cannot name kernel frames.  This reads the static
 * symbol table of the file each frame lives in (the program, or
 * libpith.so, found with dladdr) and prints "function+offset" per frame.
 * It runs once, on the way to abort(), so it favours simplicity: no
 * caching, and it gives up quietly on anything unexpected.
 */
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hosted.h"

/* Nearest function symbol at or below addr (an address in the file). */
static const char *
sym_lookup(const unsigned char *img, size_t size, unsigned long addr,
    unsigned long *off)
{
	const Elf64_Ehdr *eh = (const void *)img;
	const Elf64_Shdr *sh;
	const char *best = NULL;
	unsigned long bestaddr = 0;

	if (size < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh->e_shoff + (size_t)eh->e_shnum * sizeof(*sh) > size)
		return NULL;
	sh = (const void *)(img + eh->e_shoff);
	for (int i = 0; i < eh->e_shnum; i++) {
		const Elf64_Sym *sym;
		const char *strtab;
		size_t nsym;

		if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_link >= eh->e_shnum)
			continue;
		if (sh[i].sh_offset + sh[i].sh_size > size ||
		    sh[sh[i].sh_link].sh_offset + sh[sh[i].sh_link].sh_size > size)
			return NULL;
		sym = (const void *)(img + sh[i].sh_offset);
		nsym = sh[i].sh_size / sizeof(*sym);
		strtab = (const char *)img + sh[sh[i].sh_link].sh_offset;
		for (size_t j = 0; j < nsym; j++) {
			if (ELF64_ST_TYPE(sym[j].st_info) != STT_FUNC ||
			    sym[j].st_value > addr || sym[j].st_value < bestaddr ||
			    sym[j].st_name >= sh[sh[i].sh_link].sh_size)
				continue;
			best = strtab + sym[j].st_name;
			bestaddr = sym[j].st_value;
		}
	}
	*off = addr - bestaddr;
	return best;
}

void hyp_hosted_symbolize(void *const *frames, int n);

void
hyp_hosted_symbolize(void *const *frames, int n)
{
	for (int i = 0; i < n; i++) {
		Dl_info info;
		const char *name = NULL;
		unsigned long off = 0, addr;
		struct stat st;
		void *img = MAP_FAILED;
		int fd = -1;

		if (dladdr(frames[i], &info) == 0 || info.dli_fname == NULL) {
			dprintf(STDERR_FILENO, "  #%d %p\n", i, frames[i]);
			continue;
		}
		/* The program itself is a PIE: addresses are relative to its base. */
		addr = (unsigned long)frames[i] - (unsigned long)info.dli_fbase;
		fd = open(info.dli_fname[0] ? info.dli_fname : "/proc/self/exe",
		    O_RDONLY);
		if (fd < 0)
			fd = open("/proc/self/exe", O_RDONLY);
		if (fd >= 0 && fstat(fd, &st) == 0)
			img = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE,
			    fd, 0);
		if (img != MAP_FAILED) {
			name = sym_lookup(img, (size_t)st.st_size, addr, &off);
			/* A non-PIE program's symbols hold absolute addresses. */
			if (name == NULL)
				name = sym_lookup(img, (size_t)st.st_size,
				    (unsigned long)frames[i], &off);
		}
		if (name != NULL)
			dprintf(STDERR_FILENO, "  #%d %s+%#lx (%s)\n", i, name, off,
			    info.dli_fname);
		else
			dprintf(STDERR_FILENO, "  #%d %p (%s)\n", i, frames[i],
			    info.dli_fname);
		if (img != MAP_FAILED)
			munmap(img, (size_t)st.st_size);
		if (fd >= 0)
			close(fd);
	}
}

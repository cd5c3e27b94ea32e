/*
 * libFuzzer target for the bare-metal boot arguments
 * (platform/metal/bootparse.c): the kernel command line and the newc cpio
 * archive are the image's only inputs from outside, and both come from
 * whoever made the boot medium.  The first input byte chooses: even, the
 * rest is a command line for boot_parse (its mount= options are not
 * performed: on the hosted platform a source names a host file); odd, a
 * cpio archive unpacked into the in-process kernel's root.  Neither may crash, read outside the input or trip a sanitizer;
 * errors must come back as EINVAL/E2BIG/... with a message.
 *
 * Includes no libc header: bootparse.c defines the Linux constants it
 * needs itself, as it must in the freestanding image.
 */
#include "../../platform/metal/bootparse.c"

struct pith_config;
int pith_init(const struct pith_config *cfg);
void *malloc(unsigned long n);
void free(void *p);
int LLVMFuzzerTestOneInput(const unsigned char *data, unsigned long size);

int
LLVMFuzzerTestOneInput(const unsigned char *data, unsigned long size)
{
	static struct boot_cmdline bc;
	static int booted;
	char err[BOOT_ERRLEN], *line;
	unsigned long i;
	int r;

	if (!booted) {
		if (pith_init((const struct pith_config *)0) != 0)
			__builtin_trap();
		booted = 1;
	}
	if (size == 0)
		return 0;
	if ((data[0] & 1) == 0) {
		/* A command line is a C string: it ends at the first NUL. */
		line = malloc(size);
		if (line == (char *)0)
			return 0;
		for (i = 1; i < size; i++)
			line[i - 1] = (char)data[i];
		line[size - 1] = '\0';
		r = boot_parse(line, &bc, err, sizeof(err));
		if (r != 0 && err[0] == '\0')
			__builtin_trap();	/* an error must say why */
		free(line);
	} else {
		r = boot_cpio_unpack(data + 1, size - 1, err, sizeof(err));
		if (r != 0 && err[0] == '\0')
			__builtin_trap();
	}
	return 0;
}

/*
 * PVH entry: the x86/HVM direct boot ABI of Xen, also used by QEMU's
 * -kernel for ELF images and by Firecracker.  The loader finds the entry
 * point in an ELF note (XEN_ELFNOTE_PHYS32_ENTRY, type 18: a 32-bit
 * physical address) in a PT_NOTE segment (platform/metal/metal.ld) and
 * enters it in 32-bit protected mode with paging off, flat segments, and
 * %ebx = the physical address of struct hvm_start_info.
 *
 * That is the state a multiboot loader leaves too, so we join its path
 * (boot.S _start32) with %eax = the PVH magic in place of the multiboot
 * one; metal_start() then turns the start_info into multiboot
 * information (boot_info.c) and the rest of the boot is the same.
 *
 * QEMU tries multiboot first when an image has both headers, so
 * tests/scripts/metal_dev.t boots a copy without the multiboot magic to
 * take this path.
 */
#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define PVH_MAGIC 0x336ec578

	/* Alignment 4: QEMU aligns the note's fields by the segment's. */
	.section .note.Xen, "a", @note
	.balign 4
	.long 4                         /* name size, "Xen\0" */
	.long 4                         /* descriptor size */
	.long XEN_ELFNOTE_PHYS32_ENTRY
	.asciz "Xen"
	.long pvh_start32

	.section .text
	.code32
	.globl pvh_start32
pvh_start32:
	/*
	 * Loaders put start_info and its tables in low memory, QEMU even in
	 * page 0, which the page tables leave unmapped (NULL guard): copy
	 * that page now, while paging is off; boot_info.c reads from it.
	 */
	cld
	xorl %esi, %esi
	movl $pvh_page0, %edi
	movl $1024, %ecx
	rep movsl
	movl $PVH_MAGIC, %eax
	jmp _start32

	.section .bss
	.balign 4096
	.globl pvh_page0
pvh_page0:
	.skip 4096


	.section .note.GNU-stack, "", @progbits

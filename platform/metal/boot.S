/*
 * Bare-metal entry.  A multiboot (v1) loader (QEMU's -kernel, GRUB) drops
 * us in 32-bit protected mode with paging off, EAX = the multiboot magic
 * and EBX = the physical address of the multiboot information.  We build
 * identity-mapped page tables for the first 1 GiB (2 MiB pages; 4 KiB for
 * the first 2 MiB, page 0 unmapped), enable
 * long mode, load a 64-bit GDT and call metal_start(magic, info) in C on
 * the boot stack.  The image is linked at 1 MiB (platform/metal/metal.ld),
 * so every address here is its own physical address.
 *
 * The header uses the a.out kludge (flag bit 16): QEMU refuses to load a
 * 64-bit ELF as multiboot, but loads any file given the addresses below.
 *
 * Also here: the cooperative context switch.  Traps and system-call entry
 * are in entry.S.
 */
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00010003     /* page-align, memory info, a.out kludge */

	.section .multiboot, "a"
	.align 4
mb_header:
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)
	.long mb_header                 /* header_addr */
	.long _load_start               /* load_addr */
	.long _load_end                 /* load_end_addr */
	.long _bss_end                  /* bss_end_addr */
	.long _start32                  /* entry_addr */

	.section .bss
	.align 4096
pml4:	.skip 4096
pdpt:	.skip 4096
pd:	.skip 4096
pt0:	.skip 4096
	.align 16
boot_stack:
	.skip 262144
	.globl boot_stack_top
boot_stack_top:

	.section .data
	.align 4
	.globl metal_mb_magic, metal_mb_info, gdt64_ptr
metal_mb_magic:	.long 0
metal_mb_info:	.long 0
	.align 16
gdt64:
	.quad 0
	.quad 0x00AF9A000000FFFF        /* 0x08: 64-bit code */
	.quad 0x00CF92000000FFFF        /* 0x10: data */
	.quad 0x00CFF2000000FFFF        /* 0x18: user data (sysret: STAR base + 8) */
	.quad 0x00AFFA000000FFFF        /* 0x20: user 64-bit code (STAR base + 16) */
	.globl metal_gdt_tss
metal_gdt_tss:
	.quad 0, 0                      /* 0x28: the TSS, filled in by trap.c */
gdt64_end:
gdt64_ptr:
	.word gdt64_end - gdt64 - 1
	.quad gdt64

	.section .text
	.code32
	.globl _start32
_start32:
	cli
	cld                             /* multiboot leaves DF undefined */
	movl $boot_stack_top, %esp
	movl %eax, metal_mb_magic
	movl %ebx, metal_mb_info

	/* PML4[0] -> PDPT, PDPT[0] -> PD, PD[i] = i * 2 MiB, present|rw|PS. */
	movl $pdpt, %eax
	orl $3, %eax
	movl %eax, pml4
	movl $pd, %eax
	orl $3, %eax
	movl %eax, pdpt
	/*
	 * The first 2 MiB in 4 KiB pages with page 0 left out, so that a NULL
	 * pointer faults instead of reading the real-mode vectors.
	 */
	movl $pt0, %eax
	orl $3, %eax
	movl %eax, pd
	movl $1, %ecx
3:	movl %ecx, %eax
	shll $12, %eax
	orl $3, %eax
	movl %eax, pt0(,%ecx,8)
	incl %ecx
	cmpl $512, %ecx
	jb 3b
	movl $1, %ecx
1:	movl %ecx, %eax
	shll $21, %eax
	orl $0x83, %eax
	movl %eax, pd(,%ecx,8)
	movl $0, pd+4(,%ecx,8)
	incl %ecx
	cmpl $512, %ecx
	jb 1b

	movl %cr4, %eax
	orl $0x620, %eax                /* PAE, OSFXSR, OSXMMEXCPT (user SSE) */
	movl %eax, %cr4
	movl $pml4, %eax
	movl %eax, %cr3
	movl $0xC0000080, %ecx          /* EFER */
	rdmsr
	/* LME; SCE for syscall/sysret; NXE when CPUID says NX exists. */
	orl $0x101, %eax
	movl %eax, %esi
	movl $0x80000001, %eax
	cpuid
	movl %esi, %eax
	testl $0x100000, %edx
	jz 4f
	orl $0x800, %eax
4:	movl $0xC0000080, %ecx
	xorl %edx, %edx
	wrmsr
	movl %cr0, %eax
	andl $~0x4, %eax                /* no EM: user code has an FPU */
	orl $0x80010003, %eax           /* PG | WP | MP | PE */
	movl %eax, %cr0
	lgdt gdt64_ptr
	ljmp $0x08, $start64

	.code64
start64:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	xorw %ax, %ax
	movw %ax, %fs
	movw %ax, %gs
	movq $boot_stack_top, %rsp
	xorl %ebp, %ebp
	movl metal_mb_magic, %edi
	movl metal_mb_info, %esi
	call metal_start
2:	cli
	hlt
	jmp 2b

/*
 * void metal_ctx_switch(void **save_sp, void *new_sp): save the callee-
 * saved registers on this stack, store its pointer in *save_sp, and resume
 * the thread whose stack is new_sp (saved the same way, or built by
 * sched.c to "return" into metal_thread_trampoline).
 */
	.globl metal_ctx_switch
metal_ctx_switch:
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, (%rdi)
	movq %rsi, %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret

/* First code of a new thread: %r12 holds its struct hyp_thread. */
	.globl metal_thread_trampoline
metal_thread_trampoline:
	movq %r12, %rdi
	call metal_thread_start
	ud2

	.section .note.GNU-stack, "", @progbits

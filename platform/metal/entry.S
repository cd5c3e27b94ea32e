/*
 * Ways into the kernel from a running CPU: exceptions, interrupts and the
 * `syscall` instruction.  Each builds the same struct trapframe (metal.h)
 * on the kernel stack -- the general registers, a vector, an error code,
 * then the five words the CPU pushes for an interrupt -- so that C sees one
 * layout and one return path (trap_return, an iretq) serves all three.
 *
 * Interrupts are off whenever the CPU is in ring 0: interrupt and trap
 * gates alike are interrupt gates (IF cleared on entry) and SFMASK clears
 * IF on `syscall`.  Only user mode and the idle `sti; hlt` run with IF set,
 * so the kernel's cooperative threads are never preempted.
 *
 * System calls have a fast way in and out that fills only part of the
 * frame (below); they come back by `sysretq` unless C says the frame
 * needs iretq (replaced by execve or rt_sigreturn, non-canonical rip).
 */
#include "asmoff.h"

.macro PUSH_REGS
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
.endm

.macro POP_REGS
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
.endm

	.text
/* Vectors 0-47: push a zero where the CPU pushes no error code, then n. */
	.irp n,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47
trap\n:
	.if (\n == 8) || (\n == 10) || (\n == 11) || (\n == 12) || (\n == 13) || (\n == 14) || (\n == 17) || (\n == 21) || (\n == 29) || (\n == 30)
	.else
	pushq $0
	.endif
	pushq $\n
	jmp trap_common
	.endr

/*
 * The CPU aligned the stack to 16 before its five words; with the two
 * above and fifteen registers the frame ends 16-aligned, as C wants.
 */
trap_common:
	PUSH_REGS
	cld
	movq %rsp, %rdi
	call metal_trap
	.globl metal_trap_return
metal_trap_return:
	POP_REGS
	addq $16, %rsp                  /* vector, error code */
	iretq

/*
 * void metal_enter_user(struct trapframe *tf): leave for user mode (or
 * any frame) through the common return path.  tf lies at the top of the
 * current kernel stack; what was below it is abandoned.
 */
	.globl metal_enter_user
metal_enter_user:
	movq %rdi, %rsp
	jmp metal_trap_return

/*
 * `syscall`: rip in rcx, rflags in r11, the user's rsp still live.  One
 * CPU and IF clear, so a plain global holds the user rsp for the moment
 * it takes to load this thread's kernel stack (metal_kstack_top, kept by
 * the scheduler together with the TSS's rsp0).
 *
 * The fast way, for ordinary calls: the frame is laid out as a struct
 * trapframe at the top of the kernel stack (16-aligned, as C wants), but
 * only the slots sysret and the caller-saved argument registers need are
 * filled; C preserves rbx, rbp and r12-r15 itself.
 * The handler is abi_calls[nr] (abi.c: the platform's, or the kernel's
 * pith_syscall6 itself), called as pith_syscall6 is: number, then six
 * arguments.  Then
 * one test of the current thread (metal_curut) for work on the way out
 * -- a deliverable signal, an exit, a bad address, an execve elsewhere in
 * the process, a sigsuspend mask to restore -- and sysret.
 *
 * The slow way fills the rest of the frame and lets metal_syscall (C)
 * finish: for the calls whose abi_calls entry is NULL (they read or
 * replace the registers), numbers past the table, a return address that sysret
 * cannot take (non-canonical: sysret would fault in ring 0), and fast
 * calls that left work pending.  Offsets: asmoff.h, checked in abi.c.
 */
	.globl metal_syscall_entry
metal_syscall_entry:
	movq %rsp, metal_scratch_rsp(%rip)
	movq metal_kstack_top(%rip), %rsp
	subq $TF_SIZE, %rsp             /* rsp: the struct trapframe */
	movq %rcx, TF_RIP(%rsp)
	movq %r11, TF_RFLAGS(%rsp)
	movq metal_scratch_rsp(%rip), %r11
	movq %r11, TF_RSP(%rsp)
	movq %rax, TF_RAX(%rsp)
	movq %rdi, TF_RDI(%rsp)
	movq %rsi, TF_RSI(%rsp)
	movq %rdx, TF_RDX(%rsp)
	movq %r10, TF_R10(%rsp)
	movq %r8, TF_R8(%rsp)
	movq %r9, TF_R9(%rsp)
	movq %rcx, %r11
	shrq $47, %r11                  /* rip at or above USER_TOP */
	movq %rax, %rcx
	shrq $ABI_NCALLS_SHIFT, %rcx    /* or a number past the table */
	orq %rcx, %r11
	jnz syscall_slow
	leaq abi_calls(%rip), %r11
	movq (%r11,%rax,8), %r11
	testq %r11, %r11
	jz syscall_slow                 /* NULL: a call that needs the frame */
	subq $8, %rsp                   /* rsp stays 16-aligned at the call */
	pushq %r9                       /* the sixth argument, on the stack */
	movq %r8, %r9
	movq %r10, %r8
	movq %rdx, %rcx
	movq %rsi, %rdx
	movq %rdi, %rsi
	movq %rax, %rdi
	call *%r11
	addq $16, %rsp
	/* Work pending?  Signals not masked, doomed, sigsuspend, exiting. */
	movq metal_curut(%rip), %rdi
	movq UT_PROC(%rdi), %rsi
	movq UP_SIGPENDING(%rsi), %rdx
	orq UT_SIGPENDING(%rdi), %rdx
	movq UT_SIGMASK(%rdi), %rcx
	notq %rcx
	andq %rcx, %rdx
	movl UT_DOOMED(%rdi), %ecx
	orl UT_HASSAVED(%rdi), %ecx
	orl UP_EXITING(%rsi), %ecx
	orq %rcx, %rdx
	orq UP_EXECER(%rsi), %rdx
	jnz syscall_pending
	movq TF_RDI(%rsp), %rdi
	movq TF_RSI(%rsp), %rsi
	movq TF_RDX(%rsp), %rdx
	movq TF_R10(%rsp), %r10
	movq TF_R8(%rsp), %r8
	movq TF_R9(%rsp), %r9
	movq TF_RIP(%rsp), %rcx
	movq TF_RFLAGS(%rsp), %r11
	movq TF_RSP(%rsp), %rsp         /* IF stays clear until sysret */
	sysretq

syscall_pending:
	movq TF_RAX(%rsp), %rdx         /* the call's number, for C */
	movq %rax, TF_RAX(%rsp)         /* and its result */
	movl $ABI_SLOW_RETURN, %esi
	jmp 2f
syscall_slow:
	movq %rax, %rdx
	movl $ABI_SLOW_CALL, %esi
	/* The rest of the frame, as a trap fills it. */
2:	movq $0x1b, TF_SS(%rsp)         /* user ss */
	movq $0x23, TF_CS(%rsp)         /* user cs */
	movq $256, TF_VECTOR(%rsp)      /* "vector" of a system call */
	movq $0, TF_ERR(%rsp)
	movq %rbx, TF_RBX(%rsp)
	movq %rbp, TF_RBP(%rsp)
	movq %r12, TF_R12(%rsp)
	movq %r13, TF_R13(%rsp)
	movq %r14, TF_R14(%rsp)
	movq %r15, TF_R15(%rsp)
	movq TF_RIP(%rsp), %rcx         /* what `syscall` left in rcx, r11 */
	movq %rcx, TF_RCX(%rsp)
	movq TF_RFLAGS(%rsp), %r11
	movq %r11, TF_R11(%rsp)
	movq %rsp, %rdi
	call metal_syscall
	testl %eax, %eax
	jnz metal_trap_return
	POP_REGS
	addq $16, %rsp
	movq (%rsp), %rcx               /* rip */
	movq 16(%rsp), %r11             /* rflags */
	movq 24(%rsp), %rsp             /* user rsp; IF stays clear until sysret */
	sysretq

	.section .rodata
	.align 8
	.globl metal_trap_stubs
metal_trap_stubs:
	.irp n,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47
	.quad trap\n
	.endr

	.bss
	.align 8
	.globl metal_scratch_rsp, metal_kstack_top
metal_scratch_rsp:
	.quad 0
metal_kstack_top:
	.quad 0

	.section .note.GNU-stack, "", @progbits

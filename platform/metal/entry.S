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
 * System calls come back by `sysretq` when C says the frame allows it
 * (returned 0: same rip and user segments, canonical rip), else by iretq.
 */
#define TF_REGS 120             /* 15 general registers */

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
 */
	.globl metal_syscall_entry
metal_syscall_entry:
	movq %rsp, metal_scratch_rsp(%rip)
	movq metal_kstack_top(%rip), %rsp
	pushq $0x1b                     /* user ss */
	pushq metal_scratch_rsp(%rip)
	pushq %r11                      /* rflags */
	pushq $0x23                     /* user cs */
	pushq %rcx                      /* rip */
	pushq $0
	pushq $256                      /* "vector" of a system call */
	PUSH_REGS
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

/*
 * The numbers entry.S needs from C: trapframe slots, the fields of the
 * current thread and process that say "work is pending", and the size of
 * the system-call table.  Plain #defines so that the assembler can read
 * them; abi.c checks every one against offsetof/sizeof with
 * _Static_assert, so a change to metal.h or uproc.h that moves a field
 * fails the build instead of the syscall path.
 */
#ifndef PITH_METAL_ASMOFF_H
#define PITH_METAL_ASMOFF_H

/* struct trapframe (metal.h) */
#define TF_R15 0
#define TF_R14 8
#define TF_R13 16
#define TF_R12 24
#define TF_R11 32
#define TF_R10 40
#define TF_R9 48
#define TF_R8 56
#define TF_RBP 64
#define TF_RDI 72
#define TF_RSI 80
#define TF_RDX 88
#define TF_RCX 96
#define TF_RBX 104
#define TF_RAX 112
#define TF_VECTOR 120
#define TF_ERR 128
#define TF_RIP 136
#define TF_CS 144
#define TF_RFLAGS 152
#define TF_RSP 160
#define TF_SS 168
#define TF_SIZE 176

/* struct uthread and struct uproc (uproc.h) */
#define UT_PROC 512
#define UT_DOOMED 540
#define UT_SIGMASK 568
#define UT_SIGPENDING 576
#define UT_HASSAVED 592
#define UP_EXITING 60
#define UP_EXECER 80
#define UP_SIGPENDING 136

/* abi.c: entries in abi_calls[], a power of two (entry.S shifts) */
#define ABI_NCALLS_SHIFT 9
#define ABI_NCALLS (1 << ABI_NCALLS_SHIFT)
/* metal_syscall's second argument */
#define ABI_SLOW_CALL 0                 /* make the call, then return */
#define ABI_SLOW_RETURN 1               /* made; tf_rax holds the result */

#endif

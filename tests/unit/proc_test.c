/*
 * Unit test of processes and credentials: the set*id rules, groups, umask,
 * and process create/switch/release through the embedding API's kernel
 * halves.
 */
#include "kern/kern.h"
#include "kern/proc.h"
#include "kern/kern_private.h"
#include "gen/sysproto.h"
#include "unit/ktap.h"


static void
test_ids(void)
{
	gid_t g[4] = { 30, 10, 20, 10 }, out[8];

	ok(sys_getpid() == 1 && sys_getppid() == 0, "the first process is pid 1");
	ok(sys_getuid() == 0 && sys_geteuid() == 0, "running as root");
	ok(sys_umask(027) == 022 && sys_umask(01777) == 027 &&
	    sys_umask(022) == 0777, "umask returns the old mask, masks 0777");
	ok(sys_setgroups(3, g) == 0, "root sets groups");
	ok(sys_getgroups(0, NULL) == 3, "getgroups(0) counts");
	ok(sys_getgroups(2, out) == -EINVAL, "getgroups with a short list: EINVAL");
	ok(sys_getgroups(8, out) == 3 && out[0] == 10 && out[1] == 20 &&
	    out[2] == 30, "groups come back sorted");
	ok(sys_setgroups(NGROUPS_PITH + 1, g) == -EINVAL, "too many groups: EINVAL");
	ok(sys_setgroups(-1, g) == -EINVAL, "negative size: EINVAL");
	ok(sys_setresgid(100, 100, 100) == 0 && sys_getgid() == 100 &&
	    sys_getegid() == 100, "setresgid as root");
	ok(sys_setresuid(1000, 1000, 0) == 0 && sys_getuid() == 1000 &&
	    sys_geteuid() == 1000, "setresuid keeping a saved root");
	ok(sys_setgroups(0, NULL) == -EPERM, "setgroups unprivileged: EPERM");
	ok(sys_setuid(2000) == -EPERM, "setuid to a stranger: EPERM");
	ok(sys_setresuid(-1, 0, -1) == 0 && sys_geteuid() == 0,
	    "back to euid 0 through the saved id");
	ok(sys_setuid(500) == 0 && sys_getuid() == 500 && sys_geteuid() == 500,
	    "privileged setuid sets all ids");
	ok(sys_setuid(0) == -EPERM && sys_setresuid(-1, 0, -1) == -EPERM,
	    "and root is gone for good");
	ok(sys_setgid(7) == -EPERM && sys_setgid(100) == 0,
	    "unprivileged setgid: own ids only");
	ok(sys_setuid(-1) == -EINVAL, "setuid(-1): EINVAL");
}

static void
test_procs(void)
{
	long pid, pid2;

	pid = pith_kproc_create(0x1u);
	ok(pid > 1, "create a process");
	ok(pith_kproc_create(0x80) == -EINVAL, "unknown flags: EINVAL");
	ok(pith_kproc_switch(pid) == 0 && sys_getpid() == pid &&
	    sys_getppid() == 1, "switch to it");
	ok(sys_getuid() == 0, "it inherited root from its parent");
	pid2 = pith_kproc_create(0);
	ok(pid2 > pid, "create a grandchild");
	ok(pith_kproc_switch(1) == 0 && sys_getpid() == 1, "switch back");
	ok(pith_kproc_release(pid) == 0, "release the child");
	ok(pith_kproc_switch(pid) == -ESRCH, "a released pid is gone");
	ok(pith_kproc_release(pid) == -ESRCH, "release again: ESRCH");
	ok(pith_kproc_release(1) == -EPERM && pith_kproc_release(0) == -EPERM,
	    "pids 0 and 1 cannot be released");
	ok(pith_kproc_switch(pid2) == 0, "switch to the grandchild");
	ok(pith_kproc_release(pid2) == 0 &&
	    (curproc()->p_flags & P_EXITING) != 0,
	    "release the process we run as: marked exiting");
	ok(pith_kproc_switch(1) == 0, "switch away");
}

int
pith_unittest_main(void)
{
	kprintf("1..33\n");
	ok(pith_kinit(NULL) == 0, "boot");
	test_procs();
	test_ids();
	pith_fini();
	ok(pith_kinit(NULL) == 0, "boot again after shutdown");
	pith_fini();
	return t_fail != 0;
}

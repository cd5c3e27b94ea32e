/*
 * uname(2).  We answer as Linux: C libraries and programs parse these
 * strings (musl and glibc compare the release against the versions that
 * introduced system calls), so the release looks like a recent kernel's and
 * Pith identifies itself in the suffix and the version.
 */
#include "kern/kern.h"
#include "gen/sysproto.h"

long
sys_uname(struct utsname *buf)
{
	struct utsname u;

	memset(&u, 0, sizeof(u));
	strlcpy(u.sysname, "Linux", sizeof(u.sysname));
	strlcpy(u.nodename, kern_cfg.hostname, sizeof(u.nodename));
	strlcpy(u.release, "6.1.0-pith", sizeof(u.release));
	strlcpy(u.version, "#1 Pith 0.1", sizeof(u.version));
	strlcpy(u.machine, "x86_64", sizeof(u.machine));
	strlcpy(u.domainname, "(none)", sizeof(u.domainname));
	return copyout(&u, buf, sizeof(u)) != 0 ? -EFAULT : 0;
}

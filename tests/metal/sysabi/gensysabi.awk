# From $(BUILD)/include/pith/pith_sys.h (itself generated from
# sys/syscall/syscalls.master): every pith_sys_X as the Linux system call
# X for a static musl program (tests/metal/sysabi/sysabi.c says why).
# Variadic arguments (open's mode, fcntl's and ioctl's third) are passed
# on as one unsigned long, read whether given or not (a register on
# x86-64, ignored by the kernel when the call does not use it); the few names that are libc's, not the
# kernel's, are mapped (fstatat, pread, pwrite, pselect).  Those whose
# libc behaviour is more than the system call (libpith's hand-written
# lib/pith/wrap.c: getcwd, setgroups, clock_nanosleep, fchmodat,
# faccessat, mknod, mknodat) are written in sysabi.c instead, and skipped.
BEGIN {
	split("getcwd setgroups clock_nanosleep fchmodat faccessat mknod " \
	    "mknodat", h, " ")
	for (k in h)
		hand[h[k]] = 1
}
/^[a-z].*pith_sys_[a-z0-9_]*\(.*\);$/ {
	line = $0
	sub(/;$/, "", line)
	i = index(line, "pith_sys_")
	ret = substr(line, 1, i - 1); sub(/ +$/, "", ret)
	rest = substr(line, i)
	name = substr(rest, 10, index(rest, "(") - 10)
	params = substr(rest, index(rest, "(") + 1)
	sub(/\)$/, "", params)
	if (name in hand)
		next
	args = ""; va = 0
	if (params != "void") {
		n = split(params, p, /, /)
		for (k = 1; k <= n; k++) {
			if (p[k] == "...") { va = 1; continue }
			a = p[k]; sub(/\[.*\]$/, "", a)
			m = split(a, w, /[ *]+/)
			args = args ", " w[m]
		}
	}
	print line
	print "{"
	if (va) {
		print "\tva_list ap;"
		print "\tunsigned long va;"
		print ""
		print "\tva_start(ap, " w[m] ");"
		print "\tva = va_arg(ap, unsigned long);"
		print "\tva_end(ap);"
		args = args ", va"
	}
	sys = name
	if (name == "fstatat")
		sys = "newfstatat"
	else if (name == "pread" || name == "pwrite")
		sys = name "64"
	if (name == "pselect" || name == "pselect6") {
		# The kernel takes the mask as {pointer, size}.
		print "\tstruct { const sigset_t *ss; size_t len; } m = { sigmask, 8 };"
		print ""
		print "\treturn (int)syscall(SYS_pselect6, nfds, rfds, wfds, efds, " \
		    "timeout, sigmask != NULL ? &m : NULL);"
	} else if (ret == "void")
		print "\tsyscall(SYS_" sys args ");"
	else
		print "\treturn (" ret ")syscall(SYS_" sys args ");"
	print "}"
	print ""
}

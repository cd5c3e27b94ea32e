# From $(BUILD)/include/pith/pith_sys.h (itself generated from
# sys/syscall/syscalls.master): every pith_sys_X as the Linux system call
# X for a static musl program (tests/metal/sysabi/sysabi.c says why).
# Those whose libc signature or behaviour is more than the system call
# (variadic open/fcntl/ioctl, getcwd, pselect, mknod...) are libpith's
# hand-written ones in lib/pith/wrap.c, which metal_systests.t compiles
# beside these: every pith_sys_X that file defines (-v wrap=FILE) is
# skipped here.
BEGIN {
	while ((getline l < wrap) > 0)
		if (l ~ /^pith_sys_[a-z0-9_]*\(/)
			hand[substr(l, 10, index(l, "(") - 10)] = 1
	close(wrap)
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
	args = ""
	if (params != "void") {
		n = split(params, p, /, /)
		for (k = 1; k <= n; k++) {
			a = p[k]; sub(/\[.*\]$/, "", a)
			m = split(a, w, /[ *]+/)
			args = args ", " w[m]
		}
	}
	print line
	print "{"
	if (ret == "void")
		print "\tsyscall(SYS_" name args ");"
	else
		print "\treturn (" ret ")syscall(SYS_" name args ");"
	print "}"
	print ""
}

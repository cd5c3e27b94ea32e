# Generate code from syscalls.master.  Usage:
#   awk -F'\t' -v out=WHAT -f gensyscalls.awk syscalls.master > FILE
# WHAT: sysproto (kernel prototypes and SYS_ numbers), sysent (dispatch
# table), pithsys (public prototypes), wrappers (pith_sys_* bodies), doc
# (the coverage page), remote (the argument kinds the server protocol
# marshals, for lib/pithclient/proto.c), clientsys (pith_sys_* bodies of
# the N calls, which libpith gets from the kernel and libpithclient must
# make itself).

function trim(s) { sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s); return s }

# Split "int fd, void *buf" into argty[i], argname[i]; returns the count.
function parseargs(s,    parts, n, i, d, nm) {
	s = trim(s)
	if (s == "void" || s == "")
		return 0
	n = split(s, parts, ",")
	for (i = 1; i <= n; i++) {
		d = trim(parts[i])
		if (d == "...") {
			argty[i] = "..."; argname[i] = ""
			continue
		}
		match(d, /[A-Za-z_][A-Za-z0-9_]*$/)
		nm = substr(d, RSTART)
		argname[i] = nm
		argty[i] = trim(substr(d, 1, RSTART - 1))
	}
	return n
}

/^#/ || /^$/ { next }

$1 == "=" {
	hand[++nhand] = $2; handret[$2] = $3; handargs[$2] = $4
	next
}

{
	nr = $1; name = $2; flags = $3
	nrs[++ncalls] = nr; names[nr] = name; flg[nr] = flags
	rets[nr] = $4; args[nr] = $5; remote[nr] = $6
	if (nr + 0 > maxnr) maxnr = nr + 0
}

function emit_sysproto(    i, nr, n, j, a) {
	print "/* Generated from sys/syscall/syscalls.master: do not edit. */"
	print "#ifndef PITH_GEN_SYSPROTO_H"
	print "#define PITH_GEN_SYSPROTO_H"
	print "#include \"kern/kern.h\""
	printf "#define SYS_MAXNR %d\n", maxnr
	for (i = 1; i <= ncalls; i++) {
		nr = nrs[i]
		printf "#define SYS_%s %d\n", names[nr], nr
	}
	for (i = 1; i <= ncalls; i++) {
		nr = nrs[i]
		if (flg[nr] == "U")
			continue
		printf "long sys_%s(%s);\n", names[nr], args[nr] == "" ? "void" : args[nr]
	}
	print "#endif"
}

function emit_sysent(    i, nr, n, j, call, f) {
	print "/* Generated from sys/syscall/syscalls.master: do not edit. */"
	print "#include \"syscall/sysent.h\""
	print "#include \"gen/sysproto.h\""
	for (i = 1; i <= ncalls; i++) {
		nr = nrs[i]
		if (flg[nr] == "U")
			continue
		n = parseargs(args[nr])
		call = ""
		for (j = 1; j <= n; j++)
			call = call (j > 1 ? ", " : "") "(" argty[j] ")a[" j - 1 "]"
		printf "static long\nsy_%s(const long *a)\n{\n", names[nr]
		if (n == 0)
			printf "\t(void)a;\n"
		printf "\treturn sys_%s(%s);\n}\n\n", names[nr], call
	}
	printf "const struct sysent sysent[SYS_MAXNR + 1] = {\n"
	for (i = 1; i <= ncalls; i++) {
		nr = nrs[i]
		n = flg[nr] == "U" ? 0 : parseargs(args[nr])
		f = (flg[nr] == "N" || flg[nr] == "F") ? "SYF_NOCPU" : \
		    flg[nr] == "U" ? "SYF_UNIMPL" : "0"
		printf "\t[%d] = { %s, %s, %d, \"%s\" },\n", nr,
		    flg[nr] == "U" ? "NULL" : "sy_" names[nr], f, n, names[nr]
	}
	print "};"
}

function emit_pithsys(    i, nr, k) {
	print "/* Generated from sys/syscall/syscalls.master: do not edit."
	print " * Included by <pith/pith.h>; see there for the error policy. */"
	print "#ifndef PITH_PITH_SYS_H"
	print "#define PITH_PITH_SYS_H"
	print "#include <poll.h>"
	print "#include <signal.h>"
	print "#include <time.h>"
	print "#include <sys/epoll.h>"
	print "#include <sys/select.h>"
	print "#include <sys/stat.h>"
	print "#include <sys/statfs.h>"
	print "#include <sys/uio.h>"
	print "#include <sys/utsname.h>"
	print "struct statx;"
	for (i = 1; i <= ncalls; i++) {
		nr = nrs[i]
		if (flg[nr] == "U" || flg[nr] == "W")
			continue
		printf "%s pith_sys_%s(%s);\n", rets[nr], names[nr], args[nr]
	}
	for (k = 1; k <= nhand; k++)
		printf "%s pith_sys_%s(%s);\n", handret[hand[k]], hand[k], handargs[hand[k]]
	print "#endif"
}

function emit_wrappers(only,    i, nr, n, j, call, r) {
	print "/* Generated from sys/syscall/syscalls.master: do not edit. */"
	print "#include <errno.h>"
	print "#include <pith/pith.h>"
	for (i = 1; i <= ncalls; i++) {
		nr = nrs[i]
		if (only != "" && flg[nr] != only)
			continue
		if (only == "" && (flg[nr] == "U" || flg[nr] == "W" || flg[nr] == "N"))
			continue
		n = parseargs(args[nr])
		call = ""
		for (j = 1; j <= 6; j++)
			call = call ", " (j <= n ? "(long)" argname[j] : "0")
		r = rets[nr]
		printf "\n%s\npith_sys_%s(%s)\n{\n", r, names[nr], args[nr]
		if (r == "void") {
			printf "\t(void)pith_syscall6(%d%s);\n}\n", nr, call
			continue
		}
		printf "\tlong r = pith_syscall6(%d%s);\n\n", nr, call
		printf "\tif (r < 0) {\n\t\terrno = (int)-r;\n\t\treturn (%s)-1;\n\t}\n", r
		printf "\treturn (%s)r;\n}\n", r
	}
}

function emit_doc(    i, nr, nimpl) {
	for (i = 1; i <= ncalls; i++)
		if (flg[nrs[i]] != "U")
			nimpl++
	print "<!-- Generated from sys/syscall/syscalls.master by make: do not edit. -->"
	print "# System-call coverage"
	print ""
	printf "Pith implements %d of the %d Linux x86-64 system calls. A call it\n", nimpl, ncalls
	print "lacks returns `ENOSYS` and is named once on the console. Flags and"
	print "their semantics are described in docs/syscalls-notes.md."
	print ""
	print "| nr | call | status | arguments |"
	print "|---:|---|---|---|"
	for (i = 1; i <= ncalls; i++) {
		nr = nrs[i]
		printf "| %d | `%s` | %s | %s |\n", nr, names[nr],
		    flg[nr] == "U" ? "ENOSYS" : "yes", flg[nr] == "U" ? "" : "`" args[nr] "`"
	}
}

function die(msg) {
	print "gensyscalls.awk: " msg > "/dev/stderr"
	failed = 1
	exit 1
}

# The argument index (0-based) named nm in the current parseargs result.
function argindex(nm, n, call,    j) {
	for (j = 1; j <= n; j++)
		if (argname[j] == nm)
			return j - 1
	die(call ": remote column names unknown argument " nm)
}

# "N" (argument or number) -> "narg, count" initialiser fields.
function countfields(c, n, call) {
	if (c ~ /^[0-9]+$/)
		return "-1, " c
	return argindex(c, n, call) ", 0"
}

# The pointee type of a declared pointer argument: "const struct stat *" ->
# "struct stat".
function pointee(ty) {
	sub(/^const[ \t]+/, "", ty)
	sub(/[ \t]*\*$/, "", ty)
	return ty
}

# Blanks inside parentheses ("in(2,struct timespec)") become \001 so that
# the column splits on the blanks between entries only.
function protect(s,    i, c, d, r) {
	for (i = 1; i <= length(s); i++) {
		c = substr(s, i, 1)
		if (c == "(") d++
		else if (c == ")") d--
		r = r (c == " " && d > 0 ? "\001" : c)
	}
	return r
}

function emit_remote(    i, nr, n, j, k, m, spec, kv, nm, kind, inner, parts, np, idx, init, a, kinds) {
	print "/* Generated from sys/syscall/syscalls.master: do not edit. */"
	print "#include \"pithclient/proto.h\""
	print ""
	printf "const struct proto_call proto_calls[PROTO_NCALLS] = {\n"
	for (i = 1; i <= ncalls; i++) {
		nr = nrs[i]
		if (flg[nr] == "U")
			continue
		n = parseargs(args[nr])
		for (j = 1; j <= n; j++)
			a[j] = "PA_VAL"
		m = split(protect(trim(remote[nr])), spec, " ")
		for (k = 1; k <= m; k++) {
			if (index(spec[k], "=") == 0)
				die(names[nr] ": bad remote entry " spec[k])
			nm = substr(spec[k], 1, index(spec[k], "=") - 1)
			kind = substr(spec[k], index(spec[k], "=") + 1)
			idx = argindex(nm, n, names[nr]) + 1
			inner = ""
			if (match(kind, /\(.*\)$/)) {
				inner = substr(kind, RSTART + 1, RLENGTH - 2)
				kind = substr(kind, 1, RSTART - 1)
			}
			gsub(/\001/, " ", inner)
			np = inner == "" ? 0 : split(inner, parts, ",")
			if (kind == "str") {
				init = "PK_STR, -1, 0, 1"
			} else if (kind ~ /^(in|out|inout|outr)$/) {
				if (np == 0) {
					if (pointee(argty[idx]) == "void")
						die(names[nr] ": " nm " needs a length")
					init = "PK_" toupper(kind) ", -1, 1, sizeof(" pointee(argty[idx]) ")"
				} else if (np == 1) {
					init = "PK_" toupper(kind) ", " countfields(trim(parts[1]), n, names[nr]) ", 1"
				} else {
					init = "PK_" toupper(kind) ", " countfields(trim(parts[1]), n, names[nr]) ", sizeof(" trim(parts[2]) ")"
				}
			} else if (kind ~ /^(iovin|iovout|fdset|ioctl|fcntl)$/ && np == 1) {
				init = "PK_" toupper(kind) ", " argindex(trim(parts[1]), n, names[nr]) ", 0, 0"
			} else if (kind == "psel") {
				init = "PK_PSEL, -1, 0, 0"
			} else
				die(names[nr] ": unknown remote kind " spec[k])
			a[idx] = "{ " init " }"
		}
		for (j = 1; j <= n; j++)
			if (argty[j] ~ /\*$/ && a[j] == "PA_VAL")
				die(names[nr] ": pointer argument " argname[j] " has no remote kind")
		printf "\t[%d] = { \"%s\", %d, {", nr, names[nr], n
		for (j = 1; j <= n; j++)
			printf " %s%s", a[j], j < n ? "," : ""
		printf " } },\n"
	}
	print "};"
}

END {
	if (failed)
		exit 1
	if (out == "sysproto") emit_sysproto()
	else if (out == "sysent") emit_sysent()
	else if (out == "pithsys") emit_pithsys()
	else if (out == "wrappers") emit_wrappers("")
	else if (out == "clientsys") emit_wrappers("N")
	else if (out == "remote") emit_remote()
	else if (out == "doc") emit_doc()
	else { print "gensyscalls.awk: unknown out=" out > "/dev/stderr"; exit 1 }
}

# genucheck.awk syscalls.master: the table abi.c checks user pointers of
# pass-through system calls against (build/metal/ucheck.h).  For every
# implemented call, each pointer argument named in the "remote" column
# gets a kind and a length: an argument index for in(N)/out(N)/outr(N),
# else a constant count, times an element size (the few element types
# the table uses are sized here; sizeof(*p) of a struct is left at 1
# byte: the check is then only that the pointer's page is there).
# ucheck_ptrargs[nr] says whether call nr has a row at all, so that calls
# without pointers (getpid) skip the check (abi_init).
BEGIN {
	FS = "\t"
	size["int"] = 4; size["gid_t"] = 4; size["struct pollfd"] = 8
	size["struct timespec"] = 16; size["struct epoll_event"] = 12
	print "/* Generated from sys/syscall/syscalls.master by platform/metal/genucheck.awk. */"
	print "static const struct ucheck_arg ucheck_tab[][6] = {"
}
$1 ~ /^[0-9]+$/ && $3 != "U" && NF >= 6 && $6 != "" {
	delete idx
	na = split($5, A, /, */)
	for (i = 1; i <= na; i++) {
		w = A[i]
		sub(/.*[ *]/, "", w)
		idx[w] = i - 1
	}
	# Split the remote column at spaces outside parentheses.
	n = 0; cur = ""; depth = 0
	for (q = 1; q <= length($6); q++) {
		ch = substr($6, q, 1)
		if (ch == "(") depth++
		if (ch == ")") depth--
		if (ch == " " && depth == 0) {
			if (cur != "") R[++n] = cur
			cur = ""
		} else
			cur = cur ch
	}
	if (cur != "") R[++n] = cur
	line = ""
	for (j = 1; j <= n; j++) {
		eq = index(R[j], "=")
		nm = substr(R[j], 1, eq - 1)
		kind = substr(R[j], eq + 1)
		inner = ""
		if ((p = index(kind, "(")) > 0) {
			inner = substr(kind, p + 1, length(kind) - p - 1)
			kind = substr(kind, 1, p - 1)
		}
		x = inner; t = ""
		if ((c = index(inner, ",")) > 0) {
			x = substr(inner, 1, c - 1)
			t = substr(inner, c + 1)
		}
		k = ""
		if (kind == "str") k = "UC_STR"
		else if (kind == "in") k = "UC_IN"
		else if (kind == "out" || kind == "inout") k = "UC_OUT"
		else if (kind == "outr") k = "UC_OUTR"
		else if (kind == "iovin") k = "UC_IOVIN"
		else if (kind == "iovout") k = "UC_IOVOUT"
		else if (kind == "fdset" || kind == "psel") k = "UC_PTR"
		if (k == "" || !(nm in idx))
			continue
		la = -1; lc = 1
		if (x ~ /^[0-9]+$/) lc = x
		else if (x != "" && (x in idx)) la = idx[x]
		es = (t in size) ? size[t] : 1
		line = line sprintf(" [%d] = { %s, %d, %d, %d },", idx[nm], k, la, lc, es)
	}
	if (line != "") {
		printf "\t[%d] = {%s },\n", $1, line
		ptr[++nptr] = $1
	}
}
END {
	print "};"
	# The calls with a row above: abi_init sends the others straight to
	# the kernel.  Sized by asmoff.h, which the includer has read.
	print "static const u8 ucheck_ptrargs[ABI_NCALLS] = {"
	for (i = 1; i <= nptr; i++)
		printf "\t[%d] = 1,\n", ptr[i]
	print "};"
}

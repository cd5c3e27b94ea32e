#!/bin/sh
# mksyms.sh IMAGE: print an assembly file holding IMAGE's text symbols,
# sorted by address (metal_symaddr[], metal_symname[], metal_nsyms), for
# the panic backtrace in trap.c.  The Makefile links the image once
# without it, then again with it: the table goes into .rodata, after all
# text, so no text address moves between the two links.
set -e
NM=${NM:-nm}
"$NM" -n "$1" | awk '
BEGIN { n = 0 }
NF == 3 && $2 ~ /^[tTwW]$/ && $3 !~ /^\.L/ { addr[n] = $1; name[n] = $3; n++ }
END {
	print "\t.section .rodata.metal_syms, \"a\""
	print "\t.globl metal_symaddr, metal_symname, metal_nsyms"
	print "\t.balign 8"
	print "metal_nsyms:\n\t.quad " n
	print "metal_symaddr:"
	for (i = 0; i < n; i++) print "\t.quad 0x" addr[i]
	print "metal_symname:"
	for (i = 0; i < n; i++) print "\t.quad .Lsym" i
	for (i = 0; i < n; i++) print ".Lsym" i ":\n\t.asciz \"" name[i] "\""
	print "\t.section .note.GNU-stack, \"\", @progbits"
}'

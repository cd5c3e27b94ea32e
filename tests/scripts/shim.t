#!/bin/bash
# libpithshim and `pith exec`: unmodified host programs (coreutils, sh,
# find, du, tar, sqlite3) working on a pithd server's files under /pith.
# Each command runs twice, once through `pith exec` with R in the server
# and once on a host temporary directory with R=$H, and the outputs (with
# the root replaced) must be the same.  The whole suite runs on the
# server's tmpfs (R=/pith) and again on an ext2 image it mounts (R=/pith/img),
# which e2fsck -fn must then find clean.  Skips when the binaries are not
# built.
BUILD=${BUILD:-build}
PITHD=$PWD/$BUILD/pithd
PITH=$PWD/$BUILD/pith
SHIM=$PWD/$BUILD/libpithshim.so
. "$(dirname "$0")/tap.sh"
. "$(dirname "$0")/pithd.sh"

if [ ! -x "$PITHD" ] || [ ! -x "$PITH" ] || [ ! -f "$SHIM" ]; then
	echo "1..0 # SKIP $BUILD/pithd, pith or libpithshim.so not built"
	exit 0
fi
pithd_workdir shim_t


# pex CMD: CMD in sh through the shim, R=$P.  hst CMD: on the host.
P=/pith
pex() { R=$P timeout 60 "$PITH" exec --server "$S" -- sh -c "$1" 2>&1; }
hst() { R=$H timeout 60 sh -c "$1" 2>&1; }
# same NAME CMD: both outputs equal once the roots read "R".
same() {
	local a b
	a=$(pex "$2" | sed "s|$P|R|g")
	b=$(hst "$2" | sed "s|$H|R|g")
	if [ "$a" = "$b" ]; then
		ok "$1 ($FS)"
	else
		notok "$1 ($FS)"
		diff <(echo "$b") <(echo "$a") | sed 's/^/# /'
	fi
}

# A source tree: text, an empty file, a 3 MiB file (larger than the
# shared area, so reads and writes come back short), nested directories.
SRC=$W/src
mkdir -p "$SRC/d1/d2" "$SRC/empty"
echo hello >"$SRC/hello.txt"
: >"$SRC/zero"
head -c 3145728 /dev/urandom >"$SRC/d1/big.bin"
seq 1 2000 >"$SRC/d1/d2/numbers"
export SRC W

check "server starts" start
check "pith exec --help" bash -c "'$PITH' exec --help | grep -q '^usage: pith exec'"
check "pith exec without a program fails" bash -c "! '$PITH' exec --server '$S' 2>/dev/null"
check "pith exec without a server fails" bash -c \
	"! env -u PITH_SERVER '$PITH' exec -- true 2>/dev/null"
check "exit status passes through" bash -c \
	"'$PITH' exec --server '$S' -- sh -c 'exit 3'; [ \$? = 3 ]"
check "a missing program is 127" bash -c \
	"'$PITH' exec --server '$S' -- /nonexistent 2>/dev/null; [ \$? = 127 ]"
check "host paths are the host's" bash -c \
	"[ \"\$('$PITH' exec --server '$S' -- cat /etc/passwd)\" = \"\$(cat /etc/passwd)\" ]"
check "ls -l /pith/ lists the server's root" bash -c \
	"'$PITH' exec --server '$S' -- ls -l /pith/ | grep -q ' tmp\$'"
check "the host has no /pith" test ! -e /pith/tmp

# glibc's realpath resolves with internal calls: the shim redoes it.
cat >"$W/rp.c" <<'EOC'
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		char *r = realpath(argv[i], NULL);
		printf("%s\n", r != NULL ? r : strerror(errno));
		free(r);
	}
	return 0;
}
EOC
# The suite: run once per file system, the work tree under $R.
suite() {
	same "echo > file; cat" 'echo hi > $R/x; cat $R/x'
	same "mkdir -p" 'mkdir -p $R/a/b && test -d $R/a/b && echo yes'
	same "cp -r of a host tree" 'cp -r $SRC $R/a/ && echo copied'
	same "find" 'find $R/a | sort'
	same "ls -l: modes, sizes, names" \
		'ls -l $R/a/src $R/a/src/d1 | awk "!/^total/ { print \$1, (\$1 ~ /^-/ ? \$5 : \"\"), \$NF }"'
	same "ls -a of an empty directory" 'ls -a $R/a/src/empty'
	same "sha256sum" 'cd $R/a/src && sha256sum hello.txt zero d1/big.bin d1/d2/numbers'
	same "sha256sum by absolute path" 'sha256sum $R/a/src/d1/big.bin | cut -c1-64'
	same "mv within" 'mv $R/a/src/hello.txt $R/a/src/moved && cat $R/a/src/moved && ! test -e $R/a/src/hello.txt && echo gone'
	same "ln -s and reading through it" 'ln -s moved $R/a/src/link && readlink $R/a/src/link && cat $R/a/src/link'
	same "ln (hard)" 'ln $R/a/src/moved $R/a/src/hard && stat -c %h $R/a/src/moved'
	same "tar c | tar t" 'tar cf - -C $R/a . | LD_PRELOAD= tar tf - | sort'
	same "tar round trip" 'tar cf - -C $R/a/src d1 | (mkdir $R/t && cd $R/t && tar xf - 2>&1; echo rc=$?)'
	same "extracted copy is identical" 'cmp $R/t/d1/big.bin $SRC/d1/big.bin && cmp $R/t/d1/d2/numbers $SRC/d1/d2/numbers && echo same'
	same "cd into the prefix, glob, pwd" 'cd $R/a/src && echo * && pwd'
	same "mv from the host in (EXDEV, so a copy)" \
		'cp $SRC/d1/d2/numbers $W/n1 && mv $W/n1 $R/a/n1 && wc -l $R/a/n1 | cut -d" " -f1 && ! test -e $W/n1 && echo moved'
	same "cwd in the prefix crosses exec" 'cd $R/a/src/d1 && ls && cat d2/numbers | wc -l && find . | sort'
	same "chmod, stat" 'chmod 640 $R/a/n1 && stat -c %a $R/a/n1'
	same "touch -d, stat" 'touch -d "2001-02-03 04:05:06 UTC" $R/a/n1 && stat -c %Y $R/a/n1'
	same "truncate" 'truncate -s 5 $R/a/n1 && wc -c $R/a/n1 | cut -d" " -f1'
	same "shell redirections on a builtin" \
		'exec 3>$R/fd3; echo three >&3; exec 3>&-; cat $R/fd3; echo more >> $R/fd3; cat $R/fd3'
	same "bash builtins redirected into the prefix (stdio follows dup2)" \
		'bash -c "echo hi > $R/b1; echo two >> $R/b1; exec 3>$R/b2; echo three >&3; exec 3>&-; { echo a; echo b; } > $R/b3; read l < $R/b1; echo read \$l; echo out" && cat $R/b1 $R/b2 $R/b3'
	same "a subshell (fork) has its own connection" \
		'(echo sub > $R/sub; cat $R/sub); cat $R/sub; (cd $R/a && echo *)'
	same "shell loop over a glob" 'for f in $R/a/src/d1/*; do echo "$f"; done'
	same "dd through the shim" 'dd if=$R/a/src/d1/big.bin of=$R/a/dd.bin bs=65536 2>/dev/null && cmp $R/a/dd.bin $SRC/d1/big.bin && echo equal'
	same "grep -r" 'grep -r "^1999\$" $R/a/src'
	same "df knows the prefix" 'df $R/ >/dev/null 2>&1; echo $?'
	same "a program's output redirected into the prefix" \
		'seq 3 > $R/o1 && cat $R/o1 && ls $R/a/src > $R/o2 2>&1 && cat $R/o2'
	same "a program's input redirected from the prefix" \
		'wc -l < $R/a/src/d1/d2/numbers && sort -rn < $R/a/src/d1/d2/numbers | head -2'
	same "a pipeline into a file, 3 MiB" \
		'cat $R/a/src/d1/big.bin | cat > $R/big2 && cmp $R/big2 $SRC/d1/big.bin && echo equal'
	same "stderr into the prefix" 'ls $R/nonexistent 2> $R/err; echo rc=$?; cat $R/err'
	same "exit status and signal through a redirected program" \
		'sh -c "exit 5" > $R/o3; echo $?; sh -c "kill -TERM \$\$" > $R/o3; echo $?'
	same "the issue example: cd, tar | sha256sum" \
		'cd $R/a/src/d1 && tar cf - --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --mode=644 . | sha256sum'
	if command -v sqlite3 >/dev/null; then
		same "sqlite3 creates and queries a database" \
			'sqlite3 $R/db "create table t(a, b); insert into t values (1, 2), (3, 4);" && sqlite3 $R/db "select a + b from t order by a;" && sqlite3 $R/db "pragma integrity_check;"'
	else
		ok "# SKIP no sqlite3"
	fi
	same "find -exec, xargs and env (execvp) with redirections" \
		'find $R/a/src/d1 -type f -name numbers -exec wc -l {} \; > $R/fe && cat $R/fe; ls $R/a/src | xargs echo > $R/xa; cat $R/xa; env sort -rn < $R/a/src/d1/d2/numbers | head -1'
	same "ls -lR: types, modes, file links and sizes, names" \
		'ls -lR $R/a/src | awk "/^total/ { next } NF < 3 { print; next } { print \$1, (\$1 ~ /^-/ ? \$2 \" \" \$5 : \"\"), \$NF }"'
	same "cp -a keeps modes and times" \
		'chmod 751 $R/a/src/d1 && touch -d "2003-04-05 06:07:08 UTC" $R/a/src/d1/d2/numbers && cp -a $R/a/src $R/ca && cd $R/ca && find . | sort | xargs stat -c "%n %A %Y" | awk "{ print \$1, \$2, (\$2 ~ /^d/ ? \"\" : \$3) }"'
	same "find -newer" \
		'touch -d "2001-01-01 UTC" $R/a/old && touch -d "2002-01-01 UTC" $R/a/mid && find $R/a -newer $R/a/old ! -newer $R/a/mid; find $R/ca/d1 -newer $R/a/mid | sort'
	same "du: inodes and file sizes" \
		'du --inodes -s $R/a/src && du -ab $R/a/src | sort -k2 | while read n f; do [ -d "$f" ] || echo "$n $f"; done'
	if ${CC:-cc} -o "$W/rp" "$W/rp.c" 2>/dev/null; then
		same "realpath(3)" 'mkdir -p $R/rp/b && touch $R/rp/b/f && ln -s b $R/rp/lb && ln -s loop $R/rp/loop && cd $R/rp && $W/rp $R/rp/lb/f $R/rp/../rp/./b lb nope b/f/x $R/rp/loop'
	else
		ok "# SKIP no C compiler"
	fi
	same "sort and head (stdio)" 'sort -rn $R/a/src/d1/d2/numbers | head -3'
	same "errors: ENOENT" 'cat $R/nonexistent; ls $R/nonexistent'
	same "errors: rmdir non-empty" 'rmdir $R/a'
	same "rm -r" 'rm -r $R/a $R/t && ls $R/a; echo $?'
}

# run FS P: the suite on the server's FS under P, against a new host
# directory.
run() {
	FS=$1 P=$2 H=$W/host-$1
	mkdir "$H"
	suite
}
run tmpfs /pith

check "--prefix" bash -c \
	"'$PITH' exec --server '$S' --prefix /srv/p -- sh -c 'echo pre > /srv/p/y && cat /srv/p/y' | grep -qx pre"
check "PITH_PREFIX" bash -c \
	"PITH_PREFIX=/q '$PITH' exec --server '$S' -- cat /q/y | grep -qx pre"
check "SIGTERM: exit 0" stop

# The same on an ext2 image the server mounts, judged by e2fsck after.
if command -v mke2fs >/dev/null && command -v e2fsck >/dev/null; then
	mke2fs -q -t ext2 -F "$W/disk.img" 64M >"$W/mke2fs.log" 2>&1
	check "server starts with an ext2 image" start --image "$W/disk.img:/img"
	run ext2 /pith/img
	check "SIGTERM with the image: exit 0" stop
	if e2fsck -fn "$W/disk.img" >"$W/fsck.log" 2>&1; then
		ok "e2fsck -fn: the image is clean"
	else
		notok "e2fsck -fn: the image is clean" "$(cat "$W/fsck.log")"
	fi
else
	ok "# SKIP no e2fsprogs: the suite on ext2"
fi

echo "1..$n"
exit $fail

#!/bin/sh
# make install honours PREFIX and DESTDIR, and an installed Pith is usable
# the documented way: cc prog.c $(pkg-config --cflags --libs pith), both
# against the shared library and statically.
BUILD=${BUILD:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "1..4"
if make -s install PREFIX=/opt/pith DESTDIR="$tmp/root" >"$tmp/log" 2>&1 &&
    [ -f "$tmp/root/opt/pith/include/pith/pith.h" ] &&
    [ -f "$tmp/root/opt/pith/include/pith/pith_sys.h" ] &&
    [ -f "$tmp/root/opt/pith/lib/libpith.a" ] &&
    [ -f "$tmp/root/opt/pith/lib/libpith.so.0" ] &&
    [ -f "$tmp/root/opt/pith/lib/pkgconfig/pith.pc" ] &&
    [ -f "$tmp/root/opt/pith/lib/pith/pith-kernel.elf" ] &&
    [ -f "$tmp/root/opt/pith/share/man/man3/pith.3" ]; then
	echo "ok 1 - make install PREFIX=/opt/pith DESTDIR=... installs headers, libraries, pith.pc, man page, the bare-metal kernel"
else
	echo "not ok 1 - make install"; sed 's/^/# /' "$tmp/log"
fi
export PKG_CONFIG_PATH="$tmp/root/opt/pith/lib/pkgconfig"
export PKG_CONFIG_SYSROOT_DIR="$tmp/root"
flags=$(pkg-config --cflags --libs pith 2>&1)
if ${CC:-cc} examples/hello.c $flags -o "$tmp/hello-shared" 2>"$tmp/err" &&
    LD_LIBRARY_PATH="$tmp/root/opt/pith/lib" "$tmp/hello-shared" >"$tmp/out" 2>&1 &&
    grep -q "kernel shut down" "$tmp/out"; then
	echo "ok 2 - cc prog.c \$(pkg-config --cflags --libs pith) builds and runs (shared)"
else
	echo "not ok 2 - shared build with pkg-config ($flags)"; sed 's/^/# /' "$tmp/err" "$tmp/out" 2>/dev/null
fi
if ${CC:-cc} -static examples/hello.c $(pkg-config --static --cflags --libs pith) -o "$tmp/hello-static" 2>"$tmp/err" &&
    "$tmp/hello-static" >"$tmp/out" 2>&1 && grep -q "kernel shut down" "$tmp/out"; then
	echo "ok 3 - static build with pkg-config --static runs"
else
	echo "not ok 3 - static build"; sed 's/^/# /' "$tmp/err"
fi
if make -s uninstall PREFIX=/opt/pith DESTDIR="$tmp/root" >/dev/null 2>&1 &&
    [ ! -e "$tmp/root/opt/pith/lib/libpith.a" ] && [ ! -e "$tmp/root/opt/pith/include/pith" ] &&
    [ ! -e "$tmp/root/opt/pith/lib/pith/pith-kernel.elf" ]; then
	echo "ok 4 - make uninstall removes what install put there"
else
	echo "not ok 4 - make uninstall"
fi

#!/bin/bash
# The anykernel check: the kernel object reaches its host only through
# hypercalls, and none of its names can collide with an application's or
# libc's.  Runs on the normal build (sanitizer builds add their runtime's
# symbols by design).
BUILD=${BUILD:-build}
K=$BUILD/kernel.o
. "$(dirname "$0")/tap.sh"

echo "1..6"
if [ ! -f "$K" ]; then
	for i in 1 2 3 4 5 6; do echo "not ok $i - $K missing: run make first"; done
	exit 1
fi

# 1. Undefined symbols: hypercalls only.  _GLOBAL_OFFSET_TABLE_ is the
# linker's own (position-independent code), not the host's.
bad=$(nm -u "$K" | awk '{print $NF}' | grep -v -E '^(hyp_[a-z0-9_]+|_GLOBAL_OFFSET_TABLE_)$')
if [ -z "$bad" ]; then ok "kernel's undefined symbols are hyp_* only"
else notok "kernel needs non-hypercall symbols" $bad; fi

# 2. Defined globals: the API (pith_*) or namespaced internals (pithk_*).
bad=$(nm -g --defined-only "$K" | awk '{print $NF}' | grep -v -E '^(pith_|pithk_)')
if [ -z "$bad" ]; then ok "kernel's global symbols are pith_* or pithk_*"
else notok "kernel exports unprefixed symbols" $bad; fi

# 3. No libc names exported bare.
bad=""
for s in memcpy memset strlen printf malloc free panic; do
	nm -g --defined-only "$K" | awk '{print $NF}' | grep -qx "$s" && bad="$bad $s"
done
if [ -z "$bad" ]; then ok "no bare libc names (memcpy, printf, malloc, panic...)"
else notok "bare libc names exported:$bad"; fi

# 4. Kernel sources include only the project's headers.
bad=$(grep -rn --include='*.c' --include='*.h' '#include <' sys | grep -v '#include <pith/hyp.h>')
if [ -z "$bad" ]; then ok "sys/ includes only project headers"
else notok "sys/ includes host headers" "$bad"; fi

# 5. An application with its own panic, memcpy, kprintf, vrele links the
# static library without clashes and still works.
tmp=$(mktemp -d)
cat > "$tmp/clash.c" <<'EOC'
#include <pith/pith.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
void panic(const char *m) { (void)m; }
int kprintf(const char *f, ...) { (void)f; return 0; }
void vrele(void *v) { (void)v; }
int kmem_alloc(int x) { return x; }
int cpu_enter(void) { return 0; }
int main(void) {
	char buf[4] = "";
	if (pith_init(NULL) != 0) return 1;
	int fd = pith_sys_open("/x", O_CREAT | O_RDWR, 0600);
	if (pith_sys_write(fd, "abc", 3) != 3) return 2;
	if (pith_sys_pread(fd, buf, 3, 0) != 3 || memcmp(buf, "abc", 3)) return 3;
	pith_sys_close(fd);
	pith_fini();
	puts("clash-ok");
	return 0;
}
EOC
if ${CC:-cc} -Iinclude -I$BUILD/include "$tmp/clash.c" -o "$tmp/clash" $BUILD/libpith.a -pthread 2>"$tmp/err" &&
    "$tmp/clash" 2>&1 | grep -q clash-ok; then
	ok "an application defining panic/kprintf/vrele/kmem_alloc links and runs"
else
	notok "application with colliding names fails" "$(cat "$tmp/err")"
fi
rm -rf "$tmp"

# 6. The shared library exports the API only.
bad=$(nm -D --defined-only "$BUILD/libpith.so.0" | awk '{print $NF}' | grep -v -E '^(pith_|PITH_)')
if [ -z "$bad" ]; then ok "libpith.so exports pith_* only"
else notok "libpith.so exports more than the API" $bad; fi
exit $fail

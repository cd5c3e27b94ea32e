# Pith.  `make` builds the kernel, the hosted library and the tools;
# `make check` runs every test tier the machine supports; `make bench` the
# figures.  Sources are found by wildcard: adding a file needs no edit here.
#
# The kernel (sys/) is compiled freestanding and linked into one
# relocatable object, build/kernel.o, whose global names are then
# namespaced (pithk_*) so that they cannot collide with an application's or
# libc's.  Every platform links that same object.

PREFIX ?= /usr/local
DESTDIR ?=
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man

CC ?= cc
LD ?= ld
OBJCOPY ?= objcopy
NM ?= nm
AR ?= ar

# SAN=1 builds everything with AddressSanitizer and UBSan into build-san/.
# FUZZ=1 (used by `make fuzz`) adds libFuzzer's coverage hooks, into
# build-fuzz/, with clang.
ifeq ($(FUZZ),1)
BUILD ?= build-fuzz
SANFLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -DPITH_SAN=1
else ifeq ($(SAN),1)
BUILD ?= build-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -DPITH_SAN=1
else
BUILD ?= build
SANFLAGS :=
endif

OPT ?= -O2
WARN := -Wall -Wextra -Wno-unused-parameter -Wshadow -Wstrict-prototypes -Wmissing-prototypes
COMMON := -std=gnu11 $(OPT) -g -fPIC -fno-common $(WARN) $(SANFLAGS)

# The kernel: freestanding, no host headers, no red zone and no SSE (so the
# same objects can run under interrupts on bare metal), hidden by default.
# Unwind tables stay, so a panic on the hosted platform prints a backtrace.
KCFLAGS := $(COMMON) -ffreestanding -nostdinc -fno-stack-protector \
	-fvisibility=hidden -mno-red-zone -mno-mmx -mno-sse -mno-sse2 \
	-fno-strict-aliasing \
	-Isys -Iinclude -I$(BUILD)
# Hosted platform, libraries, tools and tests: ordinary C against libc.
HCFLAGS := $(COMMON) -D_GNU_SOURCE -pthread -Iinclude -I$(BUILD)/include
HLDFLAGS := -pthread $(SANFLAGS)

KSRCS := $(shell find sys -name '*.c' | sort)
KOBJS := $(KSRCS:%.c=$(BUILD)/%.o) $(BUILD)/gen/sysent.o
PSRCS := $(wildcard platform/hosted/*.c)
POBJS := $(PSRCS:%.c=$(BUILD)/%.o)
# The deterministic test platform: hosted, with a clock the test moves.
TPOBJS := $(filter-out %/hyp_time.o,$(POBJS)) $(BUILD)/platform/test/hyp_time.o
LSRCS := $(wildcard lib/pith/*.c)
LOBJS := $(LSRCS:%.c=$(BUILD)/%.o) $(BUILD)/gen/wrappers.o

GEN := sys/syscall/gensyscalls.awk sys/syscall/syscalls.master
GENHDRS := $(BUILD)/gen/sysproto.h $(BUILD)/include/pith/pith_sys.h

LIBA := $(BUILD)/libpith.a
LIBSO := $(BUILD)/libpith.so.0
KERNEL := $(BUILD)/kernel.o

TSRCS_UNIT := $(wildcard tests/unit/*.c)
TSRCS_SYS := $(wildcard tests/sys/*.c)
TBINS := $(TSRCS_UNIT:tests/%.c=$(BUILD)/tests/%.t) $(TSRCS_SYS:tests/%.c=$(BUILD)/tests/%.t)
RENAME_SYMS = $(NM) $(1) | awk 'NF >= 2 && $$NF !~ /^(pith_|pithk_|hyp_|_GLOBAL_OFFSET_TABLE_|__asan|__ubsan|__sanitizer|__sancov|__start___sancov|__stop___sancov)/ && $$(NF-1) ~ /^[TDBRUVWCG]$$/ { print $$NF " pithk_" $$NF }' | sort -u
TSUPPORT := $(wildcard tests/lib/*.c)
TSUPOBJS := $(TSUPPORT:%.c=$(BUILD)/%.o)
BSRCS := $(wildcard bench/*.c)
BBINS := $(BSRCS:bench/%.c=$(BUILD)/bench/%)
EXAMPLES := $(patsubst examples/%.c,$(BUILD)/examples/%,$(wildcard examples/*.c))
# The pith command (tools/pith): libpith plus libfuse3 for `pith mount`.
PITHSRCS := $(wildcard tools/pith/*.c)
PITHOBJS := $(PITHSRCS:%.c=$(BUILD)/%.o)
PITHBIN := $(BUILD)/pith
FUSE_CFLAGS := $(shell pkg-config --cflags fuse3 2>/dev/null)
FUSE_LIBS := $(shell pkg-config --libs fuse3 2>/dev/null || echo -lfuse3)
# The server platform (issue 6): pithd, libpithclient and their tests.
CLIENTA := $(BUILD)/libpithclient.a
CLIENTSO := $(BUILD)/libpithclient.so.0
PITHD := $(BUILD)/pithd
PROTOOBJS := $(BUILD)/lib/pithclient/proto.o $(BUILD)/gen/remote.o
CLIENTOBJS := $(BUILD)/lib/pithclient/client.o $(PROTOOBJS) \
	$(BUILD)/gen/clientsys.o $(BUILD)/gen/wrappers.o $(BUILD)/lib/pith/wrap.o
PITHDOBJS := $(patsubst %.c,$(BUILD)/%.o,$(wildcard tools/pithd/*.c))
CLIENTTESTS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(wildcard tests/client/*.c))

all: $(KERNEL) $(LIBA) $(LIBSO) $(BUILD)/pith.pc $(EXAMPLES) $(PITHBIN) docs/syscalls.md
all: $(PITHD) $(CLIENTA) $(CLIENTSO) $(BUILD)/pithclient.pc

# --- generated from the system-call table --------------------------------
$(BUILD)/gen/sysproto.h: $(GEN)
	@mkdir -p $(@D)
	awk -F'\t' -v out=sysproto -f $(GEN) > $@.tmp && mv $@.tmp $@
$(BUILD)/gen/sysent.c: $(GEN)
	@mkdir -p $(@D)
	awk -F'\t' -v out=sysent -f $(GEN) > $@.tmp && mv $@.tmp $@
$(BUILD)/include/pith/pith_sys.h: $(GEN)
	@mkdir -p $(@D)
	awk -F'\t' -v out=pithsys -f $(GEN) > $@.tmp && mv $@.tmp $@
$(BUILD)/gen/wrappers.c: $(GEN)
	@mkdir -p $(@D)
	awk -F'\t' -v out=wrappers -f $(GEN) > $@.tmp && mv $@.tmp $@
docs/syscalls.md: $(GEN)
	awk -F'\t' -v out=doc -f $(GEN) > $@.tmp && mv $@.tmp $@

# --- the kernel -----------------------------------------------------------
$(BUILD)/sys/%.o: sys/%.c $(GENHDRS)
	@mkdir -p $(@D)
	$(CC) $(KCFLAGS) -MMD -MP -c $< -o $@
$(BUILD)/gen/sysent.o: $(BUILD)/gen/sysent.c $(GENHDRS)
	$(CC) $(KCFLAGS) -Isys -MMD -MP -c $< -o $@

# One relocatable object; every global that is not API (pith_*), a
# hypercall (hyp_*) or already namespaced gets the pithk_ prefix.
$(KERNEL): $(KOBJS) sys/kernel.ld
	$(LD) -r -T sys/kernel.ld -o $(BUILD)/kernel-raw.o $(KOBJS)
	$(call RENAME_SYMS,$(BUILD)/kernel-raw.o) > $(BUILD)/kernel.syms
	$(OBJCOPY) --redefine-syms=$(BUILD)/kernel.syms $(BUILD)/kernel-raw.o $@

# --- hosted platform and libraries ----------------------------------------
$(BUILD)/platform/%.o: platform/%.c include/pith/hyp.h platform/hosted/hosted.h
	@mkdir -p $(@D)
	$(CC) $(HCFLAGS) -MMD -MP -c $< -o $@
$(BUILD)/lib/%.o: lib/%.c $(GENHDRS)
	@mkdir -p $(@D)
	$(CC) $(HCFLAGS) -MMD -MP -c $< -o $@
$(BUILD)/gen/wrappers.o: $(BUILD)/gen/wrappers.c $(GENHDRS)
	$(CC) $(HCFLAGS) -MMD -MP -c $< -o $@

$(LIBA): $(KERNEL) $(POBJS) $(LOBJS)
	rm -f $@
	$(AR) rcs $@ $^
$(LIBSO): $(KERNEL) $(POBJS) $(LOBJS) lib/pith/libpith.map
	$(CC) -shared -Wl,-soname,libpith.so.0 -Wl,--version-script=lib/pith/libpith.map \
	    -o $@ $(KERNEL) $(POBJS) $(LOBJS) $(HLDFLAGS)
	ln -sf libpith.so.0 $(BUILD)/libpith.so

$(BUILD)/pith.pc: lib/pith/pith.pc.in Makefile
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|0.1.0|' $< > $@

# --- the pith command ----------------------------------------------------
$(BUILD)/tools/pith/%.o: tools/pith/%.c tools/pith/pith_tool.h $(GENHDRS)
	@mkdir -p $(@D)
	$(CC) $(HCFLAGS) $(FUSE_CFLAGS) -MMD -MP -c $< -o $@
$(PITHBIN): $(PITHOBJS) $(LIBA)
	$(CC) $(PITHOBJS) -o $@ $(LIBA) $(FUSE_LIBS) $(HLDFLAGS)

# --- the server platform: pithd and libpithclient (issue 6) --------------
# The client library is the in-process library's pith_sys_* wrappers
# (generated and hand-written, compiled once) over a pith_syscall6 that
# marshals to the server; it holds no kernel.
$(BUILD)/gen/remote.c: $(GEN)
	@mkdir -p $(@D)
	awk -F'\t' -v out=remote -f $(GEN) > $@.tmp && mv $@.tmp $@
$(BUILD)/gen/clientsys.c: $(GEN)
	@mkdir -p $(@D)
	awk -F'\t' -v out=clientsys -f $(GEN) > $@.tmp && mv $@.tmp $@
$(BUILD)/gen/remote.o: $(BUILD)/gen/remote.c lib/pithclient/proto.h
	$(CC) $(HCFLAGS) -Ilib -MMD -MP -c $< -o $@
$(BUILD)/gen/clientsys.o: $(BUILD)/gen/clientsys.c $(GENHDRS)
	$(CC) $(HCFLAGS) -MMD -MP -c $< -o $@
$(BUILD)/lib/pithclient/%.o: lib/pithclient/%.c $(GENHDRS)
	@mkdir -p $(@D)
	$(CC) $(HCFLAGS) -Ilib -MMD -MP -c $< -o $@
$(CLIENTA): $(CLIENTOBJS)
	rm -f $@
	$(AR) rcs $@ $^
$(CLIENTSO): $(CLIENTOBJS) lib/pithclient/libpithclient.map
	$(CC) -shared -Wl,-soname,libpithclient.so.0 \
	    -Wl,--version-script=lib/pithclient/libpithclient.map \
	    -o $@ $(CLIENTOBJS) $(HLDFLAGS)
	ln -sf libpithclient.so.0 $(BUILD)/libpithclient.so
$(BUILD)/pithclient.pc: lib/pithclient/pithclient.pc.in Makefile
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|0.1.0|' $< > $@
$(BUILD)/tools/pithd/%.o: tools/pithd/%.c tools/pithd/pithd.h lib/pithclient/proto.h $(GENHDRS)
	@mkdir -p $(@D)
	$(CC) $(HCFLAGS) -Ilib -MMD -MP -c $< -o $@
$(PITHD): $(PITHDOBJS) $(PROTOOBJS) $(LIBA)
	$(CC) $(PITHDOBJS) $(PROTOOBJS) -o $@ $(LIBA) $(HLDFLAGS)
$(BUILD)/tests/client/%: tests/client/%.c $(CLIENTA) include/pith/client.h
	@mkdir -p $(@D)
	$(CC) $(HCFLAGS) -Ilib $< -o $@ $(CLIENTA) $(HLDFLAGS)
tests: $(CLIENTTESTS)
# Programs that tests/scripts/shim_*.t run under pith exec: plain host
# programs, the shim is what they exercise.
SHIMTESTS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(wildcard tests/shim/*.c))
$(BUILD)/tests/shim/%: tests/shim/%.c
	@mkdir -p $(@D)
	$(CC) $(HCFLAGS) $< -o $@ $(HLDFLAGS)
tests: $(SHIMTESTS)
# The request decoder's fuzz target includes proto.c and the generated table.
$(BUILD)/tests/fuzz/proto_fuzz: HCFLAGS += -Ilib -I$(BUILD)
$(BUILD)/tests/fuzz/proto_fuzz: $(BUILD)/gen/remote.c lib/pithclient/proto.c lib/pithclient/proto.h

# --- bare metal (issue 5): `make metal` ------------------------------------
# build/metal/pith.elf: the very same kernel.o as libpith.a, linked with the
# bare-metal platform (platform/metal: multiboot entry, serial console,
# cooperative threads) and the self-test program, booted by
# `qemu-system-x86_64 -kernel`.  Not part of `all`; tests/scripts/
# metal_boot.t builds and boots it when QEMU is installed.
METAL := $(BUILD)/metal
MCFLAGS := -std=gnu11 $(OPT) -g -fno-pic -fno-pie -mcmodel=small \
	-ffreestanding -nostdinc -fno-stack-protector -fno-builtin \
	-mno-red-zone -mno-mmx -mno-sse -mno-sse2 -fno-common $(WARN) \
	-Iinclude -Iplatform/metal -I$(METAL)
METALOBJS := $(patsubst platform/metal/%.c,$(METAL)/%.o,$(wildcard platform/metal/*.c)) \
	$(patsubst platform/metal/%.S,$(METAL)/%.o,$(wildcard platform/metal/*.S))
$(METAL)/%.o: platform/metal/%.c platform/metal/metal.h platform/metal/uproc.h include/pith/hyp.h
	@mkdir -p $(@D)
	$(CC) $(MCFLAGS) -c $< -o $@
$(METAL)/ucheck.h: sys/syscall/syscalls.master platform/metal/genucheck.awk
	@mkdir -p $(@D)
	awk -f platform/metal/genucheck.awk sys/syscall/syscalls.master >$@
$(METAL)/abi.o: $(METAL)/ucheck.h platform/metal/asmoff.h
$(METAL)/entry.o: platform/metal/asmoff.h
$(METAL)/%.o: platform/metal/%.S
	@mkdir -p $(@D)
	$(CC) $(MCFLAGS) -c $< -o $@
$(METAL)/selftest.o: tests/metal/selftest.c tests/metal/mout.h include/pith/hyp.h
	@mkdir -p $(@D)
	$(CC) $(MCFLAGS) -c $< -o $@
# Each image is linked twice: the second link adds the symbol table for
# panic backtraces (platform/metal/mksyms.sh), which moves no text.
METALLD = $(LD) -static -nostdlib -z max-page-size=0x1000 -z noexecstack \
	-T platform/metal/metal.ld
define metal_link
	$(METALLD) -o $@.pass1 $(1)
	NM=$(NM) sh platform/metal/mksyms.sh $@.pass1 >$@.syms.S
	$(CC) -c $@.syms.S -o $@.syms.o
	$(METALLD) -o $@ $(1) $@.syms.o
	@rm -f $@.pass1 $@.syms.S $@.syms.o
endef
$(METAL)/pith.elf: $(KERNEL) $(METALOBJS) $(METAL)/selftest.o platform/metal/metal.ld platform/metal/mksyms.sh
	$(call metal_link,$(METALOBJS) $(METAL)/selftest.o $(KERNEL))
# build/metal/pith-kernel.elf: the same without the self-test; it runs the
# static Linux program given as multiboot module 0 (QEMU -initrd) in user
# mode (platform/metal/README.md).
$(METAL)/pith-kernel.elf: $(KERNEL) $(METALOBJS) platform/metal/metal.ld platform/metal/mksyms.sh
	$(call metal_link,$(METALOBJS) $(KERNEL))
# devtest.elf: the same platform with the device test program
# (tests/metal/devtest.c), booted with virtio disks by metal_dev.t.
$(METAL)/devtest.o: tests/metal/devtest.c tests/metal/mout.h include/pith/hyp.h
	@mkdir -p $(@D)
	$(CC) $(MCFLAGS) -c $< -o $@
$(METAL)/devtest.elf: $(KERNEL) $(METALOBJS) $(METAL)/devtest.o platform/metal/metal.ld platform/metal/mksyms.sh
	$(call metal_link,$(METALOBJS) $(METAL)/devtest.o $(KERNEL))
metal: $(METAL)/pith.elf $(METAL)/pith-kernel.elf $(METAL)/devtest.elf
# `pith run` finds the installed image in $(LIBDIR)/pith/.
install: install-metal
install-metal: $(METAL)/pith-kernel.elf
	install -d $(DESTDIR)$(LIBDIR)/pith
	install -m 644 $(METAL)/pith-kernel.elf $(DESTDIR)$(LIBDIR)/pith/pith-kernel.elf
uninstall: uninstall-metal
uninstall-metal:
	rm -f $(DESTDIR)$(LIBDIR)/pith/pith-kernel.elf
	-rmdir $(DESTDIR)$(LIBDIR)/pith 2>/dev/null
.PHONY: metal install-metal uninstall-metal
# bootargs-probe.elf: the platform with tests/metal/bootargs_probe.c in
# the self-test's place; it prints what the boot arguments gave it, for
# tests/scripts/metal_run_cli.t to check `pith run` and `pith bake`.
$(METAL)/bootargs_probe.o: tests/metal/bootargs_probe.c platform/metal/metal.h include/pith/hyp.h
	@mkdir -p $(@D)
	$(CC) $(MCFLAGS) -c $< -o $@
$(METAL)/bootargs-probe.elf: $(KERNEL) $(METALOBJS) $(METAL)/bootargs_probe.o platform/metal/metal.ld platform/metal/mksyms.sh
	$(call metal_link,$(METALOBJS) $(METAL)/bootargs_probe.o $(KERNEL))
metal-probe: $(METAL)/bootargs-probe.elf
.PHONY: metal-probe
# The boot arguments' parser and cpio unpacker (platform/metal/bootparse.c)
# also compile hosted: their test drives them against libpith.
$(BUILD)/tests/sys/metal_bootparse_test.t: tests/sys/metal_bootparse_test.c \
    platform/metal/bootparse.c platform/metal/bootparse.h $(LIBA) $(TSUPOBJS)
	@mkdir -p $(@D)
	$(CC) $(HCFLAGS) -Itests -Iplatform/metal $< platform/metal/bootparse.c \
	    -o $@ $(TSUPOBJS) $(LIBA) $(HLDFLAGS)
# --- end of bare metal ----------------------------------------------------

# --- libpithshim: unmodified programs on pithd via LD_PRELOAD (issue 6) ---
# The shim exports only the libc names it replaces (-fvisibility=hidden,
# SHIM_EXPORT); libpithclient.a is linked in with its names hidden
# (--exclude-libs) so they never meet the program's.  Not built with
# sanitizers: a preloaded ASan library would need the runtime first.
SHIMSO := $(BUILD)/libpithshim.so
SHIMOBJS := $(patsubst %.c,$(BUILD)/%.o,$(wildcard lib/pithshim/*.c))
ifeq ($(SANFLAGS),)
all: $(SHIMSO)
endif
$(BUILD)/lib/pithshim/%.o: lib/pithshim/%.c lib/pithshim/shim.h $(GENHDRS)
	@mkdir -p $(@D)
	$(CC) $(HCFLAGS) -fvisibility=hidden -MMD -MP -c $< -o $@
$(SHIMSO): $(SHIMOBJS) $(CLIENTA)
	$(CC) -shared -Wl,-soname,libpithshim.so -Wl,--exclude-libs,ALL \
	    -o $@ $(SHIMOBJS) $(CLIENTA) -ldl $(HLDFLAGS)
$(BUILD)/tools/pith/cmd_exec.o: HCFLAGS += -DPITH_LIBDIR='"$(LIBDIR)"'
install: install-shim
install-shim: all
	install -d $(DESTDIR)$(LIBDIR)
	install -m 755 $(SHIMSO) $(DESTDIR)$(LIBDIR)/libpithshim.so
uninstall: uninstall-shim
uninstall-shim:
	rm -f $(DESTDIR)$(LIBDIR)/libpithshim.so
.PHONY: install-shim uninstall-shim
# pithload: static programs under pith exec (syscall user dispatch); it
# lives next to the shim.  No stack protector: its SIGSYS handler starts
# on the program's thread pointer.
PITHLOAD := $(BUILD)/pithload
ifeq ($(SANFLAGS),)
all: $(PITHLOAD)
endif
$(BUILD)/tools/pithload/%.o: tools/pithload/%.c
	@mkdir -p $(@D)
	$(CC) $(HCFLAGS) -fno-stack-protector -MMD -MP -c $< -o $@
$(PITHLOAD): $(BUILD)/tools/pithload/pithload.o
	$(CC) -o $@ $^ $(HLDFLAGS)
install-shim: install-pithload
install-pithload: all
	install -d $(DESTDIR)$(LIBDIR)
	install -m 755 $(PITHLOAD) $(DESTDIR)$(LIBDIR)/pithload
uninstall-shim: uninstall-pithload
uninstall-pithload:
	rm -f $(DESTDIR)$(LIBDIR)/pithload
.PHONY: install-pithload uninstall-pithload
# --- end of libpithshim ---------------------------------------------------

# --- examples, tests, benchmarks -----------------------------------------
$(BUILD)/examples/%: examples/%.c $(LIBA)
	@mkdir -p $(@D)
	$(CC) $(HCFLAGS) $< -o $@ $(LIBA) $(HLDFLAGS)

$(BUILD)/tests/lib/%.o: tests/lib/%.c $(GENHDRS)
	@mkdir -p $(@D)
	$(CC) $(HCFLAGS) -Itests -MMD -MP -c $< -o $@
# A unit test is kernel code: compiled like the kernel, linked into its own
# copy of the kernel object, driven by a small host main.
$(BUILD)/tests/unit/%.ko: tests/unit/%.c $(GENHDRS)
	@mkdir -p $(@D)
	$(CC) $(KCFLAGS) -Itests -MMD -MP -c $< -o $@
$(BUILD)/tests/unit/%.t: $(BUILD)/tests/unit/%.ko $(KOBJS) $(TPOBJS) $(LOBJS) tests/unitmain/main.c
	$(LD) -r -T sys/kernel.ld -o $@.raw.o $(KOBJS) $<
	$(call RENAME_SYMS,$@.raw.o) > $@.syms
	$(OBJCOPY) --redefine-syms=$@.syms $@.raw.o $@.o
	$(CC) $(HCFLAGS) tests/unitmain/main.c $@.o $(TPOBJS) $(LOBJS) -o $@ $(HLDFLAGS)
	rm -f $@.raw.o $@.syms

$(BUILD)/tests/sys/%.t: tests/sys/%.c $(LIBA) $(TSUPOBJS)
	@mkdir -p $(@D)
	$(CC) $(HCFLAGS) -Itests -MMD -MP $< -o $@ $(TSUPOBJS) $(LIBA) $(HLDFLAGS)

$(BUILD)/bench/%: bench/%.c $(LIBA)
	@mkdir -p $(@D)
	$(CC) $(HCFLAGS) $< -o $@ $(LIBA) $(HLDFLAGS)

# The main job: build, then boot a kernel in a program and show what it did.
run: all
	$(BUILD)/examples/hello
	sh examples/image.sh $(BUILD)

tests: $(TBINS)

# make check: the normal build and the sanitizer build, every tier.
NPROC := $(shell nproc 2>/dev/null || echo 2)
check:
	$(MAKE) -j$(NPROC) all tests
	$(MAKE) -j$(NPROC) SAN=1 tests
	if command -v clang >/dev/null; then $(MAKE) -j$(NPROC) CC=clang BUILD=build-clang all; fi
	BUILD=$(BUILD) prove --exec '' -r --timer tests/scripts build/tests build-san/tests

# make fuzz: the libFuzzer targets (tests/fuzz/*.c), kernel and platform
# built with the same coverage and sanitizer flags.
FUZZSRCS := $(wildcard tests/fuzz/*.c)
fuzz:
	$(MAKE) FUZZ=1 CC=clang BUILD=build-fuzz $(FUZZSRCS:tests/fuzz/%.c=build-fuzz/tests/fuzz/%)
$(BUILD)/tests/fuzz/%: tests/fuzz/%.c $(LIBA)
	@mkdir -p $(@D)
	$(CC) $(HCFLAGS) -fsanitize=fuzzer $< -o $@ $(LIBA) $(HLDFLAGS) -fsanitize=fuzzer

# The server platform's figures: linked with libpithclient, not libpith.
$(BUILD)/bench/pithd_bench: bench/pithd/pithd_bench.c bench/bench.h $(CLIENTA) include/pith/client.h
	@mkdir -p $(@D)
	$(CC) $(HCFLAGS) -Ilib $< -o $@ $(CLIENTA) $(HLDFLAGS)
bench: $(BUILD)/bench/pithd_bench
bench: all $(BBINS)
	BUILD=$(BUILD) bench/run.sh

# --- install --------------------------------------------------------------
install: all
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR)/pith $(DESTDIR)$(MANDIR)/man3
	install -m 644 $(LIBA) $(DESTDIR)$(LIBDIR)/libpith.a
	install -m 755 $(LIBSO) $(DESTDIR)$(LIBDIR)/libpith.so.0
	ln -sf libpith.so.0 $(DESTDIR)$(LIBDIR)/libpith.so
	install -m 644 include/pith/pith.h include/pith/hyp.h $(BUILD)/include/pith/pith_sys.h $(DESTDIR)$(INCLUDEDIR)/pith/
	# pith.pc is written for the PREFIX of this install, not of the build.
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|0.1.0|' \
	    lib/pith/pith.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/pith.pc
	chmod 644 $(DESTDIR)$(LIBDIR)/pkgconfig/pith.pc
	install -m 644 docs/man/*.3 $(DESTDIR)$(MANDIR)/man3/
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(MANDIR)/man1
	install -m 755 $(PITHBIN) $(DESTDIR)$(PREFIX)/bin/pith
	install -m 644 docs/man/pith.1 $(DESTDIR)$(MANDIR)/man1/pith.1
	install -m 644 $(CLIENTA) $(DESTDIR)$(LIBDIR)/libpithclient.a
	install -m 755 $(CLIENTSO) $(DESTDIR)$(LIBDIR)/libpithclient.so.0
	ln -sf libpithclient.so.0 $(DESTDIR)$(LIBDIR)/libpithclient.so
	install -m 644 include/pith/client.h $(DESTDIR)$(INCLUDEDIR)/pith/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|0.1.0|' \
	    lib/pithclient/pithclient.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/pithclient.pc
	install -m 755 $(PITHD) $(DESTDIR)$(PREFIX)/bin/pithd

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libpith.a $(DESTDIR)$(LIBDIR)/libpith.so.0 $(DESTDIR)$(LIBDIR)/libpith.so
	rm -rf $(DESTDIR)$(INCLUDEDIR)/pith
	rm -f $(DESTDIR)$(LIBDIR)/pkgconfig/pith.pc
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man3/,$(notdir $(wildcard docs/man/*.3)))
	rm -f $(DESTDIR)$(PREFIX)/bin/pith $(DESTDIR)$(MANDIR)/man1/pith.1
	rm -f $(DESTDIR)$(LIBDIR)/libpithclient.a $(DESTDIR)$(LIBDIR)/libpithclient.so.0 $(DESTDIR)$(LIBDIR)/libpithclient.so
	rm -f $(DESTDIR)$(LIBDIR)/pkgconfig/pithclient.pc $(DESTDIR)$(PREFIX)/bin/pithd

clean:
	rm -rf build build-san build-clang build-fuzz

.PHONY: all run tests check bench fuzz install uninstall clean
.SECONDARY:

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

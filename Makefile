# SPDX-License-Identifier: MIT
# minit: one non-recursive GNU Makefile. Output goes to $(O) (build/,
# build-asan/, build-static/), never next to the sources.

VERSION     := 0.1.0
O           ?= build
CC          ?= cc
PKG_CONFIG  ?= pkg-config
PREFIX      ?= /usr/local
SBINDIR     ?= $(PREFIX)/sbin
DESTDIR     ?=
LIBEV_CFLAGS ?=
# libev, inih, libcap and libseccomp are linked from their Debian .a
# files, so each start maps four fewer shared objects (loader time, ~8 kB
# of private relocation pages each). SHARED_LIBS=1 links the .so files.
ifeq ($(SHARED_LIBS),1)
LIBEV_LIBS  ?= -lev -lm
INIH_LIBS   ?= $(shell $(PKG_CONFIG) --libs inih 2>/dev/null)
else
LIBEV_LIBS  ?= -Wl,-Bstatic -lev -Wl,-Bdynamic -lm
INIH_LIBS   ?= -Wl,-Bstatic $(shell $(PKG_CONFIG) --libs inih libcap libseccomp 2>/dev/null) \
	-Wl,-Bdynamic
endif
PKGS        := libcap libseccomp inih
ifeq ($(SHARED_LIBS),1)
PKGS_SHARED := libcap libseccomp
else
PKGS_SHARED :=
endif
PYTHON      ?= python3
BENCH_ARGS  ?=

ifeq ($(V),1)
Q :=
else
Q := @
endif

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
	-Wswitch-enum -Wundef -Wvla -Werror=implicit-function-declaration \
	-Werror=incompatible-pointer-types -Werror=format-security
ifeq ($(WERROR),1)
WARN += -Werror
endif
OPT ?= -O2 -g
BASE_CFLAGS := -std=gnu11 -D_GNU_SOURCE -I. -fno-common -fstack-protector-strong \
	-D_FORTIFY_SOURCE=2 -DMINIT_VERSION='"$(VERSION)"' $(WARN) $(OPT)
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell $(PKG_CONFIG) --libs $(PKGS_SHARED) 2>/dev/null) $(INIH_LIBS)
ALL_CFLAGS = $(BASE_CFLAGS) $(PKG_CFLAGS) $(LIBEV_CFLAGS) $(MODE_CFLAGS) $(CFLAGS) $(CFLAGS_EXTRA)
ALL_LDFLAGS = -Wl,-z,relro,-z,now -Wl,--as-needed $(MODE_LDFLAGS) $(LDFLAGS)
LIBS = $(LIBEV_LIBS) $(PKG_LIBS)

# Sources, written out.
BASE_SRCS  := init/err.c init/log.c init/sys.c
INIT_SRCS  := init/main.c init/opts.c init/parse.c init/signals.c init/pid1.c \
	init/services.c init/config.c init/config_build.c init/config_keys.c \
	init/config_value.c init/passwd.c init/ctl.c init/container.c init/run.c
SV_SRCS    := supervisor/spawn.c supervisor/child.c supervisor/fsm.c supervisor/service.c \
	supervisor/run.c supervisor/ready.c supervisor/model.c supervisor/output.c \
	supervisor/control.c supervisor/cgroup.c
CG_SRCS    := cgroupfs/cgroup.c cgroupfs/discover.c cgroupfs/events.c cgroupfs/freeze.c \
	cgroupfs/io.c cgroupfs/kill.c cgroupfs/layout.c cgroupfs/limits.c cgroupfs/mountinfo.c \
	cgroupfs/parse.c
NS_SRCS    := ns/caps.c ns/seccomp.c ns/container.c ns/mounts.c
SRCS       := $(BASE_SRCS) $(INIT_SRCS) $(SV_SRCS) $(CG_SRCS) $(NS_SRCS)
OBJS       := $(SRCS:%.c=$(O)/%.o)

UNIT_TESTS := test_init_parse test_init_opts test_base_log test_sv_fsm test_sv_model \
	test_init_config test_sv_output test_sv_control test_cg_parse test_cg_live test_ns_privs
UNIT_BINS  := $(UNIT_TESTS:%=$(O)/tests/unit/%)
HELPER     := $(O)/tests/helper/minit-helper

.DELETE_ON_ERROR:
.PHONY: all check check-unit check-blackbox install static asan deps clean format \
	format-check lint bench bench-container demo rootfs tests

all: $(O)/minit

$(O)/minit: $(OBJS)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $(OBJS) $(LIBS)

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

# The default seccomp profile is compiled by libseccomp at build time, by
# ns/seccomp.c itself built as a generator; the real ns/seccomp.o includes
# the result ($(O)/ns/seccomp_default.h).
GEN_SECCOMP := $(O)/tools/gen-seccomp
$(GEN_SECCOMP): tools/gen-seccomp.c ns/seccomp.c ns/ns.h $(BASE_SRCS:%.c=$(O)/%.o)
	@mkdir -p $(dir $@)
	@echo "  GEN     $@"
	$(Q)$(CC) $(ALL_CFLAGS) -DNS_SECCOMP_GENERATOR $(ALL_LDFLAGS) -o $@ tools/gen-seccomp.c \
		ns/seccomp.c $(BASE_SRCS:%.c=$(O)/%.o) \
		$$($(PKG_CONFIG) --libs libseccomp) $(if $(findstring -static,$(MODE_LDFLAGS)),,)
$(O)/ns/seccomp_default.h: $(GEN_SECCOMP)
	$(Q)$(GEN_SECCOMP) > $@.tmp && mv $@.tmp $@
$(O)/ns/seccomp.o: $(O)/ns/seccomp_default.h
$(O)/ns/seccomp.o: ALL_CFLAGS += -I$(O)

# Unit tests link the objects of the module they test.
UNIT_OBJS := $(filter-out $(O)/init/main.o,$(OBJS))
$(O)/tests/unit/%: tests/unit/%.c tests/tap.h $(UNIT_OBJS)
	@mkdir -p $(dir $@)
	@echo "  TEST    $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(UNIT_OBJS) $(LIBS)

# The control socket test links the fake supervisor, not the real one.
CTL_TEST_OBJS := $(O)/supervisor/control.o $(O)/init/ctl.o $(O)/init/parse.o \
	$(BASE_SRCS:%.c=$(O)/%.o)
$(O)/tests/unit/test_sv_control: tests/unit/test_sv_control.c tests/fakes/fake_sv.c tests/tap.h \
		$(CTL_TEST_OBJS)
	@mkdir -p $(dir $@)
	@echo "  TEST    $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< tests/fakes/fake_sv.c $(CTL_TEST_OBJS) $(LIBS)

# The payload helper is static so that it runs in any rootfs.
$(HELPER): tests/helper/minit-helper.c
	@mkdir -p $(dir $@)
	@echo "  HELPER  $@"
	$(Q)$(CC) -std=gnu11 -D_GNU_SOURCE -O2 -Wall -Wextra -static -o $@ $<

tests: $(O)/minit $(UNIT_BINS) $(HELPER) rootfs

check: tests
	$(Q)MINIT=$(CURDIR)/$(O)/minit HELPER=$(CURDIR)/$(HELPER) ROOTFS=$(abspath $(ROOTFS)) O=$(O) sh tests/run.sh

check-unit: $(UNIT_BINS)
	$(Q)O=$(O) sh tests/run.sh unit

check-blackbox: $(O)/minit $(HELPER) rootfs
	$(Q)MINIT=$(CURDIR)/$(O)/minit HELPER=$(CURDIR)/$(HELPER) ROOTFS=$(abspath $(ROOTFS)) O=$(O) sh tests/run.sh blackbox

install: $(O)/minit
	install -D -m 0755 $(O)/minit $(DESTDIR)$(SBINDIR)/minit

# A fully static binary, checked as catatonit's CI does.
static:
	$(Q)$(MAKE) --no-print-directory O=build-static MODE_LDFLAGS="-static -s -Wl,--gc-sections" \
		OPT="-O2 -ffunction-sections -fdata-sections" \
		LIBEV_LIBS="-lev -lm" INIH_LIBS= \
		PKG_LIBS="$$($(PKG_CONFIG) --static --libs $(PKGS))" build-static/minit
	$(Q)file build-static/minit | grep -q 'statically linked' || \
		{ echo "build-static/minit is not statically linked"; exit 1; }
	@ls -l build-static/minit

asan:
	$(Q)$(MAKE) --no-print-directory O=build-asan OPT="-O1 -g" \
		MODE_CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
		MODE_LDFLAGS="-fsanitize=address,undefined" \
		check ASAN_OPTIONS=detect_leaks=0

# Debian packages for the build, the tests and the benchmarks. Idempotent.
DEB_PKGS := build-essential pkg-config libev-dev libcap-dev libseccomp-dev libinih-dev \
	busybox-static python3 file util-linux procps iproute2 tini dumb-init catatonit s6 \
	runit supervisor bubblewrap runc crun hyperfine strace valgrind
deps:
	@missing=$$(for p in $(DEB_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# A busybox rootfs for --new-container (tests, demo, bench).
ROOTFS ?= $(O)/rootfs
rootfs: $(ROOTFS)/bin/busybox
$(ROOTFS)/bin/busybox: examples/mkrootfs.sh
	$(Q)sh examples/mkrootfs.sh $(ROOTFS)

demo: $(O)/minit
	$(Q)sh examples/demo.sh $(O)/minit

bench: $(O)/minit static $(HELPER)
	$(Q)$(PYTHON) bench/bench.py --minit $(O)/minit --minit-static build-static/minit --helper $(HELPER) $(BENCH_ARGS)

# Job 3 beside bwrap, unshare+chroot, chroot, runc and crun (root).
bench-container: $(O)/minit static rootfs
	$(Q)$(PYTHON) bench/container.py --minit $(O)/minit --minit-static build-static/minit \
		--rootfs $(ROOTFS) $(BENCH_ARGS)

FORMAT_FILES = $(wildcard tools/*.c init/*.[ch] supervisor/*.[ch] cgroupfs/*.[ch] ns/*.[ch] tests/*.h tests/unit/*.c tests/helper/*.c tests/fakes/*.c)
format:
	clang-format -i $(FORMAT_FILES)
format-check:
	clang-format --dry-run -Werror $(FORMAT_FILES)
lint: format-check
	$(Q)sh tests/lint.sh

clean:
	rm -rf build build-asan build-static

-include $(OBJS:.o=.d)

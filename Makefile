# csock: build, test and demo.
#
#   make all          (the default) libcsock, shared and static, in $(BUILD)/lib; the header;
#                     the examples; the man pages
#   make lib          the libraries only
#   make test         every test: Rust unit tests, lints, checks, C tests (TAP, via prove), ...
#   make cargo-test   the Rust unit tests
#   make lint         cargo fmt --check and clippy with -D warnings
#   make check        header, ABI, build, install and man page checks (see mk/check.mk)
#   make c-test       the C tests of c-tests/, under prove
#   make examples     build examples/*.c
#   make demo         build and run examples/demo.c
#   make help         every target and what it does
#   make clean        remove $(BUILD) and cargo's target directory
#
# Areas add their own targets in mk/*.mk (included below) and append to TEST_TARGETS.
#
# Out of tree: BUILD (default `build`) is where everything this Makefile makes goes, and
# CARGO_TARGET_DIR (default `target` in the source tree) is cargo's. `make -f /src/Makefile` or
# `make -C /src` from anywhere work; run from another directory, the build directory is
# ./build there (or BUILD, taken relative to the directory make was started in). The source tree
# is only read: a read-only checkout builds with BUILD and CARGO_TARGET_DIR outside it.

SRCDIR := $(patsubst %/,%,$(dir $(realpath $(firstword $(MAKEFILE_LIST)))))
BUILD  ?= build

ifneq ($(realpath $(CURDIR)),$(SRCDIR))
# Started from another directory: run again in the source tree, with the build directories made
# absolute from here, so every recipe below can name the sources by their relative paths.
export CARGO_TARGET_DIR := $(abspath $(or $(CARGO_TARGET_DIR),$(SRCDIR)/target))
.PHONY: __from-elsewhere $(MAKECMDGOALS)
__from-elsewhere:
	+@$(MAKE) --no-print-directory -C $(SRCDIR) -f Makefile BUILD=$(abspath $(BUILD)) $(MAKECMDGOALS)
$(filter-out __from-elsewhere,$(MAKECMDGOALS)): __from-elsewhere ; @:
else

CARGO    ?= cargo
CC       ?= cc
PROVE    ?= prove
PYTHON   ?= python3
STRIP    ?= strip

VERSION  := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
MAJOR    := $(word 1,$(subst ., ,$(VERSION)))
MINOR    := $(word 2,$(subst ., ,$(VERSION)))

# cargo's own output directory: CARGO_TARGET_DIR if set (an absolute path, or one relative to
# the source tree), else target/ in the source tree.
export CARGO_TARGET_DIR ?= $(CURDIR)/target
LIBOUT   := $(BUILD)/lib
RUSTOUT  := $(CARGO_TARGET_DIR)/release
SONAME   := libcsock.so.$(MAJOR)
REALNAME := libcsock.so.$(VERSION)
# The ELF symbol versions of the shared library (see the file).
VERSION_SCRIPT := abi/csock.map
# What a program linking libcsock.a needs besides it, as rustc printed it when it built the
# archive (`--print native-static-libs`), kept for the shared library's link, csock.pc's
# Libs.private and the CMake package. Written by `make lib`, only read by `make install`.
NATIVE_LIBS := $(BUILD)/native-static-libs

CFLAGS   ?= -O2 -g
CSTD     := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror
CPPFLAGS += -Iinclude
LINK     := -L$(LIBOUT) -Wl,-rpath,$(abspath $(LIBOUT)) -lcsock -lpthread
# The shared library's link: every object of libcsock.a (--whole-archive), with the version
# script, and nothing of Rust's standard library that the csock_ functions do not reach.
SHLIB_LDFLAGS := -shared -Wl,-soname,$(SONAME) -Wl,--version-script=$(VERSION_SCRIPT) \
                 -Wl,--gc-sections -Wl,--as-needed -Wl,-z,relro,-z,now -Wl,-z,noexecstack

C_TESTS  := $(patsubst c-tests/%.c,$(BUILD)/c-tests/%,$(wildcard c-tests/*.c))
EXAMPLES := $(patsubst examples/%.c,$(BUILD)/examples/%,$(wildcard examples/*.c))

TEST_TARGETS := cargo-test lint check c-test

.PHONY: all lib test demo clean cargo-test lint check check-header c-test examples help

all: lib examples

# Copies $(1) to $(2) when they differ, atomically (rename), so a concurrent reader never sees
# half a library.
stage = cmp -s $(1) $(2) || { cp $(1) $(2).tmp.$$$$ && mv -f $(2).tmp.$$$$ $(2); }

# cargo decides whether anything changed (rustc's note is replayed when nothing did); the steps
# below only follow its output: libcsock.a is staged, without debug info (the precompiled core's
# would make it megabytes), when it changed, and the shared library is linked from it again
# when it, the version script or the native libraries are newer.
lib:
	@mkdir -p $(LIBOUT)
	@$(CARGO) rustc --release --quiet --lib -- --print native-static-libs \
	    2>$(BUILD)/.cargo.log.$$$$; status=$$?; \
	  grep -v -e '^note: link against the following native artifacts' \
	    -e '^note: native-static-libs: ' -e '^$$' $(BUILD)/.cargo.log.$$$$ >&2; \
	  sed -n 's/^note: native-static-libs: //p' $(BUILD)/.cargo.log.$$$$ | tail -n 1 \
	    >$(BUILD)/.native.$$$$; rm -f $(BUILD)/.cargo.log.$$$$; \
	  test $$status = 0 && test -s $(BUILD)/.native.$$$$ || { rm -f $(BUILD)/.native.$$$$; \
	    test $$status != 0 || echo "no native-static-libs note from rustc" >&2; exit 1; }; \
	  $(call stage,$(BUILD)/.native.$$$$,$(NATIVE_LIBS)); status=$$?; \
	  rm -f $(BUILD)/.native.$$$$; exit $$status
	@$(STRIP) --strip-debug -o $(BUILD)/libcsock.a.nodebug $(RUSTOUT)/libcsock.a
	@$(call stage,$(BUILD)/libcsock.a.nodebug,$(LIBOUT)/libcsock.a)
	@so=$(LIBOUT)/$(REALNAME); \
	  if [ ! -e $$so ] || [ $(LIBOUT)/libcsock.a -nt $$so ] || [ $(VERSION_SCRIPT) -nt $$so ] || \
	     [ $(NATIVE_LIBS) -nt $$so ]; then \
	    echo "  LINK    $$so"; \
	    $(CC) $(SHLIB_LDFLAGS) $(LDFLAGS) -o $$so.tmp.$$$$ \
	      -Wl,--whole-archive $(LIBOUT)/libcsock.a -Wl,--no-whole-archive \
	      $$(cat $(NATIVE_LIBS)) && mv -f $$so.tmp.$$$$ $$so || { rm -f $$so.tmp.$$$$; exit 1; }; \
	  fi
	@ln -sfn $(REALNAME) $(LIBOUT)/$(SONAME)
	@ln -sfn $(SONAME) $(LIBOUT)/libcsock.so

$(LIBOUT)/$(REALNAME): lib

# Every C program of the project (c-tests/, examples/, tests/, bench/) builds the same way,
# linked against the shared library by its soname: X.c -> $(BUILD)/X.
$(BUILD)/%: %.c include/csock.h $(LIBOUT)/$(REALNAME)
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(CFLAGS) $(CPPFLAGS) $< -o $@ $(LINK)

$(C_TESTS): c-tests/tap.h c-tests/seccomp.h c-tests/interrupt.h c-tests/inherit.h

examples: lib $(EXAMPLES)

demo: lib $(BUILD)/examples/demo
	@$(BUILD)/examples/demo

cargo-test:
	$(CARGO) test --quiet

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --quiet --all-targets --all-features -- -D warnings

# The committed header must be exactly what cbindgen generates from the sources.
check-header: lib
	@if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
	  git diff --exit-code --stat -- include/csock.h || { \
	    echo "include/csock.h is stale: commit the header cbindgen generated"; exit 1; }; \
	else echo "check-header: not a git checkout, skipped"; fi

check: check-header

c-test: lib $(C_TESTS)
	$(PROVE) --exec '' $(C_TESTS)

include $(wildcard mk/*.mk)

test: $(TEST_TARGETS)

# One entry per target, from the `#   make TARGET   what it does` comments (and their indented
# continuation lines) of this file and mk/*.mk.
help:
	@awk 'FNR == 1 { t = "" } \
	  /^#   make [a-z][-a-z0-9]* +[^ ]/ { t = $$3; if (!(t in d)) order[++n] = t; \
	    sub(/^#   make [a-z][-a-z0-9]* +/, ""); d[t] = d[t] (d[t] == "" ? "" : "; ") $$0; next } \
	  t != "" && /^#      +[^ ]/ { sub(/^# +/, ""); d[t] = d[t] " " $$0; next } { t = "" } \
	  END { for (i = 1; i <= n; i++) { printf "make %s\n", order[i]; \
	    cmd = "fold -s -w 92 | sed \"s/^/        /\""; print d[order[i]] | cmd; close(cmd) } }' \
	  Makefile $(wildcard mk/*.mk)

clean:
	$(CARGO) clean --quiet
	rm -rf $(BUILD)

endif

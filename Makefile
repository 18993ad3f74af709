# csock: build, test and demo.
#
#   make          build libcsock (shared + static) into build/lib, and the header
#   make test     every test: Rust unit tests, lints, header check, C tests (TAP, via prove), ...
#   make demo     build and run examples/demo.c
#   make clean
#
# Areas add their own targets in mk/*.mk (included below) and append to TEST_TARGETS.

CARGO    ?= cargo
CC       ?= cc
PROVE    ?= prove
PYTHON   ?= python3
STRIP    ?= strip

VERSION  := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
MAJOR    := $(word 1,$(subst ., ,$(VERSION)))

BUILD    := build
LIBOUT   := $(BUILD)/lib
RUSTOUT  := target/release
SONAME   := libcsock.so.$(MAJOR)
REALNAME := libcsock.so.$(VERSION)

CFLAGS   ?= -O2 -g
CSTD     := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror
CPPFLAGS += -Iinclude
LINK     := -L$(LIBOUT) -Wl,-rpath,$(abspath $(LIBOUT)) -lcsock -lpthread

C_TESTS  := $(patsubst c-tests/%.c,$(BUILD)/c-tests/%,$(wildcard c-tests/*.c))
EXAMPLES := $(patsubst examples/%.c,$(BUILD)/examples/%,$(wildcard examples/*.c))

TEST_TARGETS := cargo-test lint check c-test

.PHONY: all lib test demo clean cargo-test lint check check-header c-test examples

all: lib examples

# Copies $(1) to $(2) when they differ, atomically (rename), so a concurrent reader never sees
# half a library.
stage = cmp -s $(1) $(2) || { cp $(1) $(2).tmp.$$$$ && mv -f $(2).tmp.$$$$ $(2); }

# cargo decides whether anything changed; the copies below only follow its output. The static
# archive ships without debug info (the precompiled core's would make it megabytes).
lib:
	$(CARGO) build --release --quiet
	@mkdir -p $(LIBOUT)
	@$(call stage,$(RUSTOUT)/libcsock.so,$(LIBOUT)/$(REALNAME))
	@$(STRIP) --strip-debug -o $(BUILD)/libcsock.a.nodebug $(RUSTOUT)/libcsock.a
	@$(call stage,$(BUILD)/libcsock.a.nodebug,$(LIBOUT)/libcsock.a)
	@ln -sfn $(REALNAME) $(LIBOUT)/$(SONAME)
	@ln -sfn $(SONAME) $(LIBOUT)/libcsock.so

$(LIBOUT)/$(REALNAME): lib

# Every C program of the project (c-tests/, examples/, tests/, bench/) builds the same way,
# linked against the shared library by its soname: X.c -> $(BUILD)/X.
$(BUILD)/%: %.c include/csock.h $(LIBOUT)/$(REALNAME)
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(CFLAGS) $(CPPFLAGS) $< -o $@ $(LINK)

$(C_TESTS): c-tests/tap.h c-tests/seccomp.h

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

clean:
	$(CARGO) clean --quiet
	rm -rf $(BUILD)

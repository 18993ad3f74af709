# Performance: `make bench` (timings, printed, never asserted), and two tests that are part of
# `make test`: the exact system calls each operation makes (syscall-test, under strace) and the
# heap allocations it makes (alloc-test, none).
#
#   make bench          the tables: csock / bare system calls, socket2 and CPython (timings);
#                       then the footprint (sizes, NEEDED, dlopen against libuuid, callgrind
#                       instructions per call: bench/footprint.py)
#   make syscall-test   TAP: system calls per operation, counted by strace
#   make alloc-test     TAP: heap allocations per operation, counted by an interposed malloc

STRACE ?= strace
BENCH_ROUNDS ?= 51

TEST_TARGETS += syscall-test alloc-test

.PHONY: bench syscall-test alloc-test

# The programs build with the Makefile's rule for C programs (X.c -> $(BUILD)/X).
$(BUILD)/tests/alloc/alloc: c-tests/tap.h

VALGRIND ?= valgrind

bench: lib $(BUILD)/bench/bench $(BUILD)/bench/instructions $(BUILD)/bench/dlopen
	$(CARGO) build --release --quiet --manifest-path bench/socket2_peer/Cargo.toml
	@PYTHON=$(PYTHON) $(BUILD)/bench/bench $(BENCH_ROUNDS)
	@$(CARGO_TARGET_DIR)/release/socket2_peer $(BENCH_ROUNDS)
	@BUILD=$(BUILD) SHARED=$(LIBOUT)/$(REALNAME) STATIC=$(LIBOUT)/libcsock.a CC="$(CC)" \
	  STRIP=$(STRIP) VALGRIND=$(VALGRIND) NATIVE_LIBS=$(NATIVE_LIBS) $(PYTHON) bench/footprint.py

# dlopen.c loads libraries by name; it is not linked against csock.
$(BUILD)/bench/dlopen: bench/dlopen.c
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(CFLAGS) $< -o $@ -ldl

syscall-test: lib $(BUILD)/tests/syscalls/ops
	CSOCK_SYSCALL_OPS=$(BUILD)/tests/syscalls/ops STRACE=$(STRACE) \
	  $(PROVE) --exec '$(PYTHON)' tests/syscalls/check.py

alloc-test: lib $(BUILD)/tests/alloc/alloc
	$(PROVE) --exec '' $(BUILD)/tests/alloc/alloc

# Hardening: the C tests against a debug build of the library, and coverage-guided fuzzing.
#
#   make debug-test   every C test against libcsock built with the dev profile (debug assertions,
#                     among them the standard library's checks of unsafe preconditions, and
#                     overflow checks), loaded through LD_LIBRARY_PATH in place of build/lib's
#   make fuzz         each fuzz target for FUZZ_SECONDS (needs clang-14 and libclang-rt-14-dev)
#   make fuzz-replay  every file of the committed corpus through the same entry points, on the
#                     stable toolchain without clang (part of make test)

DEBUG_LIBOUT := $(BUILD)/debug/lib

.PHONY: debug-lib debug-test

# Linked as `make lib` links the shipped library (from the static archive, with the symbol
# versions), from the dev profile's archive.
debug-lib: lib
	$(CARGO) build --quiet --lib
	@mkdir -p $(DEBUG_LIBOUT)
	$(CC) $(SHLIB_LDFLAGS) $(LDFLAGS) -o $(DEBUG_LIBOUT)/$(REALNAME) \
	  -Wl,--whole-archive $(CARGO_TARGET_DIR)/debug/libcsock.a -Wl,--no-whole-archive \
	  $$(cat $(NATIVE_LIBS))
	@ln -sfn $(REALNAME) $(DEBUG_LIBOUT)/$(SONAME)

# The check that the tests load the debug build, not the release one, comes first.
debug-test: lib debug-lib $(C_TESTS)
	@LD_LIBRARY_PATH=$(abspath $(DEBUG_LIBOUT)) ldd $(BUILD)/c-tests/bounds \
	  | grep -q '$(abspath $(DEBUG_LIBOUT))/$(SONAME)' || { \
	    echo "debug-test: the tests would not load $(DEBUG_LIBOUT)/$(SONAME)"; exit 1; }
	LD_LIBRARY_PATH=$(abspath $(DEBUG_LIBOUT)) $(PROVE) --exec '' $(C_TESTS)

TEST_TARGETS += debug-test

# ---- fuzzing ---------------------------------------------------------------------------------
#
# The targets are the csock_fuzz_* entry points of src/ffi/fuzz.rs (the `fuzz` feature). For
# `make fuzz`, the Rust code is instrumented with sanitizer-coverage on the stable toolchain
# (rustc's LLVM passes; the triple is named so that build scripts are not instrumented), with
# debug assertions and overflow checks on, into a static library that clang links with libFuzzer.
# New inputs go to build/fuzz/work/<target>/; `make fuzz-merge` minimises them together with the
# committed corpus into fuzz/corpus/<target>/. `make fuzz-replay` runs every committed input
# through the same entry points, built with the dev profile and linked by $(CC) with
# fuzz/replay.c: no clang, no libFuzzer.

FUZZ_TARGETS   := format_addr repr names activation wait serve cmsg
FUZZ_SECONDS   ?= 60
FUZZ_CC        ?= clang-14
FUZZ_FLAGS     ?=
FUZZ_RUSTFLAGS := -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=3 \
                  -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
                  -Cllvm-args=-sanitizer-coverage-pc-table \
                  -Cllvm-args=-sanitizer-coverage-trace-compares -Cdebuginfo=line-tables-only
FUZZ_HOST       = $(shell $${RUSTC:-rustc} -vV | sed -n 's/^host: //p')
FUZZ_LIB        = $(CARGO_TARGET_DIR)/fuzz/$(FUZZ_HOST)/release/libcsock.a
REPLAY_LIB     := $(CARGO_TARGET_DIR)/fuzz-replay/debug/libcsock.a
FUZZ_NATIVE    := -lpthread -ldl

.PHONY: fuzz fuzz-lib fuzz-merge fuzz-replay fuzz-replay-lib

fuzz-lib:
	CARGO_PROFILE_RELEASE_DEBUG_ASSERTIONS=true CARGO_PROFILE_RELEASE_OVERFLOW_CHECKS=true \
	CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_STRIP=none \
	RUSTFLAGS="$(FUZZ_RUSTFLAGS)" $(CARGO) rustc --release --quiet --lib --features fuzz \
	  --crate-type staticlib --target $(FUZZ_HOST) --target-dir $(CARGO_TARGET_DIR)/fuzz

$(BUILD)/fuzz/%: fuzz/harness.c fuzz-lib
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -g -O1 -fsanitize=fuzzer -DFUZZ_TARGET=$* fuzz/harness.c $(FUZZ_LIB) \
	  $(FUZZ_NATIVE) -o $@

fuzz: $(addprefix $(BUILD)/fuzz/,$(FUZZ_TARGETS))
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(BUILD)/fuzz/work/$$t fuzz/corpus/$$t; \
	  echo "== fuzz $$t for $(FUZZ_SECONDS) s"; \
	  $(BUILD)/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=$(BUILD)/fuzz/crash-$$t- $(FUZZ_FLAGS) \
	    $(BUILD)/fuzz/work/$$t fuzz/corpus/$$t >$(BUILD)/fuzz/$$t.log 2>&1; status=$$?; \
	  grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)|^stat::(number_of_executed|average_exec)' \
	    $(BUILD)/fuzz/$$t.log; \
	  if [ $$status -ne 0 ]; then grep -E 'invariant|ERROR|SUMMARY|Test unit' \
	    $(BUILD)/fuzz/$$t.log; echo "fuzz $$t failed: $(BUILD)/fuzz/$$t.log"; exit 1; fi; \
	done

fuzz-merge: $(addprefix $(BUILD)/fuzz/,$(FUZZ_TARGETS))
	@for t in $(FUZZ_TARGETS); do \
	  rm -rf $(BUILD)/fuzz/merged/$$t && mkdir -p $(BUILD)/fuzz/merged/$$t fuzz/corpus/$$t; \
	  $(BUILD)/fuzz/$$t -merge=1 $(BUILD)/fuzz/merged/$$t fuzz/corpus/$$t \
	    $(BUILD)/fuzz/work/$$t 2>&1 | grep -E 'MERGE-OUTER: [0-9]+ new files' || exit 1; \
	  rm -rf fuzz/corpus/$$t && mv $(BUILD)/fuzz/merged/$$t fuzz/corpus/$$t; \
	done
	@du -sh fuzz/corpus

fuzz-replay-lib:
	$(CARGO) build --quiet --lib --features fuzz --target-dir $(CARGO_TARGET_DIR)/fuzz-replay

$(BUILD)/fuzz-replay/%: fuzz/harness.c fuzz/replay.c fuzz-replay-lib
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(CFLAGS) -DFUZZ_TARGET=$* fuzz/harness.c fuzz/replay.c $(REPLAY_LIB) \
	  $(FUZZ_NATIVE) -o $@

fuzz-replay: $(addprefix $(BUILD)/fuzz-replay/,$(FUZZ_TARGETS))
	$(PROVE) --exec '' $^

TEST_TARGETS += fuzz-replay

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

debug-lib:
	$(CARGO) build --quiet
	@mkdir -p $(DEBUG_LIBOUT)
	@$(call stage,target/debug/libcsock.so,$(DEBUG_LIBOUT)/$(REALNAME))
	@ln -sfn $(REALNAME) $(DEBUG_LIBOUT)/$(SONAME)

# The check that the tests load the debug build, not the release one, comes first.
debug-test: lib debug-lib $(C_TESTS)
	@LD_LIBRARY_PATH=$(abspath $(DEBUG_LIBOUT)) ldd $(BUILD)/c-tests/bounds \
	  | grep -q '$(abspath $(DEBUG_LIBOUT))/$(SONAME)' || { \
	    echo "debug-test: the tests would not load $(DEBUG_LIBOUT)/$(SONAME)"; exit 1; }
	LD_LIBRARY_PATH=$(abspath $(DEBUG_LIBOUT)) $(PROVE) --exec '' $(C_TESTS)

TEST_TARGETS += debug-test

# Reliability: descriptors never leak to a child or on a failure path (c-tests/race.c,
# exhaustion.c, random_calls.c, audit_threads.c, which `make c-test` runs like every C test), and
# every C test run again under valgrind and built with AddressSanitizer + UBSan.
#
#   make valgrind-test   the built C tests under valgrind memcheck (definite leaks are errors)
#   make asan-test       the C tests built with -fsanitize=address,undefined into build/asan/
#                        (the C programs only; libcsock is linked as built)

# Programs the C tests execute (c-tests/helpers/*.c) are not TAP tests; they build with the
# Makefile's rule for C programs. A test finds its helpers in helpers/ next to its own binary, so
# the sanitized build gets copies of the same programs, not sanitized ones: a checker that counts
# descriptors must bring none of its own.
$(BUILD)/asan/c-tests/helpers/%: $(BUILD)/c-tests/helpers/%
	@mkdir -p $(dir $@)
	cp $< $@

$(BUILD)/c-tests/race: $(BUILD)/c-tests/helpers/fdcount
$(BUILD)/asan/c-tests/race: $(BUILD)/asan/c-tests/helpers/fdcount

ASAN_TESTS   := $(patsubst $(BUILD)/%,$(BUILD)/asan/%,$(C_TESTS))
ASAN_CFLAGS  := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
ASAN_ENV     := ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 UBSAN_OPTIONS=print_stacktrace=1

$(BUILD)/asan/c-tests/%: c-tests/%.c c-tests/tap.h c-tests/seccomp.h include/csock.h $(LIBOUT)/$(REALNAME)
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(CFLAGS) $(ASAN_CFLAGS) $(CPPFLAGS) $< -o $@ $(LINK)

asan-test: lib $(ASAN_TESTS)
	$(ASAN_ENV) $(PROVE) --exec '' $(ASAN_TESTS)

VALGRIND       ?= valgrind
# --fair-sched: valgrind runs one thread at a time, and its default lock lets a busy thread
# starve the others (the race test's forking thread would wait for ever).
VALGRIND_FLAGS := -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite \
                  --errors-for-leak-kinds=definite --child-silent-after-fork=yes --fair-sched=yes
# Valgrind runs one thread at a time and every call far slower: the long loops run shorter.
VALGRIND_ENV   := CSOCK_RACE_ROUNDS=20 CSOCK_RANDOM_CALLS=10000 CSOCK_AUDIT_CREATIONS=2000 \
                  CSOCK_SIGNAL_CALLS=5000 CSOCK_SIGNAL_INTERVAL_US=200 CSOCK_LOAD_OPS=400
# Tests that cannot run under valgrind, each with its reason:
# - exhaustion lowers RLIMIT_NOFILE, which valgrind only emulates (it keeps its own descriptors
#   above the limit): socketpair() is not held to the emulated limit, and an accept4() over it is
#   refused only after the kernel took the connection off the queue. The ASan build runs it.
VALGRIND_SKIP  := $(BUILD)/c-tests/exhaustion

valgrind-test: lib $(C_TESTS)
	$(VALGRIND_ENV) $(PROVE) --exec '$(VALGRIND) $(VALGRIND_FLAGS)' \
	  $(filter-out $(VALGRIND_SKIP),$(C_TESTS))

TEST_TARGETS += valgrind-test asan-test
.PHONY: valgrind-test asan-test

# make stress   the load test (c-tests/load.c: a create_server + accept server, create_connection
#               clients, send_fds / recv_fds ping-pong) with STRESS_OPS operations (default
#               200000; make test runs 4000, and 400 under valgrind), and the fork+exec race with
#               STRESS_ROUNDS rounds (default 2000)
STRESS_OPS    ?= 200000
STRESS_ROUNDS ?= 2000

stress: lib $(BUILD)/c-tests/load $(BUILD)/c-tests/race
	CSOCK_LOAD_OPS=$(STRESS_OPS) CSOCK_RACE_ROUNDS=$(STRESS_ROUNDS) $(PROVE) -v --exec '' \
	  $(BUILD)/c-tests/load $(BUILD)/c-tests/race

.PHONY: stress

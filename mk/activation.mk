# Socket activation (systemd's LISTEN_FDS protocol): csock_listen_fds.
#
#   make activation-test   the tests that run programs under the real systemd-socket-activate
#                          (tests/activation/*.t); the fork+exec harness for the error cases,
#                          c-tests/activation.c, runs in `make c-test`
#
# The helper programs below are not TAP tests; they build with the Makefile's rule for C
# programs (the sanitized test build gets copies, see mk/reliability.mk).

ACTIVATION_HELPERS := $(addprefix $(BUILD)/c-tests/helpers/,activated_report sockcat)
$(BUILD)/c-tests/helpers/activated_report: c-tests/tap.h

# The harness execs helpers/activated_report next to its own binary.
$(BUILD)/c-tests/activation: $(BUILD)/c-tests/helpers/activated_report
$(BUILD)/asan/c-tests/activation: $(BUILD)/asan/c-tests/helpers/activated_report

.PHONY: activation-test
# The harness (c-tests/activation.c) runs with the other C tests in `make c-test`.
activation-test: lib $(ACTIVATION_HELPERS) $(BUILD)/examples/activated_echo
	CSOCK_BUILD=$(BUILD) $(PROVE) --exec bash tests/activation/*.t

TEST_TARGETS += activation-test

# Socket activation (systemd's LISTEN_FDS protocol): csock_listen_fds.
#
#   make activation-test   the tests that run programs under the real systemd-socket-activate
#                          (tests/activation/*.t); the fork+exec harness for the error cases,
#                          c-tests/activation.c, runs in `make c-test`
#
# The helper programs below are not TAP tests. Unlike the other helpers in c-tests/helpers/ they
# use libcsock, so they have their own rule (a static pattern rule, which make prefers to the
# generic one), also for the copies the AddressSanitizer build of the tests looks for.

ACTIVATION_HELPERS      := $(addprefix $(BUILD)/c-tests/helpers/,activated_report sockcat)
ACTIVATION_ASAN_HELPERS := $(patsubst $(BUILD)/%,$(BUILD)/asan/%,$(ACTIVATION_HELPERS))
ACTIVATION_HELPER_DEPS  := c-tests/tap.h include/csock.h $(LIBOUT)/$(REALNAME)

define activation_helper_recipe
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(CFLAGS) $(CPPFLAGS) $< -o $@ $(LINK)
endef

$(ACTIVATION_HELPERS): $(BUILD)/c-tests/helpers/%: c-tests/helpers/%.c $(ACTIVATION_HELPER_DEPS)
	$(activation_helper_recipe)

$(ACTIVATION_ASAN_HELPERS): $(BUILD)/asan/c-tests/helpers/%: c-tests/helpers/%.c \
		$(ACTIVATION_HELPER_DEPS)
	$(activation_helper_recipe)

# The harness execs helpers/activated_report next to its own binary.
$(BUILD)/c-tests/activation: $(BUILD)/c-tests/helpers/activated_report
$(BUILD)/asan/c-tests/activation: $(BUILD)/asan/c-tests/helpers/activated_report

.PHONY: activation-test
# The harness (c-tests/activation.c) runs with the other C tests in `make c-test`.
activation-test: lib $(ACTIVATION_HELPERS) $(BUILD)/examples/activated_echo
	CSOCK_BUILD=$(BUILD) $(PROVE) --exec bash tests/activation/*.t

TEST_TARGETS += activation-test

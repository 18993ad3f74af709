# Socket activation (systemd's LISTEN_FDS protocol): csock_listen_fds.
#
#   make activation-test   the fork+exec harness (c-tests/activation.c) and the tests that run
#                          programs under the real systemd-socket-activate (tests/activation/*.t)
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
activation-test: lib $(BUILD)/c-tests/activation $(ACTIVATION_HELPERS) \
		$(BUILD)/examples/activated_echo
	$(PROVE) --exec '' $(BUILD)/c-tests/activation
	CSOCK_BUILD=$(BUILD) $(PROVE) --exec bash tests/activation/*.t

TEST_TARGETS += activation-test

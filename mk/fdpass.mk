# Passing descriptors: csock_send_fds / csock_recv_fds.
#
# c-tests/fdpass.c runs with the other C tests in `make c-test`; it forks and executes
# helpers/fdcount (next to its own binary) to show that a received descriptor does not reach a
# child. The differential tests against CPython's socket.send_fds / recv_fds are
# tests/python/test_fdpass.py, run by `make py-test`.

$(BUILD)/c-tests/fdpass: $(BUILD)/c-tests/helpers/fdcount
$(BUILD)/asan/c-tests/fdpass: $(BUILD)/asan/c-tests/helpers/fdcount

# Connecting and serving (c-tests/connect.c, create_connection.c, create_server.c): their shared
# loopback fixtures.
$(BUILD)/c-tests/connect $(BUILD)/c-tests/create_connection $(BUILD)/c-tests/create_server: c-tests/net.h

# Conformance with CPython: the ctypes binding (bindings/python/csock.py) and the differential
# suite that runs csock and Python's own socket module on the same inputs (tests/python).
#
#   make py-test    python3 -m unittest over tests/python, against the freshly built library;
#                   the last lines on stderr count the compared cases and the differences
#
# CSOCK_CONFORMANCE_JSON=<file> also writes those counts as JSON.

.PHONY: py-test

py-test: lib
	CSOCK_LIBRARY=$(abspath $(LIBOUT))/libcsock.so CC=$(CC) \
	  $(PYTHON) -m unittest discover -s tests/python -v

TEST_TARGETS += py-test

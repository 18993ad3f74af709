"""Differential tests: creating sockets with csock_open / csock_socketpair and with CPython's
socket.socket / socket.socketpair, over grids of families, types and protocols."""

import itertools
import socket
import unittest

from conformance import CX, FLAGS, LIB, NB, Case, compare, csock, observe

FAMILIES = [-1, socket.AF_INET, socket.AF_INET6, socket.AF_UNIX, socket.AF_NETLINK,
            socket.AF_PACKET, socket.AF_VSOCK, socket.AF_CAN, 12345, -5]
BASES = [socket.SOCK_STREAM, socket.SOCK_DGRAM, socket.SOCK_RAW, socket.SOCK_SEQPACKET,
         socket.SOCK_RDM]
TYPES = [-1, 999] + [b | f for b in BASES for f in (0, NB, CX, NB | CX)]
PROTOS = [-1, 0, socket.IPPROTO_TCP, socket.IPPROTO_UDP, socket.IPPROTO_SCTP, 9999]


def defaulted(value, default):
    return default if value == -1 else value


class CreationTest(unittest.TestCase):
    """socket.socket(family, type, proto) against csock_open(family, type, proto)."""

    def check_csock_contract(self, case, cs):
        """What csock_open promises, whatever CPython did: defaults, type without flags,
        non-inheritable, blocking unless SOCK_NONBLOCK, audited once with the type as given,
        nothing left behind."""
        f, t, p = case.args
        want = (defaulted(f, socket.AF_INET), defaulted(t, socket.SOCK_STREAM), defaulted(p, 0))
        self.assertEqual(cs.audit, [want])
        self.assertEqual(cs.leaked, 0)
        if cs.error is None:
            self.assertEqual((cs.family, cs.type, cs.proto), (want[0], want[1] & ~FLAGS, want[2]))
            self.assertFalse(cs.fd_inheritable)
            self.assertEqual(cs.fd_blocking, not t & NB if t != -1 else True)
            self.assertEqual(cs.blocking, cs.fd_blocking)

    def test_creation_grid(self):
        created = 0
        for f, t, p in itertools.product(FAMILIES, TYPES, PROTOS):
            with self.subTest(family=f, type=t, proto=p):
                case = Case("create", (f, t, p))
                py = observe(lambda: socket.socket(f, t, p))
                cs = observe(lambda: csock.Socket(f, t, p, lib=LIB))
                compare("create", case, py, cs)
                self.check_csock_contract(case, cs)
                created += cs.error is None
        # The grid is not all refusals: inet, inet6, unix, netlink and packet sockets exist.
        self.assertGreater(created, 100)

    def test_family_minus_five_is_passed_to_the_kernel(self):
        # Only -1 means "default": CPython hands -5 to socket(2), which refuses it, and so does
        # csock.
        with self.assertRaises(OSError) as py:
            socket.socket(-5, socket.SOCK_STREAM)
        with self.assertRaises(OSError) as cs:
            csock.Socket(-5, socket.SOCK_STREAM, lib=LIB)
        self.assertEqual(py.exception.errno, cs.exception.errno)
        self.assertEqual(cs.exception.errno, __import__("errno").EAFNOSUPPORT)


PAIR_FAMILIES = [-1, socket.AF_UNIX, socket.AF_INET, socket.AF_INET6, 12345]
PAIR_TYPES = [-1, 999] + [b | f for b in (socket.SOCK_STREAM, socket.SOCK_DGRAM,
                                          socket.SOCK_SEQPACKET, socket.SOCK_RAW)
                          for f in (0, NB, CX, NB | CX)]
PAIR_PROTOS = [-1, 0, socket.IPPROTO_TCP, 9999]


class SocketpairTest(unittest.TestCase):
    """socket.socketpair(family, type, proto) against csock_socketpair. csock's -1 is compared
    with CPython's own default (the argument left out): socketpair's defaults are AF_UNIX,
    SOCK_STREAM and 0 on both sides."""

    def test_socketpair_grid(self):
        made = 0
        for f, t, p in itertools.product(PAIR_FAMILIES, PAIR_TYPES, PAIR_PROTOS):
            with self.subTest(family=f, type=t, proto=p):
                kwargs = {k: v for k, v in (("family", f), ("type", t), ("proto", p)) if v != -1}
                case = Case("socketpair", (f, t, p))
                py = observe(lambda: tuple(socket.socketpair(**kwargs)))
                cs = observe(lambda: csock.socketpair(f, t, p, lib=LIB))
                compare("socketpair", case, py, cs)
                self.assertEqual(cs.leaked, 0)
                if cs.error is None:
                    made += 1
                    self.assertFalse(cs.fd_inheritable)
                    self.assertEqual(cs.fd_blocking, not (t != -1 and t & NB))
                    self.assertEqual(len(cs.audit), 2)
        self.assertGreater(made, 10)


if __name__ == "__main__":
    unittest.main()

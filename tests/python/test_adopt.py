"""Differential tests: adopting descriptors (csock_adopt / socket.socket(fileno=)), duplicating
them (csock_fromfd / socket.fromfd, csock_dup / socket.dup) and accepting connections
(csock_accept / socket.accept), on every kind of socket this machine can create, with every mix
of detected (-1) and explicit values, and on descriptors that are not sockets."""

import errno
import itertools
import os
import shutil
import socket
import tempfile
import unittest

from conformance import (CX, LIB, NB, TALLY, Case, compare, csock, fd_state, observe,
                         set_fd_state)

AF_XDP = getattr(socket, "AF_XDP", 44)
SOCK_PACKET = 10
ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800

#: (label, family, type, proto, setup): every kind of socket to adopt; setup(sock, tmpdir)
#: binds, listens or connects it. Kinds the kernel refuses here are reported, not compared.
KINDS = [
    ("inet-stream", socket.AF_INET, socket.SOCK_STREAM, 0, None),
    ("inet-stream-listening", socket.AF_INET, socket.SOCK_STREAM, 0,
     lambda s, d: (s.bind(("127.0.0.1", 0)), s.listen())),
    ("inet-dgram", socket.AF_INET, socket.SOCK_DGRAM, 0, None),
    ("inet-udplite", socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDPLITE, None),
    ("inet-mptcp", socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_MPTCP, None),
    ("inet6-stream", socket.AF_INET6, socket.SOCK_STREAM, 0, None),
    ("inet6-dgram", socket.AF_INET6, socket.SOCK_DGRAM, 0,
     lambda s, d: s.bind(("::1", 0))),
    ("unix-stream", socket.AF_UNIX, socket.SOCK_STREAM, 0, None),
    ("unix-stream-bound", socket.AF_UNIX, socket.SOCK_STREAM, 0,
     lambda s, d: s.bind(tempfile.mktemp(dir=d))),
    ("unix-dgram", socket.AF_UNIX, socket.SOCK_DGRAM, 0, None),
    ("unix-seqpacket", socket.AF_UNIX, socket.SOCK_SEQPACKET, 0, None),
    ("netlink-route", socket.AF_NETLINK, socket.SOCK_RAW, 0, None),
    ("netlink-generic", socket.AF_NETLINK, socket.SOCK_DGRAM, 16, None),
    ("packet-raw", socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL), None),
    ("packet-dgram", socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_IP), None),
    ("inet-sock-packet", socket.AF_INET, SOCK_PACKET, socket.htons(ETH_P_ALL), None),
    ("inet-raw-icmp", socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP, None),
    ("inet6-raw-icmpv6", socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6, None),
    ("inet-ping", socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP, None),
    ("vsock-stream", socket.AF_VSOCK, socket.SOCK_STREAM, 0, None),
    ("vsock-seqpacket", socket.AF_VSOCK, socket.SOCK_SEQPACKET, 0, None),
    ("xdp", AF_XDP, socket.SOCK_RAW, 0, None),
    ("can-raw", socket.AF_CAN, socket.SOCK_RAW, socket.CAN_RAW, None),
    ("alg", socket.AF_ALG, socket.SOCK_SEQPACKET, 0, None),
    ("tipc", socket.AF_TIPC, socket.SOCK_RDM, 0, None),
]

#: The descriptor states each kind is adopted in: (inheritable, blocking).
STATES = [(False, True), (True, False)]


def truth_of(fd):
    """(family, type, proto) as the kernel reports them, read with CPython's getsockopt."""
    # Explicit values: CPython then detects nothing; only the options below are read.
    probe = socket.fromfd(fd, socket.AF_UNIX, socket.SOCK_STREAM, 0)
    try:
        return tuple(probe.getsockopt(socket.SOL_SOCKET, o)
                     for o in (socket.SO_DOMAIN, socket.SO_TYPE, socket.SO_PROTOCOL))
    finally:
        probe.close()


class Descriptors:
    """Makes one descriptor of each available kind, in a given state; closes them all."""

    def __init__(self, test):
        self.tmp = tempfile.mkdtemp(prefix="csock-py-")
        test.addCleanup(shutil.rmtree, self.tmp, True)
        self.fds = []
        test.addCleanup(self.close)

    def close(self):
        for fd in self.fds:
            os.close(fd)
        self.fds = []

    def make(self, family, type, proto, setup):
        try:
            s = socket.socket(family, type, proto)
        except OSError:
            return None
        if setup:
            setup(s, self.tmp)
        fd = s.detach()
        self.fds.append(fd)
        return fd

    def each(self):
        """Yields (label, fd, truth, state) for every available kind in every state."""
        for label, family, type, proto, setup in KINDS:
            for state in STATES:
                fd = self.make(family, type, proto, setup)
                if fd is None:
                    TALLY.unavailable.add(label)
                    break
                set_fd_state(fd, state)
                yield label, fd, truth_of(fd), state


def other_family(f):
    return socket.AF_INET6 if f == socket.AF_INET else socket.AF_INET


def other_type(t):
    return socket.SOCK_DGRAM if t == socket.SOCK_STREAM else socket.SOCK_STREAM


def mixes(truth):
    """Every mix of detected (-1) and explicit values, explicit ones both matching and
    differing from the truth, and the type also with SOCK_NONBLOCK / SOCK_CLOEXEC bits."""
    f, t, p = truth
    return itertools.product([-1, f, other_family(f)],
                             [-1, t, other_type(t), t | NB, t | CX, t | NB | CX],
                             [-1, p, 9999])


class AdoptionTest(unittest.TestCase):
    """socket.socket(family, type, proto, fileno=fd) against csock_adopt."""

    def check_csock_contract(self, case, state, cs):
        """csock_adopt never changes the descriptor, records the contract's values, and
        leaves nothing behind."""
        self.assertEqual(cs.original, state)
        self.assertEqual(cs.leaked, 0)
        if cs.error is None:
            self.assertEqual((cs.family, cs.type, cs.proto), case.recorded())
            self.assertEqual((cs.fd_inheritable, cs.fd_blocking), state)
            self.assertEqual(cs.blocking, state[1])
            self.assertEqual(cs.audit, [case.recorded()])

    def test_adoption_grid(self):
        kinds = set()
        for label, fd, truth, state in Descriptors(self).each():
            kinds.add(label)
            for f, t, p in mixes(truth):
                with self.subTest(kind=label, state=state, family=f, type=t, proto=p):
                    case = Case("adopt", (f, t, p), fd, truth, label)
                    py = observe(lambda: socket.socket(f, t, p, fileno=fd), fd, "detach")
                    set_fd_state(fd, state)
                    cs = observe(lambda: csock.Socket(f, t, p, fileno=fd, lib=LIB), fd, "detach")
                    compare("adopt", case, py, cs)
                    self.check_csock_contract(case, state, cs)
        # At least inet, inet6 and unix sockets of several types exist everywhere.
        self.assertGreaterEqual(len(kinds), 8)

    def test_fromfd_grid(self):
        for label, fd, truth, state in Descriptors(self).each():
            for f, t, p in mixes(truth):
                with self.subTest(kind=label, state=state, family=f, type=t, proto=p):
                    case = Case("fromfd", (f, t, p), fd, truth, label)
                    py = observe(lambda: socket.fromfd(fd, f, t, p), fd)
                    set_fd_state(fd, state)
                    cs = observe(lambda: csock.fromfd(fd, f, t, p, lib=LIB), fd)
                    compare("fromfd", case, py, cs)
                    # The duplicate is never inheritable; the caller's descriptor is unchanged.
                    self.assertEqual(cs.original, state)
                    self.assertEqual(cs.leaked, 0)
                    if cs.error is None:
                        self.assertEqual((cs.family, cs.type, cs.proto), case.recorded())
                        self.assertEqual((cs.fd_inheritable, cs.fd_blocking), (False, state[1]))

    def test_dup(self):
        for label, fd, truth, state in Descriptors(self).each():
            for t in (-1, truth[1] | NB):
                with self.subTest(kind=label, state=state, type=t):
                    guess = not (t != -1 and t & NB)
                    # The family is given: CPython cannot detect AF_XDP's (see fromfd/adopt).
                    case = Case("dup", (truth[0], t, -1), fd, truth, label,
                                extra={"guess": guess, "was": state})
                    orig = socket.socket(truth[0], t, -1, fileno=fd)
                    py = observe(orig.dup, fd)
                    orig.detach()
                    set_fd_state(fd, state)
                    orig = csock.Socket(truth[0], t, -1, fileno=fd, lib=LIB)
                    cs = observe(orig.dup, fd)
                    orig.detach()
                    set_fd_state(fd, state)
                    compare("dup", case, py, cs)
                    self.assertEqual(cs.original, state)
                    self.assertEqual((cs.family, cs.type, cs.proto), case.recorded())
                    self.assertEqual((cs.fd_inheritable, cs.fd_blocking), (False, state[1]))


#: (label, make): descriptors that are not (open) sockets; make(tmpdir) returns
#: (fd, [fds to close afterwards]).
def _pipe_end(i):
    def make(tmp):
        fds = os.pipe()
        return fds[i], list(fds)
    return make


def _opened(path_of, flags):
    def make(tmp):
        fd = os.open(path_of(tmp), flags)
        return fd, [fd]
    return make


def _closed(tmp):
    fd = os.open(os.devnull, os.O_RDONLY)
    os.close(fd)
    return fd, []


def _eventfd(tmp):
    fd = os.eventfd(0)
    return fd, [fd]


def _regular_file(tmp):
    return os.path.join(tmp, "file")


NOT_SOCKETS = [
    ("pipe-read", _pipe_end(0)),
    ("pipe-write", _pipe_end(1)),
    ("regular-file", _opened(_regular_file, os.O_RDWR | os.O_CREAT)),
    ("dev-null", _opened(lambda tmp: os.devnull, os.O_RDONLY)),
    ("directory", _opened(lambda tmp: tmp, os.O_RDONLY | os.O_DIRECTORY)),
    ("eventfd", _eventfd),
    ("closed", _closed),
    ("negative-1", lambda tmp: (-1, [])),
    ("negative-5", lambda tmp: (-5, [])),
]

EXPLICIT = (socket.AF_INET, socket.SOCK_STREAM, 0)


class BadDescriptorTest(unittest.TestCase):
    """Descriptors that are not sockets, adopted and duplicated with and without explicit
    values: both sides refuse, with the same errno, and leave the descriptor alone."""

    def run_grid(self, op, py_call, cs_call):
        tmp = tempfile.mkdtemp(prefix="csock-py-")
        self.addCleanup(shutil.rmtree, tmp, True)
        for label, make in NOT_SOCKETS:
            fd, to_close = make(tmp)
            try:
                state = fd_state(fd)
                for mask in itertools.product((False, True), repeat=3):
                    f, t, p = (v if explicit else -1 for v, explicit in zip(EXPLICIT, mask))
                    with self.subTest(op=op, kind=label, family=f, type=t, proto=p):
                        case = Case(op, (f, t, p), fd, None, label)
                        py = observe(lambda: py_call(fd, f, t, p), fd)
                        cs = observe(lambda: cs_call(fd, f, t, p), fd)
                        compare("not-a-socket", case, py, cs)
                        want = errno.EBADF if state is None else errno.ENOTSOCK
                        self.assertEqual(cs.error, want)
                        self.assertEqual((cs.original, cs.leaked, cs.audit), (state, 0, []))
            finally:
                for c in to_close:
                    os.close(c)

    def test_adopt_not_a_socket(self):
        self.run_grid("adopt", lambda fd, f, t, p: socket.socket(f, t, p, fileno=fd),
                      lambda fd, f, t, p: csock.Socket(f, t, p, fileno=fd, lib=LIB))

    def test_fromfd_not_a_socket(self):
        self.run_grid("fromfd", socket.fromfd,
                      lambda fd, f, t, p: csock.fromfd(fd, f, t, p, lib=LIB))


#: Listening kinds: (label, family, type, address(tmpdir)).
LISTENERS = [
    ("inet-stream", socket.AF_INET, socket.SOCK_STREAM, lambda d: ("127.0.0.1", 0)),
    ("inet6-stream", socket.AF_INET6, socket.SOCK_STREAM, lambda d: ("::1", 0, 0, 0)),
    ("unix-stream", socket.AF_UNIX, socket.SOCK_STREAM, lambda d: tempfile.mktemp(dir=d)),
    ("unix-seqpacket", socket.AF_UNIX, socket.SOCK_SEQPACKET,
     lambda d: tempfile.mktemp(dir=d)),
]


class AcceptTest(unittest.TestCase):
    """listener.accept() against csock_accept(flags=0) on the same listening descriptor: the
    new socket records the listener's values, is never inheritable, and is blocking (CPython
    too: its accept4 has no SOCK_NONBLOCK and it makes a timed listener's child blocking)."""

    def test_accept(self):
        tmp = tempfile.mkdtemp(prefix="csock-py-")
        self.addCleanup(shutil.rmtree, tmp, True)
        for (label, family, type, address), mode in itertools.product(
                LISTENERS, ("blocking", "non-blocking", "timeout", "empty")):
            with self.subTest(kind=label, listener=mode):
                with socket.socket(family, type) as lsn:
                    lsn.bind(address(tmp))
                    lsn.listen()
                    if mode in ("non-blocking", "empty"):
                        lsn.setblocking(False)
                    elif mode == "timeout":
                        lsn.settimeout(30)
                    clients = []

                    def connect():
                        if mode != "empty":
                            c = socket.socket(family, type)
                            c.connect(lsn.getsockname())
                            clients.append(c)
                    csock_lsn = csock.fromfd(lsn.fileno(), lsn.family, lsn.type, lsn.proto,
                                             lib=LIB)
                    try:
                        case = Case("accept", (lsn.family, lsn.type, lsn.proto), lsn.fileno(),
                                    None, label)
                        connect()
                        py = observe(lambda: lsn.accept()[0], lsn.fileno())
                        connect()
                        cs = observe(lambda: csock_lsn.accept()[0], lsn.fileno())
                        compare("accept", case, py, cs)
                        if mode == "empty":
                            self.assertEqual(cs.error, errno.EAGAIN)
                        else:
                            self.assertEqual((cs.family, cs.type, cs.proto),
                                             (family, type, 0))
                            self.assertEqual((cs.fd_inheritable, cs.fd_blocking), (False, True))
                    finally:
                        csock_lsn.close()
                        for c in clients:
                            c.close()


if __name__ == "__main__":
    unittest.main()

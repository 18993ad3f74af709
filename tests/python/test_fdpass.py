"""Differential tests: passing descriptors with csock_send_fds / csock_recv_fds and with CPython's
socket.send_fds / socket.recv_fds, on the same inputs (socket type, data, descriptor count,
maxfds, flags, address).

Each case runs on fresh socket pairs, once per side:

- ``cpython``: ``socket.send_fds`` / ``socket.recv_fds`` as given;
- ``csock``: ``csock.send_fds`` / ``csock.recv_fds_into`` as given;
- ``kernel``: ``sock.sendmsg`` / ``sock.recvmsg`` with the flags and address as given (CPython's
  lower-level calls honour them), the reference for what the kernel does with the input.

Both sides must agree, except where a documented difference explains it, and each difference is
checked on both sides before it is set aside: CPython's descriptors are inheritable (csock's are
close-on-exec); CPython ignores ``flags`` and ``address`` (gh-107898): its outcome is the one of
the same call without them, while csock's is the kernel's; CPython's ``send_fds`` of descriptors
with no data byte on a stream socket "succeeds" and the kernel drops them, where csock refuses
with EINVAL.
"""

import array
import collections
import errno
import os
import select
import socket
import subprocess
import sys
import tempfile
import unittest

from conformance import DIFFERENCES, LIB, count_fds, csock, record_names

S = socket
GUARD_S = 0.05  # CPython blocks where it ignores MSG_DONTWAIT: a guard, never asserted on

FIELDS = ("sent", "queued", "recv_error", "nbytes", "data", "nfds", "same", "msg_flags",
          "inheritable", "remains", "leaked")
Outcome = collections.namedtuple("Outcome", FIELDS, defaults=(None,) * len(FIELDS))
PINNED = "<pinned>"

Case = collections.namedtuple("Case", "type buffers nfds maxfds flags bufsize address",
                              defaults=(4, None))

TYPE_NAMES = {S.SOCK_STREAM: "stream", S.SOCK_DGRAM: "dgram", S.SOCK_SEQPACKET: "seqpacket"}


def same_file(a, b):
    sa, sb = os.fstat(a), os.fstat(b)
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


def readable(sock):
    return bool(select.select([sock], [], [], 0)[0])


class Payload:
    """The descriptors sent: a pipe's ends, a socket and /dev/null, opened once."""

    def __init__(self):
        r, w = os.pipe()
        self.sock = socket.socket(S.AF_UNIX, S.SOCK_DGRAM)
        null = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
        self.fds = [r, w, self.sock.fileno(), null, r, w] * 50

    def __getitem__(self, n):
        return self.fds[:n]


PAYLOAD = Payload()


# --- The three sides -----------------------------------------------------------------------------

def _cpython_send(sock, case, flags, address):
    return S.send_fds(sock, case.buffers, PAYLOAD[case.nfds], flags, address)


def _cpython_recv(sock, case, flags):
    msg, fds, msg_flags, _addr = S.recv_fds(sock, case.bufsize, case.maxfds, flags)
    return len(msg), msg, fds, msg_flags


def _csock_send(sock, case, flags, address):
    return csock.send_fds(sock, case.buffers, PAYLOAD[case.nfds], flags, address, lib=LIB)


def _csock_recv(sock, case, flags):
    buf = bytearray(case.bufsize)
    n, fds, msg_flags, _addr = csock.recv_fds_into(sock, buf, case.maxfds, flags, lib=LIB)
    return n, bytes(buf[:min(n, case.bufsize)]), fds, msg_flags


def _kernel_send(sock, case, flags, address):
    fds = PAYLOAD[case.nfds]
    anc = [(S.SOL_SOCKET, S.SCM_RIGHTS, array.array("i", fds))] if fds else []
    if address is None:
        return sock.sendmsg(case.buffers, anc, flags)
    return sock.sendmsg(case.buffers, anc, flags, address)


def _kernel_recv(sock, case, flags):
    msg, anc, msg_flags, _addr = sock.recvmsg(
        case.bufsize, S.CMSG_LEN(case.maxfds * 4) if case.maxfds else 0, flags)
    fds = array.array("i")
    for level, kind, data in anc:
        if level == S.SOL_SOCKET and kind == S.SCM_RIGHTS:
            fds.frombytes(data[:len(data) - len(data) % 4])
    # recvmsg returns the data, cut to bufsize; with MSG_TRUNC the kernel's count is the
    # datagram's length, which recvmsg does not show: read it from the flags' effect instead.
    n = len(msg)
    if flags & S.MSG_TRUNC and msg_flags & S.MSG_TRUNC:
        n = None
    return n, msg, list(fds), msg_flags


SIDES = {
    "cpython": (_cpython_send, _cpython_recv),
    "csock": (_csock_send, _csock_recv),
    "kernel": (_kernel_send, _kernel_recv),
}


def error_of(exc):
    if isinstance(exc, OSError) and exc.errno is not None:
        return exc.errno
    return type(exc).__name__


def drain(sock):
    """Reads whatever is left, closing the descriptors that come with it."""
    sock.setblocking(False)
    while True:
        try:
            msg, anc, _f, _a = sock.recvmsg(65536, S.CMSG_SPACE(253 * 4))
        except (BlockingIOError, OSError):
            return
        for level, kind, data in anc:
            if level == S.SOL_SOCKET and kind == S.SCM_RIGHTS:
                for fd in array.array("i", data[:len(data) - len(data) % 4]):
                    os.close(fd)
        if not msg and not anc:
            return


def run(side, case, flags=None, give_address=True, send=True, peer_closed=False):
    """Runs one case on one side and returns its :class:`Outcome`. ``flags`` defaults to the
    case's receive flags. With ``case.address`` the receiver is bound to a path and the sender is
    an unconnected socket, given the path unless ``give_address`` is false. ``send=False``
    receives from an empty socket."""
    flags = case.flags if flags is None else flags
    do_send, do_recv = SIDES[side]
    before = count_fds()
    tmp = address = None
    if case.address:
        tmp = tempfile.mkdtemp(prefix="csock-fdpass-")
        path = os.path.join(tmp, "rx")
        a = socket.socket(S.AF_UNIX, case.type)
        b = socket.socket(S.AF_UNIX, case.type)
        b.bind(path)
        address = path if give_address else None
    else:
        a, b = socket.socketpair(S.AF_UNIX, case.type)
    if peer_closed:
        b.close()
    out = {}
    try:
        if send:
            try:
                out["sent"] = do_send(a, case, 0, address)
            except OSError as exc:
                out["sent"] = error_of(exc)
        if peer_closed:
            return Outcome(leaked=None, **out)
        out["queued"] = readable(b)
        if out["queued"] or not send:
            if side == "cpython" and not send:
                b.settimeout(GUARD_S)
            try:
                n, data, fds, msg_flags = do_recv(b, case, flags)
            except (OSError, TimeoutError) as exc:
                out["recv_error"] = error_of(exc)
            else:
                out.update(nbytes=n, data=data, nfds=len(fds), msg_flags=msg_flags,
                           same=[same_file(fd, want) for fd, want in zip(fds, PAYLOAD.fds)],
                           inheritable=[os.get_inheritable(fd) for fd in fds])
                for fd in fds:
                    os.close(fd)
            out["remains"] = readable(b)
        drain(b)
    finally:
        a.close()
        b.close()
        if tmp:
            os.unlink(os.path.join(tmp, "rx"))
            os.rmdir(tmp)
    out["leaked"] = count_fds() - before
    return Outcome(**out)


# --- Documented differences ----------------------------------------------------------------------

def _pin(py, cs, *fields):
    marks = {f: PINNED for f in fields}
    return py._replace(**marks), cs._replace(**marks)


def _differing(py, cs):
    return [f for f in FIELDS if getattr(py, f) != getattr(cs, f)]


def _matches_kernel(cs, ref):
    """csock's outcome is the kernel's, except for inheritability (checked elsewhere) and a
    MSG_TRUNC count recvmsg cannot show (the reference's nbytes is None then)."""
    if ref.nbytes is None:
        ref = ref._replace(nbytes=cs.nbytes)
    keep = ("inheritable",)
    return cs._replace(**{f: None for f in keep}) == ref._replace(**{f: None for f in keep})


class FdPassTest(unittest.TestCase):

    def explain(self, case, py, cs, py_plain=None, ref=None, extra_keys=()):
        """The documented differences between ``py`` and ``cs``; fails on anything else."""
        keys = list(extra_keys)
        # CPython's received descriptors are inheritable, csock's close-on-exec (API.md D8).
        if py.inheritable != cs.inheritable and py.inheritable is not None \
                and cs.inheritable is not None:
            self.assertTrue(all(py.inheritable), case)
            self.assertFalse(any(cs.inheritable), case)
            py, cs = _pin(py, cs, "inheritable")
            keys.append("recv-fds-inheritable")
        if py != cs and case.type == S.SOCK_STREAM and case.nfds and not any(case.buffers):
            # No data byte on a stream socket: CPython's send "succeeds" (0 bytes) and the
            # kernel drops the descriptors; csock refuses.
            self.assertEqual((py.sent, py.queued, py.leaked), (0, False, 0), case)
            self.assertEqual((cs.sent, cs.queued, cs.leaked), (errno.EINVAL, False, 0), case)
            py, cs = _pin(py, cs, "sent")
            keys.append("fds-without-data")
        if py != cs and py_plain is not None and ref is not None:
            # CPython ignores flags/address: its outcome is that of the call without them; csock's
            # is what the kernel does with them.
            self.assertEqual(py._replace(inheritable=None), py_plain._replace(inheritable=None),
                             "CPython's outcome is the one without flags/address: %r" % (case,))
            self.assertTrue(_matches_kernel(cs, ref),
                            "csock does what the kernel does: %r\n  csock  %r\n  kernel %r"
                            % (case, cs, ref))
            py, cs = _pin(py, cs, *_differing(py, cs))
            keys.append("fds-address-ignored" if case.address else "fds-flags-ignored")
        self.assertEqual(py, cs, "%r: CPython and csock differ (cpython, csock): %r" % (
            case, {f: (getattr(py, f), getattr(cs, f)) for f in _differing(py, cs)}))
        for key in keys:
            self.assertIn(key, DIFFERENCES)
        record_names("fdpass", keys)
        return keys

    def check_csock(self, case, cs):
        """csock's own contract, whatever CPython did."""
        self.assertEqual(cs.leaked, 0, case)
        if cs.inheritable is not None:
            self.assertFalse(any(cs.inheritable), case)
            self.assertTrue(all(cs.same), case)
            self.assertLessEqual(cs.nfds, case.maxfds, case)

    def compare(self, case, send=True):
        py = run("cpython", case, send=send)
        cs = run("csock", case, send=send)
        py_plain = ref = None
        if case.flags or case.address:
            py_plain = run("cpython", case, flags=0, give_address=False, send=send)
            ref = run("kernel", case, send=send)
        self.check_csock(case, cs)
        return self.explain(case, py, cs, py_plain, ref), py, cs

    def test_grid(self):
        seen = collections.Counter()
        for ty in (S.SOCK_STREAM, S.SOCK_DGRAM, S.SOCK_SEQPACKET):
            for buffers in ([b"hi"], [], [b"", b""], [b"", b"x"], [b"0123456789"]):
                for nfds in (0, 1, 3, 5):
                    for maxfds in (0, 1, 2, 5):
                        for flags in (0, S.MSG_PEEK, S.MSG_TRUNC, S.MSG_PEEK | S.MSG_TRUNC):
                            case = Case(ty, tuple(buffers), nfds, maxfds, flags)
                            with self.subTest(case=case):
                                keys, py, cs = self.compare(case)
                                seen.update(keys)
                                if cs.nfds is not None and cs.nfds < nfds:
                                    self.assertTrue(cs.msg_flags & S.MSG_CTRUNC, case)
        # Each documented difference showed up, and most cases agree in all but inheritance.
        for key in ("recv-fds-inheritable", "fds-flags-ignored", "fds-without-data"):
            self.assertGreater(seen[key], 0, key)

    def test_dontwait_on_an_empty_socket(self):
        for ty in (S.SOCK_STREAM, S.SOCK_DGRAM):
            case = Case(ty, (b"x",), 1, 1, S.MSG_DONTWAIT)
            keys, py, cs = self.compare(case, send=False)
            self.assertEqual(cs.recv_error, errno.EAGAIN)
            self.assertEqual(py.recv_error, "TimeoutError")  # it waited: the flag was dropped
            self.assertIn("fds-flags-ignored", keys)

    def test_peek_leaves_the_message(self):
        case = Case(S.SOCK_STREAM, (b"hi",), 2, 2, S.MSG_PEEK)
        keys, py, cs = self.compare(case)
        self.assertEqual((cs.remains, py.remains), (True, False))
        self.assertEqual(cs.nfds, 2)

    def test_trunc_gives_the_datagram_length(self):
        case = Case(S.SOCK_DGRAM, (b"0123456789",), 1, 1, S.MSG_TRUNC)
        keys, py, cs = self.compare(case)
        self.assertEqual((cs.nbytes, py.nbytes), (10, 4))

    def test_address_on_an_unbound_datagram_socket(self):
        for nfds in (0, 1, 3):
            case = Case(S.SOCK_DGRAM, (b"to",), nfds, 3, 0, address=True)
            keys, py, cs = self.compare(case)
            self.assertEqual(py.sent, errno.ENOTCONN)  # the address was dropped
            self.assertEqual((cs.sent, cs.nfds), (2, nfds))
            self.assertIn("fds-address-ignored", keys)

    def test_closed_peer_is_epipe_on_both(self):
        for nfds in (0, 1):
            case = Case(S.SOCK_STREAM, (b"x",), nfds, 1, 0)
            py = run("cpython", case, peer_closed=True)
            cs = run("csock", case, peer_closed=True)
            self.assertEqual(cs.sent, errno.EPIPE)
            self.explain(case, py, cs)

    def test_too_many_descriptors_is_einval_on_both(self):
        for nfds in (253, 254):
            case = Case(S.SOCK_DGRAM, (b"x",), nfds, 253, 0)
            py = run("cpython", case)
            cs = run("csock", case)
            self.assertEqual(cs.sent, 1 if nfds == 253 else errno.EINVAL)
            self.explain(case, py, cs)


CHILD = "import os, sys; print(os.path.exists('/proc/self/fd/%d'))"


class InheritanceTest(unittest.TestCase):
    """A received descriptor reaches a fork+exec'd child with CPython's recv_fds (the control,
    which shows the check can see a leak), never with csock's."""

    def received_reaches_child(self, recv):
        a, b = socket.socketpair()
        with a, b:
            S.send_fds(a, [b"x"], [PAYLOAD.fds[0]])
            fd = recv(b)
            try:
                out = subprocess.run([sys.executable, "-c", CHILD % fd], close_fds=False,
                                     check=True, capture_output=True, text=True).stdout
            finally:
                os.close(fd)
        return out.strip() == "True"

    def test_fork_exec(self):
        cpython = self.received_reaches_child(lambda b: S.recv_fds(b, 1, 1)[1][0])
        ours = self.received_reaches_child(lambda b: csock.recv_fds(b, 1, 1, lib=LIB)[1][0])
        self.assertTrue(cpython, "control: CPython's received descriptor reaches the child")
        self.assertFalse(ours, "csock's received descriptor stays out of the child")
        record_names("fdpass", ["recv-fds-inheritable"])


if __name__ == "__main__":
    unittest.main()

"""Differential tests: connecting and serving. csock_create_connection against CPython's
socket.create_connection, csock_create_server against socket.create_server and
csock_has_dualstack_ipv6 against socket.has_dualstack_ipv6, on the same inputs (loopback only:
listeners made here, numeric hosts, "localhost", service names; never DNS). Compared: the
recorded values, blocking mode and inheritance (from the object and from the kernel), audit
events, descriptors left, errors, the attempt order (CPython's socket.connect audit events
against csock's attempt report) and each attempt's error, and for servers the bound address,
the socket options and the backlog the kernel holds. Also the binding's new functions."""

import ctypes
import errno
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import unittest

from conformance import LIB, Case, compare, csock, observe, record_names

# --- CPython's attempts, from its socket.connect audit events -----------------------------------

_connects = threading.local()


def _connect_hook(event, args):
    log = getattr(_connects, "log", None)
    if log is not None and event == "socket.connect":
        log.append(args[1])


sys.addaudithook(_connect_hook)


def addr_text(addr):
    """A Python address tuple as csock_format_addr writes it."""
    if len(addr) == 4:
        return "[%s]:%d" % addr[:2]
    return "%s:%d" % addr


def code_of(exc):
    """An exception as csock's attempt error: -errno, or the resolver code."""
    if isinstance(exc, socket.gaierror):
        return -(csock.EAI_BASE - exc.errno)
    return -exc.errno


def listening(host, port=0, backlog=128, family=socket.AF_INET):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((host, port))
    s.listen(backlog)
    return s


def kernel_backlog(port):
    """The backlog of the TCP listener on `port`, as `ss` reads it from the kernel (Send-Q of a
    listening socket), or None without ss."""
    if shutil.which("ss") is None:
        return None
    out = subprocess.run(["ss", "-ltnH", "sport = :%d" % port], capture_output=True,
                         text=True).stdout.split()
    return int(out[2]) if len(out) >= 3 else None


#: Listens on 127.0.0.1 and ::1 with one port and accepts (and closes) every connection, in a
#: process of its own so that its descriptors never count as this process's.
LISTENER = r"""
import socket, sys, threading
def listening(host, port, family):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((host, port))
    s.listen(128)
    return s
v4 = listening("127.0.0.1", 0, socket.AF_INET)
port = v4.getsockname()[1]
v6 = listening("::1", port, socket.AF_INET6)
def drain(s):
    while True:
        c, _ = s.accept()
        c.close()
threading.Thread(target=drain, args=(v6,), daemon=True).start()
print(port, flush=True)
drain(v4)
"""


class Fixture:
    """Listeners on 127.0.0.1 and ::1 with the same port (accepting, in a child process), and
    a port nobody listens on."""

    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, "-c", LISTENER], stdout=subprocess.PIPE,
                                     text=True)
        self.port = int(self.proc.stdout.readline())
        self.holder = socket.socket()
        self.holder.bind(("127.0.0.1", 0))
        self.closed = self.holder.getsockname()[1]

    def close(self):
        self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()
        self.holder.close()


class CreateConnectionTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.fx = Fixture()

    @classmethod
    def tearDownClass(cls):
        cls.fx.close()

    def run_python(self, host, port, timeout, source):
        """CPython's create_connection, all_errors=True; the last error raised (its default),
        the attempts (connect events) and their errors kept."""
        record = {"order": [], "errors": []}

        def make():
            _connects.log = record["order"]
            try:
                return socket.create_connection((host, port), timeout, source, all_errors=True)
            except ExceptionGroup as group:
                record["errors"] = [code_of(e) for e in group.exceptions]
                raise group.exceptions[-1] from None
            finally:
                _connects.log = None

        return observe(make), record

    def run_csock(self, host, port, timeout, source):
        record = {"attempts": []}
        ms = -1 if timeout is None else int(timeout * 1000)

        def make():
            try:
                s, record["attempts"] = csock.create_connection(
                    (host, port), ms, source_address=source, lib=LIB)
            except OSError as exc:
                record["attempts"] = getattr(exc, "attempts", [])
                record["message"] = str(exc)
                raise
            return s

        return observe(make), record

    def test_create_connection_grid(self):
        fx = self.fx
        hosts = ["127.0.0.1", "::1", "localhost", None, "127.1"]
        ports = [fx.port, str(fx.port), fx.closed, "no-such-service", 70000]
        timeouts = [None, 5.0, 0]
        sources = [None, ("127.0.0.1", 0), ("::1", 0)]
        compared = 0
        for host in hosts:
            for port in ports:
                for timeout in timeouts:
                    for source in sources:
                        if source is not None and timeout == 0:
                            continue
                        with self.subTest(host=host, port=port, timeout=timeout, source=source):
                            self.one(host, port, timeout, source)
                            compared += 1
        self.assertGreater(compared, 140)

    def one(self, host, port, timeout, source):
        above = isinstance(port, int) and port > 65535
        case = Case("create_connection", (host, port, timeout), label=repr(source),
                    extra={"timeout": timeout, "port_above_65535": above})
        py, py_rec = self.run_python(host, port, timeout, source)
        cs, cs_rec = self.run_csock(host, port, timeout, source)
        keys = compare("create_connection", case, py, cs)
        self.assertEqual(cs.leaked, 0)
        if above:
            self.assertEqual(cs.error, errno.EINVAL)
            return
        # The attempt order: every address csock tried up to connect is one CPython connected
        # to, in the same order; the report's errors are CPython's, attempt by attempt.
        cs_connects = [a.address for a in cs_rec["attempts"] if a.step == csock.STEP_CONNECT]
        py_connects = [addr_text(a) for a in py_rec["order"]]
        self.assertEqual(cs_connects, py_connects)
        failed = [a.error for a in cs_rec["attempts"] if a.error]
        if py.error is not None:
            self.assertEqual(failed, py_rec["errors"])
            if cs_rec["attempts"]:
                for a in cs_rec["attempts"]:
                    self.assertIn(a.address, cs_rec["message"])
        else:
            self.assertEqual(cs_rec["attempts"][-1].error, 0)
        record_names("create_connection-attempts")
        return keys

    def test_binding_report_and_mode(self):
        s, attempts = csock.create_connection(("127.0.0.1", self.fx.port), 5000, lib=LIB)
        with s:
            self.assertTrue(s.getblocking())
            self.assertEqual((s.family, s.type, s.proto),
                             (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP))
        self.assertEqual([(a.address, a.step, a.error) for a in attempts],
                         [("127.0.0.1:%d" % self.fx.port, csock.STEP_CONNECT, 0)])
        s, _ = csock.create_connection(("127.0.0.1", self.fx.port), flags=socket.SOCK_NONBLOCK,
                                       lib=LIB)
        with s:
            self.assertFalse(s.getblocking())

    def test_binding_connect(self):
        addr = socket.inet_pton(socket.AF_INET, "127.0.0.1")
        raw = (socket.AF_INET.to_bytes(2, sys.byteorder) + self.fx.port.to_bytes(2, "big")
               + addr + bytes(8))
        with csock.Socket(socket.AF_INET, socket.SOCK_STREAM, lib=LIB) as s:
            s.connect(raw, 2000)
            self.assertTrue(s.getblocking())
            self.assertEqual(s.getpeername(), "127.0.0.1:%d" % self.fx.port)
        closed = (socket.AF_INET.to_bytes(2, sys.byteorder) + self.fx.closed.to_bytes(2, "big")
                  + addr + bytes(8))
        with csock.Socket(socket.AF_INET, socket.SOCK_STREAM, lib=LIB) as s:
            with self.assertRaises(ConnectionRefusedError):
                s.connect(closed)
            with self.assertRaises(OSError) as cm:
                s.connect(b"")
            self.assertEqual(cm.exception.errno, errno.EINVAL)


class CreateServerTest(unittest.TestCase):

    def state(self, s, family):
        """The options and address of a listener, read with the C library's getsockopt and
        getsockname (a socket object made for it would raise an audit event of its own)."""
        fd = s.fileno()
        got = {
            "reuseaddr": _getsockopt(fd, socket.SOL_SOCKET, socket.SO_REUSEADDR),
            "reuseport": _getsockopt(fd, socket.SOL_SOCKET, socket.SO_REUSEPORT),
            "acceptconn": _getsockopt(fd, socket.SOL_SOCKET, socket.SO_ACCEPTCONN),
        }
        if family == socket.AF_INET6:
            got["v6only"] = _getsockopt(fd, socket.IPPROTO_IPV6, socket.IPV6_V6ONLY)
        name = _getsockname(fd)
        got["name"] = name
        if family in (socket.AF_INET, socket.AF_INET6):
            host, port = name.rsplit(":", 1)
            got["backlog"] = kernel_backlog(int(port))
            got["name"] = host + ":<any port>"  # port 0 asked: each side got its own
        return got

    def run_side(self, make, family):
        seen = {}

        def wrapped():
            s = make()
            seen.update(self.state(s, family))
            return s

        return observe(wrapped), seen

    def one(self, address, family, backlog, reuse_port, dualstack, unix=False):
        py_address = address
        if unix and isinstance(address, str) and address.startswith("@"):
            py_address = "\0" + address[1:]
        py, py_seen = self.run_side(
            lambda: socket.create_server(py_address, family=family, backlog=backlog,
                                         reuse_port=reuse_port, dualstack_ipv6=dualstack),
            family)
        if unix and not address.startswith("@") and os.path.exists(address):
            os.unlink(address)
        cs, cs_seen = self.run_side(
            lambda: csock.create_server(address, family=family, backlog=backlog,
                                        reuse_port=reuse_port, dualstack_ipv6=dualstack,
                                        lib=LIB),
            family)
        if unix and not address.startswith("@") and os.path.exists(address):
            os.unlink(address)
        case = Case("create_server", (address, family, backlog),
                    label="reuse_port=%s dualstack=%s" % (reuse_port, dualstack),
                    extra={"unix_reuse_port": unix and reuse_port, "dualstack": dualstack,
                           "csock_reuseport": cs_seen.get("reuseport")})
        keys = compare("create_server", case, py, cs)
        self.assertEqual(cs.leaked, 0)
        if py.error is None and cs.error is None:
            self.assertEqual(py_seen, cs_seen)
            record_names("create_server-options")
        if unix and reuse_port:
            self.assertEqual(cs_seen.get("reuseport"), 0)
        return keys

    def test_create_server_grid(self):
        tmp = tempfile.mkdtemp(prefix="csock-server-")
        self.addCleanup(shutil.rmtree, tmp)
        inet = [("127.0.0.1", 0), ("", 0), ("localhost", 0), ("192.0.2.199", 0)]
        inet6 = [("::1", 0), ("", 0), ("127.0.0.1", 0)]
        for backlog in (None, 5, 0, -3):
            for reuse_port in (False, True):
                for address in inet:
                    for dualstack in (False, True):
                        with self.subTest(address=address, backlog=backlog,
                                          reuse_port=reuse_port, dualstack=dualstack):
                            self.one(address, socket.AF_INET, backlog, reuse_port, dualstack)
                for address in inet6:
                    for dualstack in (False, True):
                        with self.subTest(address=address, family="AF_INET6", backlog=backlog,
                                          reuse_port=reuse_port, dualstack=dualstack):
                            self.one(address, socket.AF_INET6, backlog, reuse_port, dualstack)
                for address in (os.path.join(tmp, "s"), "@csock-conformance-%d" % os.getpid()):
                    with self.subTest(address=address, backlog=backlog, reuse_port=reuse_port):
                        self.one(address, socket.AF_UNIX, backlog, reuse_port, False, unix=True)

    def test_address_in_use_message(self):
        busy = listening("127.0.0.1")
        port = busy.getsockname()[1]
        try:
            with self.assertRaises(OSError) as py:
                socket.create_server(("127.0.0.1", port))
            with self.assertRaises(OSError) as cs:
                csock.create_server(("127.0.0.1", port), lib=LIB)
        finally:
            busy.close()
        self.assertEqual(py.exception.errno, cs.exception.errno)
        self.assertEqual(cs.exception.errno, errno.EADDRINUSE)
        self.assertTrue(py.exception.strerror.endswith(
            "(while attempting to bind on address ('127.0.0.1', %d))" % port))
        self.assertTrue(cs.exception.strerror.endswith(
            "(while attempting to bind on address 127.0.0.1:%d)" % port))
        record_names("create_server-message")

    def test_has_dualstack_ipv6(self):
        self.assertEqual(csock.has_dualstack_ipv6(lib=LIB), socket.has_dualstack_ipv6())
        record_names("has_dualstack_ipv6")


class ResolverCodesTest(unittest.TestCase):

    def test_codes_texts_and_gaierror(self):
        for name in ("EAI_NONAME", "EAI_SERVICE", "EAI_AGAIN", "EAI_FAMILY", "EAI_ADDRFAMILY"):
            eai = getattr(socket, name)
            rc = -(csock.EAI_BASE - eai)
            with self.subTest(name=name):
                self.assertEqual(csock.gai_error(rc, lib=LIB), eai)
                # CPython's gaierror text is gai_strerror's, as csock_strerror's.
                self.assertEqual(csock.strerror(rc, lib=LIB), _gai_strerror(eai))
        self.assertEqual(csock.gai_error(-errno.ENOENT, lib=LIB), 0)
        self.assertEqual(csock.strerror(-errno.ECONNREFUSED, lib=LIB),
                         os.strerror(errno.ECONNREFUSED))
        with self.assertRaises(socket.gaierror) as py:
            socket.create_connection(("127.0.0.1", "no-such-service"))
        with self.assertRaises(socket.gaierror) as cs:
            csock.create_connection(("127.0.0.1", "no-such-service"), lib=LIB)
        self.assertEqual(py.exception.errno, cs.exception.errno)

    def test_close_fd(self):
        fd = os.dup(0)
        csock.close_fd(fd, lib=LIB)
        with self.assertRaises(OSError) as cm:
            os.fstat(fd)
        self.assertEqual(cm.exception.errno, errno.EBADF)
        with self.assertRaises(OSError) as cm:
            csock.close_fd(-1, lib=LIB)
        self.assertEqual(cm.exception.errno, errno.EBADF)

    def test_struct_layout(self):
        self.assertEqual(ctypes.sizeof(csock.csock_attempt), 128 + 4 + 4 + 4 + 4)
        self.assertEqual(csock.csock_connect_opts.attempts_len.offset, 56)
        self.assertEqual(ctypes.sizeof(csock.csock_connect_opts), 64)


_libc = ctypes.CDLL(None, use_errno=True)


def _getsockopt(fd, level, name):
    value = ctypes.c_int(-1)
    size = ctypes.c_uint32(4)
    if _libc.getsockopt(fd, level, name, ctypes.byref(value), ctypes.byref(size)) != 0:
        return None
    return value.value


def _getsockname(fd):
    storage = csock.sockaddr_storage()
    size = ctypes.c_uint32(ctypes.sizeof(storage))
    if _libc.getsockname(fd, ctypes.byref(storage), ctypes.byref(size)) != 0:
        return None
    return csock.format_addr(ctypes.string_at(ctypes.addressof(storage), size.value), lib=LIB)


def _gai_strerror(eai):
    libc = ctypes.CDLL(None)
    libc.gai_strerror.restype = ctypes.c_char_p
    return libc.gai_strerror(eai).decode()


if __name__ == "__main__":
    unittest.main()

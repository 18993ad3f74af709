"""The ctypes binding itself: it covers the whole header, its structs have the C layout, and
its Socket class behaves as the C API does (errors as OSError with the right errno, state read
from the kernel, ownership on close/detach)."""

import ctypes
import errno
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import unittest

from conformance import LIB, LIBRARY, ROOT, csock

HEADER = os.path.join(ROOT, "include", "csock.h")


def header_text():
    with open(HEADER) as f:
        text = f.read()
    return re.sub(r"/\*.*?\*/", "", text, flags=re.S)


def header_functions():
    """``{name: number of parameters}`` of every function the header declares."""
    decls = re.findall(r"\b(csock_\w+)\s*\(([^;{]*?)\)\s*;", header_text(), flags=re.S)
    return {name: 0 if params.strip() in ("", "void") else params.count(",") + 1
            for name, params in decls if not name.endswith("_hook")}


class HeaderCoverageTest(unittest.TestCase):

    def test_every_function_is_declared_with_its_arity(self):
        functions = header_functions()
        self.assertGreaterEqual(len(functions), 25)
        self.assertEqual(set(csock.PROTOTYPES), set(functions))
        for name, arity in functions.items():
            with self.subTest(function=name):
                self.assertEqual(len(csock.PROTOTYPES[name][1]), arity)
                self.assertIsNotNone(getattr(LIB, name).restype)

    def test_constants_match_the_header(self):
        defines = dict(re.findall(r"#define\s+(CSOCK_\w+)\s+(-?\w+)", header_text()))
        for name, attr in (("CSOCK_DEFAULT", "DEFAULT"), ("CSOCK_INFO_NONBLOCK", "INFO_NONBLOCK"),
                           ("CSOCK_INFO_CLOEXEC", "INFO_CLOEXEC"),
                           ("CSOCK_INFO_LISTENING", "INFO_LISTENING"),
                           ("CSOCK_LISTEN_UNSET_ENV", "LISTEN_UNSET_ENV"),
                           ("CSOCK_EAI_BASE", "EAI_BASE"), ("CSOCK_STEP_SOCKET", "STEP_SOCKET"),
                           ("CSOCK_STEP_BIND", "STEP_BIND"), ("CSOCK_STEP_CONNECT", "STEP_CONNECT"),
                           ("CSOCK_SERVER_REUSE_PORT", "SERVER_REUSE_PORT"),
                           ("CSOCK_SERVER_DUALSTACK", "SERVER_DUALSTACK")):
            with self.subTest(constant=name):
                self.assertEqual(int(defines[name], 0), getattr(csock, attr))
        version = ".".join(defines["CSOCK_VERSION_" + p] for p in ("MAJOR", "MINOR", "PATCH"))
        self.assertEqual(csock.version(lib=LIB), version)

    def test_library_path_comes_from_the_caller_or_the_environment(self):
        self.assertEqual(csock.Library(LIBRARY).path, LIBRARY)
        code = "import csock; print(csock.load().path)"
        env = dict(os.environ, CSOCK_LIBRARY=LIBRARY,
                   PYTHONPATH=os.path.join(ROOT, "bindings", "python"))
        out = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                             capture_output=True, text=True).stdout.strip()
        self.assertEqual(out, LIBRARY)


LAYOUT_PROGRAM = textwrap.dedent("""\
    #include <csock.h>
    #include <stdalign.h>
    #include <stdio.h>
    #define S(t) printf(#t " size %zu align %zu\\n", sizeof(t), alignof(t))
    #define F(t, f) printf(#t "." #f " offset %zu size %zu\\n", offsetof(t, f), \\
                           sizeof(((t *)0)->f))
    int main(void) {
        S(csock_socket); F(csock_socket, fd); F(csock_socket, family);
        F(csock_socket, type); F(csock_socket, proto);
        S(csock_info); F(csock_info, family); F(csock_info, type); F(csock_info, proto);
        F(csock_info, flags);
        S(csock_listen_fd); F(csock_listen_fd, sock); F(csock_listen_fd, name);
        S(struct sockaddr_storage); S(socklen_t); S(csock_audit_hook);
        S(csock_attempt); F(csock_attempt, addr); F(csock_attempt, addrlen);
        F(csock_attempt, step); F(csock_attempt, error);
        S(csock_connect_opts); F(csock_connect_opts, size); F(csock_connect_opts, source_host);
        F(csock_connect_opts, source_port); F(csock_connect_opts, total_timeout_ms);
        F(csock_connect_opts, attempt_delay_ms); F(csock_connect_opts, flags);
        F(csock_connect_opts, attempts); F(csock_connect_opts, attempts_cap);
        F(csock_connect_opts, attempts_len);
        return 0;
    }
    """)


class StructLayoutTest(unittest.TestCase):
    """The ctypes mirrors have the sizes, alignments and offsets a C compiler gives the
    header's types (compiled here with ``cc``)."""

    def setUp(self):
        self.cc = os.environ.get("CC", "cc")
        if shutil.which(self.cc) is None:
            self.skipTest("no C compiler (%s) to compare the layout with" % self.cc)

    def c_layout(self):
        tmp = tempfile.mkdtemp(prefix="csock-layout-")
        self.addCleanup(shutil.rmtree, tmp)
        src, exe = os.path.join(tmp, "layout.c"), os.path.join(tmp, "layout")
        with open(src, "w") as f:
            f.write(LAYOUT_PROGRAM)
        subprocess.run([self.cc, "-std=c11", "-D_GNU_SOURCE", "-I", os.path.join(ROOT, "include"),
                        src, "-o", exe], check=True)
        out = subprocess.run([exe], check=True, capture_output=True, text=True).stdout
        layout = {}
        for line in out.splitlines():
            name, kind1, v1, kind2, v2 = line.rsplit(" ", 4)
            layout[name] = {kind1: int(v1), kind2: int(v2)}
        return layout

    def test_layout(self):
        c = self.c_layout()
        mirrors = {"csock_socket": csock.csock_socket, "csock_info": csock.csock_info,
                   "csock_listen_fd": csock.csock_listen_fd,
                   "struct sockaddr_storage": csock.sockaddr_storage,
                   "socklen_t": csock.socklen_t, "csock_audit_hook": csock.csock_audit_hook,
                   "csock_attempt": csock.csock_attempt,
                   "csock_connect_opts": csock.csock_connect_opts}
        for cname, py in mirrors.items():
            with self.subTest(type=cname):
                self.assertEqual(ctypes.sizeof(py), c[cname]["size"])
                self.assertEqual(ctypes.alignment(py), c[cname]["align"])
        for key, want in c.items():
            if "." not in key:
                continue
            struct, field = key.split(".")
            with self.subTest(field=key):
                descr = getattr(mirrors[struct], field)
                self.assertEqual((descr.offset, descr.size), (want["offset"], want["size"]))


class ErrorsTest(unittest.TestCase):
    """Negative returns become OSError(errno, csock_last_error())."""

    def test_errno_and_message(self):
        cases = [
            (lambda: csock.adopt(-7, lib=LIB), errno.EBADF, "csock_adopt(fd=-7)"),
            (lambda: csock.Socket(12345, lib=LIB), errno.EAFNOSUPPORT, "csock_open"),
            (lambda: csock.Socket(socket.AF_INET, 999, lib=LIB), errno.EINVAL, "socket"),
            (lambda: csock.constant("AF_NOPE", lib=LIB), errno.ENOENT, "csock_constant"),
        ]
        for call, code, text in cases:
            with self.subTest(errno=errno.errorcode[code]):
                with self.assertRaises(OSError) as cm:
                    call()
                self.assertEqual(cm.exception.errno, code)
                self.assertIn(text, cm.exception.strerror)
                self.assertIn(errno.errorcode[code], cm.exception.strerror)
                self.assertEqual(cm.exception.strerror, csock.last_error(lib=LIB))

    def test_python_maps_the_errno_to_its_subclass(self):
        with self.assertRaises(FileNotFoundError):  # ENOENT
            csock.constant("NOPE", lib=LIB)

    def test_null_pointers_are_einval_not_crashes(self):
        for name, args in (("csock_open", (None, -1, -1, -1)), ("csock_close", (None,)),
                           ("csock_inspect", (0, None)), ("csock_constant", (None, None)),
                           ("csock_socketpair", (None, -1, -1, -1))):
            with self.subTest(function=name):
                self.assertEqual(getattr(LIB, name)(*args), -errno.EINVAL)


def fd_is_open(fd):
    try:
        os.fstat(fd)
        return True
    except OSError:
        return False


class SocketClassTest(unittest.TestCase):

    def test_context_manager_closes(self):
        with csock.Socket(lib=LIB) as s:
            fd = s.fileno()
            self.assertTrue(fd_is_open(fd))
            self.assertEqual((s.family, s.type, s.proto), (socket.AF_INET, socket.SOCK_STREAM, 0))
        self.assertEqual(s.fileno(), -1)
        self.assertFalse(fd_is_open(fd))
        s.close()  # closing twice is a no-op

    def test_detach_hands_back_an_open_descriptor(self):
        s = csock.Socket(socket.AF_UNIX, socket.SOCK_DGRAM, lib=LIB)
        fd = s.fileno()
        self.assertEqual(s.detach(), fd)
        self.assertEqual(s.fileno(), -1)
        self.assertTrue(fd_is_open(fd))
        with self.assertRaises(OSError) as cm:
            s.detach()
        self.assertEqual(cm.exception.errno, errno.EBADF)
        with self.assertRaises(OSError) as cm:
            s.getblocking()
        self.assertEqual(cm.exception.errno, errno.EBADF)
        self.assertIn("[closed]", repr(s))
        os.close(fd)

    def test_state_is_read_from_the_kernel(self):
        with csock.Socket(socket.AF_INET, socket.SOCK_STREAM | socket.SOCK_NONBLOCK,
                          lib=LIB) as s:
            fd = s.fileno()
            self.assertEqual((s.getblocking(), os.get_blocking(fd)), (False, False))
            self.assertEqual((s.get_inheritable(), os.get_inheritable(fd)), (False, False))
            os.set_blocking(fd, True)
            os.set_inheritable(fd, True)
            self.assertEqual((s.getblocking(), s.get_inheritable()), (True, True))
            s.setblocking(False)
            s.set_inheritable(False)
            self.assertEqual((os.get_blocking(fd), os.get_inheritable(fd)), (False, False))
            info = csock.inspect(fd, lib=LIB)
            self.assertEqual((info.family, info.type, info.proto),
                             (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP))
            self.assertEqual((info.nonblock, info.cloexec, info.listening), (True, True, False))

    def test_pair_dup_accept_addresses_and_repr(self):
        tmp = tempfile.mkdtemp(prefix="csock-py-")
        self.addCleanup(shutil.rmtree, tmp)
        a, b = csock.socketpair(lib=LIB)
        with a, b:
            os.write(a.fileno(), b"ping")
            self.assertEqual(os.read(b.fileno(), 4), b"ping")
            with a.dup() as c:
                self.assertNotEqual(c.fileno(), a.fileno())
                self.assertEqual((c.family, c.type, c.proto), (a.family, a.type, a.proto))
                self.assertFalse(c.get_inheritable())
            a.shutdown(socket.SHUT_WR)
            self.assertEqual(os.read(b.fileno(), 1), b"")
            with self.assertRaises(OSError) as cm:
                a.shutdown(7)
            self.assertEqual(cm.exception.errno, errno.EINVAL)
        with csock.Socket(socket.AF_INET, socket.SOCK_STREAM, lib=LIB) as lsn:
            py_lsn = socket.socket(fileno=os.dup(lsn.fileno()))
            with py_lsn:
                py_lsn.bind(("127.0.0.1", 0))
                py_lsn.listen()
                port = py_lsn.getsockname()[1]
            self.assertEqual(lsn.getsockname(), "127.0.0.1:%d" % port)
            self.assertIn("laddr=127.0.0.1:%d>" % port, repr(lsn))
            with socket.create_connection(("127.0.0.1", port)) as client:
                conn, peer = lsn.accept()
                with conn:
                    self.assertEqual(peer, "127.0.0.1:%d" % client.getsockname()[1])
                    self.assertEqual(conn.getpeername(), peer)
                    self.assertEqual((conn.family, conn.type, conn.proto), (2, 1, 0))
                    self.assertFalse(conn.get_inheritable())

    def test_format_addr(self):
        raw = socket.AF_INET.to_bytes(2, sys.byteorder) + (8080).to_bytes(2, "big") + \
            bytes([127, 0, 0, 1]) + bytes(8)
        self.assertEqual(csock.format_addr(raw, lib=LIB), "127.0.0.1:8080")
        self.assertEqual(csock.format_addr(b"", lib=LIB), "")

    def test_audit_hook_sees_creations(self):
        seen = []
        armed = [True]

        def hook(event, fd, family, type, proto):
            if armed[0]:
                seen.append((event, fd, family, type, proto))
            return 0
        csock.audit_add(hook, lib=LIB)
        try:
            with csock.Socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_NONBLOCK,
                              lib=LIB):
                pass
        finally:
            armed[0] = False
        self.assertEqual(seen, [("socket.__new__", -1, socket.AF_UNIX,
                                 socket.SOCK_DGRAM | socket.SOCK_NONBLOCK, 0)])


class ListenFdsTest(unittest.TestCase):
    """csock_listen_fds in a child process given a socket as descriptor 3."""

    CHILD = textwrap.dedent("""\
        import ctypes, os, socket, sys, csock
        getenv = ctypes.CDLL(None).getenv
        getenv.restype, getenv.argtypes = ctypes.c_char_p, [ctypes.c_char_p]
        a, b = socket.socketpair()
        os.dup2(a.fileno(), 3, inheritable=True)
        os.environ.update(LISTEN_PID=str(os.getpid()), LISTEN_FDS="1", LISTEN_FDNAMES="web")
        got = csock.listen_fds(4, csock.LISTEN_UNSET_ENV)
        (s, name), = got
        print(s.fileno(), name, s.family, s.type, s.get_inheritable(),
              getenv(b"LISTEN_PID"), csock.listen_fds())
        """)

    def test_child_receives_its_socket(self):
        env = dict(os.environ, CSOCK_LIBRARY=LIBRARY,
                   PYTHONPATH=os.path.join(ROOT, "bindings", "python"))
        out = subprocess.run([sys.executable, "-c", self.CHILD], env=env, check=True,
                             capture_output=True, text=True).stdout.split()
        self.assertEqual(out, ["3", "web", str(int(socket.AF_UNIX)),
                               str(int(socket.SOCK_STREAM)), "False", "None", "[]"])


if __name__ == "__main__":
    unittest.main()

"""A ctypes binding of libcsock: CPython's ``socket.socket`` creation semantics through a C ABI.

Every function of ``include/csock.h`` is declared here with its argument and return types, and
every struct and constant is mirrored, which also shows that the header can be read from a
language other than C. The functions keep the C names without the ``csock_`` prefix and raise
``OSError(errno, csock_last_error())`` where C would return ``-errno``::

    import csock
    with csock.Socket(csock.DEFAULT, socket.SOCK_STREAM | socket.SOCK_NONBLOCK) as s:
        print(s, s.getblocking())        # <csock fd=3, family=AF_INET, ...> False

The library is found, in order, at the path given to :func:`load`, at ``$CSOCK_LIBRARY``,
by ``ctypes.util.find_library("csock")``, and as ``libcsock.so.0``; when none loads,
:class:`LibraryNotFound` (an ``OSError``) says what was tried and names ``CSOCK_LIBRARY``.

Install it with ``pip install ./bindings/python`` (``--no-build-isolation`` to build offline
with the setuptools already installed); it needs libcsock itself (``make install``).
"""

import ctypes
import ctypes.util
import os
import threading

#: The version of csock this binding mirrors (the package's version too).
__version__ = "0.2.0"

__all__ = [
    "DEFAULT", "INFO_NONBLOCK", "INFO_CLOEXEC", "INFO_LISTENING", "LISTEN_UNSET_ENV",
    "csock_socket", "csock_info", "csock_listen_fd", "csock_audit_hook", "sockaddr_storage",
    "Library", "LibraryNotFound", "load", "Socket", "Info",
    "adopt", "fromfd", "socketpair", "inspect", "listen_fds", "audit_add", "format_addr",
    "family_name", "type_name", "constant", "constant64", "last_error", "version",
    "version_number",
    "EINTR_FLAG", "iovec", "send_fds", "recv_fds", "recv_fds_into",
    "EAI_BASE", "STEP_SOCKET", "STEP_BIND", "STEP_CONNECT", "SERVER_REUSE_PORT",
    "SERVER_DUALSTACK", "csock_attempt", "csock_connect_opts", "Attempt", "create_connection",
    "create_server", "has_dualstack_ipv6", "gai_error", "strerror", "close_fd",
]

#: ``CSOCK_DEFAULT``: "the default" when creating, "detect it" when adopting.
DEFAULT = -1
#: ``CSOCK_INFO_NONBLOCK``: ``O_NONBLOCK`` is set.
INFO_NONBLOCK = 0x1
#: ``CSOCK_INFO_CLOEXEC``: ``FD_CLOEXEC`` is set (not inheritable).
INFO_CLOEXEC = 0x2
#: ``CSOCK_INFO_LISTENING``: ``SO_ACCEPTCONN``.
INFO_LISTENING = 0x4
#: ``CSOCK_LISTEN_UNSET_ENV``: remove the ``LISTEN_*`` variables whatever the outcome.
LISTEN_UNSET_ENV = 0x1
#: ``CSOCK_EINTR``: in the flags of a call that waits, a signal makes it fail with ``EINTR``
#: instead of resuming it.
EINTR_FLAG = -0x7fffffff - 1
#: ``CSOCK_EAI_BASE``: a resolver failure ``EAI_x`` returns ``-(EAI_BASE - EAI_x)``.
EAI_BASE = 4096
#: ``CSOCK_STEP_*``: the step an attempt of ``create_connection`` reached.
STEP_SOCKET, STEP_BIND, STEP_CONNECT = 1, 2, 3
#: ``CSOCK_SERVER_REUSE_PORT``, ``CSOCK_SERVER_DUALSTACK``: flags of ``create_server``.
SERVER_REUSE_PORT, SERVER_DUALSTACK = 0x1, 0x2

c_int = ctypes.c_int
c_int_p = ctypes.POINTER(ctypes.c_int)
socklen_t = ctypes.c_uint32


class csock_socket(ctypes.Structure):
    """``struct csock_socket``: an owned descriptor and its recorded family, type and proto."""

    _fields_ = [("fd", c_int), ("family", c_int), ("type", c_int), ("proto", c_int)]


class csock_info(ctypes.Structure):
    """``struct csock_info``: what ``csock_inspect`` read from the kernel."""

    _fields_ = [("family", c_int), ("type", c_int), ("proto", c_int), ("flags", ctypes.c_uint32)]


class csock_listen_fd(ctypes.Structure):
    """``struct csock_listen_fd``: a socket received from a supervisor, and its name."""

    _fields_ = [("sock", csock_socket), ("name", ctypes.c_char * 256)]


class sockaddr_storage(ctypes.Structure):
    """``struct sockaddr_storage`` on Linux: 128 bytes, aligned like ``unsigned long``."""

    _fields_ = [("ss_family", ctypes.c_ushort), ("_data", ctypes.c_char * 118),
                ("_align", ctypes.c_ulong)]


class iovec(ctypes.Structure):
    """``struct iovec``: one buffer of a ``csock_send_fds`` call."""

    _fields_ = [("iov_base", ctypes.c_void_p), ("iov_len", ctypes.c_size_t)]


class csock_attempt(ctypes.Structure):
    """``struct csock_attempt``: one address ``csock_create_connection`` tried."""

    _fields_ = [("addr", sockaddr_storage), ("addrlen", socklen_t), ("step", c_int),
                ("error", c_int)]


class csock_connect_opts(ctypes.Structure):
    """``struct csock_connect_opts``: the options of ``csock_create_connection``."""

    _fields_ = [("size", ctypes.c_size_t), ("source_host", ctypes.c_char_p),
                ("source_port", ctypes.c_char_p), ("total_timeout_ms", c_int),
                ("attempt_delay_ms", c_int), ("flags", c_int),
                ("attempts", ctypes.POINTER(csock_attempt)), ("attempts_cap", ctypes.c_size_t),
                ("attempts_len", ctypes.c_size_t)]


#: ``csock_audit_hook``: ``int (*)(const char *event, int fd, int family, int type, int proto,
#: void *userdata)``.
csock_audit_hook = ctypes.CFUNCTYPE(c_int, ctypes.c_char_p, c_int, c_int, c_int, c_int,
                                    ctypes.c_void_p)

_socket_p = ctypes.POINTER(csock_socket)
_storage_p = ctypes.POINTER(sockaddr_storage)
_socklen_p = ctypes.POINTER(socklen_t)

#: Every function of the header: name -> (restype, argtypes).
PROTOTYPES = {
    "csock_open": (c_int, [_socket_p, c_int, c_int, c_int]),
    "csock_adopt": (c_int, [_socket_p, c_int, c_int, c_int, c_int]),
    "csock_fromfd": (c_int, [_socket_p, c_int, c_int, c_int, c_int]),
    "csock_dup": (c_int, [_socket_p, _socket_p]),
    "csock_socketpair": (c_int, [_socket_p, c_int, c_int, c_int]),
    "csock_accept": (c_int, [_socket_p, _socket_p, ctypes.c_void_p, _socklen_p, c_int]),
    "csock_close": (c_int, [_socket_p]),
    "csock_detach": (c_int, [_socket_p]),
    "csock_shutdown": (c_int, [_socket_p, c_int]),
    "csock_get_inheritable": (c_int, [_socket_p]),
    "csock_set_inheritable": (c_int, [_socket_p, ctypes.c_bool]),
    "csock_get_blocking": (c_int, [_socket_p]),
    "csock_set_blocking": (c_int, [_socket_p, ctypes.c_bool]),
    "csock_inspect": (c_int, [c_int, ctypes.POINTER(csock_info)]),
    "csock_getsockname": (c_int, [_socket_p, _storage_p, _socklen_p]),
    "csock_getpeername": (c_int, [_socket_p, _storage_p, _socklen_p]),
    "csock_format_addr": (c_int, [ctypes.c_void_p, socklen_t, c_int, ctypes.c_char_p,
                                  ctypes.c_size_t]),
    "csock_repr": (c_int, [_socket_p, ctypes.c_char_p, ctypes.c_size_t]),
    "csock_family_name": (ctypes.c_char_p, [c_int]),
    "csock_type_name": (ctypes.c_char_p, [c_int]),
    "csock_constant": (c_int, [ctypes.c_char_p, c_int_p]),
    "csock_constant64": (c_int, [ctypes.c_char_p, ctypes.POINTER(ctypes.c_int64)]),
    "csock_audit_add": (c_int, [csock_audit_hook, ctypes.c_void_p]),
    "csock_listen_fds": (c_int, [ctypes.POINTER(csock_listen_fd), ctypes.c_size_t,
                                 ctypes.c_uint32]),
    "csock_send_fds": (c_int, [_socket_p, ctypes.POINTER(iovec), ctypes.c_size_t, c_int_p,
                               ctypes.c_size_t, c_int, ctypes.c_void_p, socklen_t]),
    "csock_recv_fds": (c_int, [_socket_p, ctypes.c_void_p, ctypes.c_size_t, c_int_p,
                               ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t), c_int, c_int_p,
                               _storage_p, _socklen_p]),
    "csock_last_error": (ctypes.c_char_p, []),
    "csock_version": (ctypes.c_char_p, []),
    "csock_version_number": (c_int, []),
    "csock_connect": (c_int, [_socket_p, ctypes.c_void_p, socklen_t, c_int, c_int]),
    "csock_create_connection": (c_int, [_socket_p, ctypes.c_char_p, ctypes.c_char_p, c_int,
                                        ctypes.POINTER(csock_connect_opts)]),
    "csock_create_server": (c_int, [_socket_p, ctypes.c_char_p, ctypes.c_char_p, c_int, c_int,
                                    ctypes.c_uint32]),
    "csock_has_dualstack_ipv6": (c_int, []),
    "csock_gai_error": (c_int, [c_int]),
    "csock_strerror": (ctypes.c_char_p, [c_int]),
    "csock_close_fd": (c_int, [c_int]),
}


class LibraryNotFound(OSError):
    """libcsock could not be loaded: the message says from where, and how to point at it."""


def _find_library(path=None):
    """``(path, how it was chosen)``: the caller's path, ``$CSOCK_LIBRARY``, or the loader's."""
    if path:
        return path, "the path given"
    env = os.environ.get("CSOCK_LIBRARY")
    if env:
        return env, "CSOCK_LIBRARY"
    return ctypes.util.find_library("csock") or "libcsock.so.0", "the system loader"


def _load(path):
    path, source = _find_library(path)
    try:
        return path, ctypes.CDLL(path)
    except OSError as e:
        if source == "CSOCK_LIBRARY":
            hint = "set CSOCK_LIBRARY to the path of an existing libcsock.so"
        elif source == "the path given":
            hint = "pass the path of libcsock.so, or set CSOCK_LIBRARY to it"
        else:
            hint = ("install libcsock (make install; then ldconfig) or set CSOCK_LIBRARY to the "
                    "path of libcsock.so (for example build/lib/libcsock.so in a csock checkout)")
        raise LibraryNotFound(
            f"csock: cannot load libcsock from {path!r} ({source}): {e}; {hint}") from e


class Library:
    """libcsock loaded with every prototype declared.

    The raw functions are attributes named as in C (``lib.csock_open``); they return what C
    returns. :meth:`check` turns a negative return into ``OSError``.
    """

    def __init__(self, path=None):
        self.path, self.dll = _load(path)
        for name, (restype, argtypes) in PROTOTYPES.items():
            func = getattr(self.dll, name)
            func.restype = restype
            func.argtypes = argtypes
            setattr(self, name, func)
        # Hooks cannot be removed, so their ctypes callbacks must live as long as the process.
        self._hooks = []
        self._hooks_lock = threading.Lock()

    def last_error(self):
        """This thread's last failure message (``csock_last_error``), as ``str``."""
        return self.csock_last_error().decode("utf-8", "replace")

    def check(self, rc):
        """Returns ``rc`` if it is not negative, else raises ``OSError(-rc, last_error())``.

        Call it on the thread that made the call, before any other csock call: the message is
        thread-local and replaced by the next failure.
        """
        if rc < 0:
            eai = self.csock_gai_error(rc)
            if eai:
                # A resolver code: socket.gaierror with the EAI_* value, as CPython raises it.
                import socket
                raise socket.gaierror(eai, self.last_error())
            raise OSError(-rc, self.last_error())
        return rc


_default = None
_default_lock = threading.Lock()


def load(path=None):
    """Loads libcsock (once per process when ``path`` is ``None``) and returns the Library."""
    global _default
    if path is not None:
        return Library(path)
    with _default_lock:
        if _default is None:
            _default = Library()
        return _default


def _lib(lib):
    return lib if lib is not None else load()


class Socket:
    """A ``csock_socket`` owned by Python: ``Socket(family, type, proto, fileno=None)``.

    Like ``socket.socket``: with ``fileno`` it adopts that descriptor (``csock_adopt``, each
    ``-1`` detected), otherwise it creates one (``csock_open``, each ``-1`` defaulted).
    ``family``, ``type`` and ``proto`` are the recorded values; blocking mode and inheritability
    are read from the kernel on every call. Close it with :meth:`close` or a ``with`` block;
    nothing closes it on garbage collection.
    """

    def __init__(self, family=DEFAULT, type=DEFAULT, proto=DEFAULT, fileno=None, *, lib=None):
        self._lib = _lib(lib)
        self._sock = csock_socket(-1, 0, 0, 0)
        if fileno is None:
            self._lib.check(self._lib.csock_open(ctypes.byref(self._sock), family, type, proto))
        else:
            self._lib.check(self._lib.csock_adopt(ctypes.byref(self._sock), fileno, family, type,
                                                  proto))

    @classmethod
    def _wrap(cls, value, lib):
        sock = cls.__new__(cls)
        sock._lib = lib
        sock._sock = value
        return sock

    def _call(self, name, *args):
        return self._lib.check(getattr(self._lib, name)(ctypes.byref(self._sock), *args))

    @property
    def struct(self):
        """The underlying ``csock_socket`` (shared, not a copy)."""
        return self._sock

    @property
    def family(self):
        """The recorded ``AF_*``."""
        return self._sock.family

    @property
    def type(self):
        """The recorded ``SOCK_*``, never with ``SOCK_NONBLOCK`` or ``SOCK_CLOEXEC``."""
        return self._sock.type

    @property
    def proto(self):
        """The recorded protocol."""
        return self._sock.proto

    def fileno(self):
        """The descriptor, ``-1`` once closed or detached."""
        return self._sock.fd

    def close(self):
        """``csock_close``: closes the descriptor once; a no-op when already closed."""
        self._call("csock_close")

    def detach(self):
        """``csock_detach``: returns the descriptor without closing it (``EBADF`` if closed)."""
        return self._call("csock_detach")

    def dup(self):
        """``csock_dup``: a non-inheritable duplicate recording the same values."""
        out = csock_socket(-1, 0, 0, 0)
        self._lib.check(self._lib.csock_dup(ctypes.byref(out), ctypes.byref(self._sock)))
        return Socket._wrap(out, self._lib)

    def accept(self, flags=0):
        """``csock_accept``: returns ``(Socket, peer address text)``."""
        out = csock_socket(-1, 0, 0, 0)
        addr = sockaddr_storage()
        length = socklen_t(ctypes.sizeof(addr))
        self._lib.check(self._lib.csock_accept(ctypes.byref(self._sock), ctypes.byref(out),
                                               ctypes.byref(addr), ctypes.byref(length), flags))
        conn = Socket._wrap(out, self._lib)
        return conn, _format_storage(addr, length, self.proto, self._lib)

    def shutdown(self, how):
        """``csock_shutdown``: ``SHUT_RD``, ``SHUT_WR`` or ``SHUT_RDWR``."""
        self._call("csock_shutdown", how)

    def get_inheritable(self):
        """``csock_get_inheritable``, read from the kernel."""
        return bool(self._call("csock_get_inheritable"))

    def set_inheritable(self, inheritable):
        """``csock_set_inheritable``."""
        self._call("csock_set_inheritable", bool(inheritable))

    def getblocking(self):
        """``csock_get_blocking``, read from the kernel."""
        return bool(self._call("csock_get_blocking"))

    def setblocking(self, blocking):
        """``csock_set_blocking``."""
        self._call("csock_set_blocking", bool(blocking))

    def _address(self, name):
        addr = sockaddr_storage()
        length = socklen_t(0)
        self._call(name, ctypes.byref(addr), ctypes.byref(length))
        return _format_storage(addr, length, self.proto, self._lib)

    def getsockname(self):
        """``csock_getsockname``, as ``csock_format_addr`` text."""
        return self._address("csock_getsockname")

    def getpeername(self):
        """``csock_getpeername``, as ``csock_format_addr`` text."""
        return self._address("csock_getpeername")

    def connect(self, addr, timeout_ms=DEFAULT, flags=0):
        """``csock_connect``: ``addr`` is the socket address as bytes (a ``struct sockaddr``)."""
        raw = bytes(addr)
        buf = ctypes.create_string_buffer(raw, len(raw)) if raw else None
        self._call("csock_connect", buf, len(raw), timeout_ms, flags)

    def __repr__(self):
        """``csock_repr``."""
        return _snprintf(self._lib, self._lib.csock_repr, ctypes.byref(self._sock))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _format_storage(addr, length, proto, lib):
    raw = ctypes.string_at(ctypes.addressof(addr), min(length.value, ctypes.sizeof(addr)))
    return format_addr(raw, proto, lib=lib)


def _snprintf(lib, func, *args):
    size = lib.check(func(*args, None, 0))
    buf = ctypes.create_string_buffer(size + 1)
    lib.check(func(*args, buf, len(buf)))
    return buf.value.decode("utf-8", "replace")


def adopt(fd, family=DEFAULT, type=DEFAULT, proto=DEFAULT, *, lib=None):
    """``csock_adopt``: ``Socket(family, type, proto, fileno=fd)``."""
    return Socket(family, type, proto, fileno=fd, lib=lib)


def fromfd(fd, family=DEFAULT, type=DEFAULT, proto=DEFAULT, *, lib=None):
    """``csock_fromfd``: adopts a non-inheritable duplicate of ``fd``; ``fd`` stays open."""
    lib = _lib(lib)
    out = csock_socket(-1, 0, 0, 0)
    lib.check(lib.csock_fromfd(ctypes.byref(out), fd, family, type, proto))
    return Socket._wrap(out, lib)


def socketpair(family=DEFAULT, type=DEFAULT, proto=DEFAULT, *, lib=None):
    """``csock_socketpair``: two connected, non-inheritable sockets."""
    lib = _lib(lib)
    pair = (csock_socket * 2)()
    lib.check(lib.csock_socketpair(pair, family, type, proto))
    return Socket._wrap(pair[0], lib), Socket._wrap(pair[1], lib)


class Info:
    """What ``csock_inspect`` read: ``family``, ``type``, ``proto``, ``flags`` and the flag
    bits as booleans ``nonblock``, ``cloexec``, ``listening``."""

    def __init__(self, info):
        self.family, self.type, self.proto, self.flags = (info.family, info.type, info.proto,
                                                          info.flags)
        self.nonblock = bool(info.flags & INFO_NONBLOCK)
        self.cloexec = bool(info.flags & INFO_CLOEXEC)
        self.listening = bool(info.flags & INFO_LISTENING)

    def __repr__(self):
        return "Info(family=%d, type=%d, proto=%d, flags=%#x)" % (
            self.family, self.type, self.proto, self.flags)


def inspect(fd, *, lib=None):
    """``csock_inspect``: an :class:`Info` for any descriptor, without taking it."""
    lib = _lib(lib)
    info = csock_info()
    lib.check(lib.csock_inspect(fd, ctypes.byref(info)))
    return Info(info)


def listen_fds(cap=16, flags=0, *, lib=None):
    """``csock_listen_fds``: ``[(Socket, name), ...]`` passed by a supervisor."""
    lib = _lib(lib)
    out = (csock_listen_fd * cap)()
    n = lib.check(lib.csock_listen_fds(out, cap, flags))
    return [(Socket._wrap(csock_socket(out[i].sock.fd, out[i].sock.family, out[i].sock.type,
                                       out[i].sock.proto), lib),
             out[i].name.decode("utf-8", "replace")) for i in range(n)]


def audit_add(hook, *, lib=None):
    """``csock_audit_add``: ``hook(event: str, fd, family, type, proto) -> int`` (0 allows).

    Hooks cannot be removed. An exception raised by ``hook`` refuses with ``-EPERM``.
    """
    lib = _lib(lib)

    def trampoline(event, fd, family, type, proto, _userdata):
        try:
            return int(hook(event.decode(), fd, family, type, proto))
        except Exception:  # a hook must never unwind through C
            return 1

    callback = csock_audit_hook(trampoline)
    with lib._hooks_lock:
        lib.check(lib.csock_audit_add(callback, None))
        lib._hooks.append(callback)


def format_addr(raw, proto=0, *, lib=None):
    """``csock_format_addr`` of an address given as bytes."""
    lib = _lib(lib)
    buf = ctypes.create_string_buffer(bytes(raw), len(raw)) if raw else None
    return _snprintf(lib, lib.csock_format_addr, buf, len(raw), proto)


def family_name(family, *, lib=None):
    """``csock_family_name``: ``"AF_INET"``, or ``None`` for an unknown family."""
    name = _lib(lib).csock_family_name(family)
    return name.decode() if name is not None else None


def type_name(type, *, lib=None):
    """``csock_type_name``: ``"SOCK_STREAM"`` (flag bits ignored), or ``None``."""
    name = _lib(lib).csock_type_name(type)
    return name.decode() if name is not None else None


def constant(name, *, lib=None):
    """``csock_constant``: the value of a Python-named constant; ``OSError(ENOENT)`` if unknown.

    A value wider than ``int`` comes back as its signed 32-bit pattern (``CAN_EFF_FLAG``).
    """
    lib = _lib(lib)
    value = c_int(0)
    lib.check(lib.csock_constant(name.encode(), ctypes.byref(value)))
    return value.value


def constant64(name, *, lib=None):
    """``csock_constant64``: the exact value of a Python-named constant (``CAN_EFF_FLAG`` is
    ``0x80000000``); ``OSError(ENOENT)`` if unknown."""
    lib = _lib(lib)
    value = ctypes.c_int64(0)
    lib.check(lib.csock_constant64(name.encode(), ctypes.byref(value)))
    return value.value


def last_error(*, lib=None):
    """``csock_last_error``: this thread's last failure message."""
    return _lib(lib).last_error()


def version(*, lib=None):
    """``csock_version``: ``"0.2.0"``."""
    return _lib(lib).csock_version().decode()


def version_number(*, lib=None):
    """``csock_version_number``: ``MAJOR * 10000 + MINOR * 100 + PATCH`` (``200`` for 0.2.0)."""
    return _lib(lib).csock_version_number()


# --- Passing descriptors -----------------------------------------------------------------------

def _borrowed(sock):
    """A ``csock_socket`` for ``sock``: a :class:`Socket`'s own struct, or for anything with a
    ``fileno()`` (a ``socket.socket``) or a plain descriptor, a borrowed struct that is never
    closed (family, type and proto read from the object when it has them)."""
    if isinstance(sock, Socket):
        return sock.struct
    fd = sock if isinstance(sock, int) else sock.fileno()
    family = int(getattr(sock, "family", DEFAULT))
    type = int(getattr(sock, "type", DEFAULT))
    proto = int(getattr(sock, "proto", DEFAULT))
    return csock_socket(fd, family, type, proto)


def _unix_address(address):
    """A ``struct sockaddr_un`` for a path (``str`` or ``bytes``; a leading NUL byte names an
    abstract socket), with CPython's length: the family and the path's bytes."""
    path = os.fsencode(address)
    if len(path) >= 108:
        raise OSError(36, "AF_UNIX path too long")  # ENAMETOOLONG, as CPython says it
    raw = bytes(ctypes.c_ushort(1)) + path  # sun_family AF_UNIX, native byte order
    buf = ctypes.create_string_buffer(raw, 110)
    return buf, 2 + len(path)


def send_fds(sock, buffers, fds, flags=0, address=None, *, lib=None):
    """``csock_send_fds``: ``socket.send_fds(sock, buffers, fds, flags, address)``, with
    ``flags`` and ``address`` (a unix path) passed to the kernel. Returns the bytes sent."""
    lib = _lib(lib)
    bufs = [bytes(b) for b in buffers]
    keep = [ctypes.create_string_buffer(b, len(b)) for b in bufs]
    iov = (iovec * max(len(bufs), 1))()
    for i, b in enumerate(keep):
        iov[i].iov_base = ctypes.cast(b, ctypes.c_void_p)
        iov[i].iov_len = len(bufs[i])
    fd_array = (c_int * max(len(fds), 1))(*fds)
    addr, addrlen = (None, 0) if address is None else _unix_address(address)
    rc = lib.csock_send_fds(ctypes.byref(_borrowed(sock)), iov, len(bufs), fd_array, len(fds),
                            flags, addr, addrlen)
    return lib.check(rc)


def _decode_address(storage, length, lib):
    if length.value == 0:
        return None
    raw = ctypes.string_at(ctypes.addressof(storage), min(length.value, ctypes.sizeof(storage)))
    if storage.ss_family == 1:  # AF_UNIX, as CPython's makesockaddr returns it
        path = raw[2:]
        if path[:1] == b"\0":
            return path
        return os.fsdecode(path.split(b"\0", 1)[0])
    return format_addr(raw, 0, lib=lib)


def recv_fds_into(sock, buffer, maxfds, flags=0, *, lib=None):
    """``csock_recv_fds`` into a writable buffer: ``(nbytes, fds, msg_flags, address)``, where
    ``nbytes`` is what the call returned (the datagram's real length with ``MSG_TRUNC``) and
    every descriptor in ``fds`` is close-on-exec and the caller's to close."""
    lib = _lib(lib)
    size = len(buffer)
    cbuf = (ctypes.c_char * size).from_buffer(buffer) if size else None
    fd_array = (c_int * max(maxfds, 1))()
    nfds = ctypes.c_size_t(0)
    msg_flags = c_int(0)
    storage = sockaddr_storage()
    length = socklen_t(0)
    rc = lib.csock_recv_fds(ctypes.byref(_borrowed(sock)), cbuf, size,
                            fd_array if maxfds else None, maxfds, ctypes.byref(nfds), flags,
                            ctypes.byref(msg_flags), ctypes.byref(storage), ctypes.byref(length))
    n = lib.check(rc)
    return n, list(fd_array[:nfds.value]), msg_flags.value, _decode_address(storage, length, lib)


def recv_fds(sock, bufsize, maxfds, flags=0, *, lib=None):
    """``csock_recv_fds``: ``socket.recv_fds(sock, bufsize, maxfds, flags)`` with ``flags``
    passed to the kernel; returns ``(data, fds, msg_flags, address)`` as CPython does, every
    descriptor close-on-exec."""
    buffer = bytearray(bufsize)
    n, fds, msg_flags, address = recv_fds_into(sock, buffer, maxfds, flags, lib=lib)
    return bytes(buffer[:min(n, bufsize)]), fds, msg_flags, address

class Attempt:
    """One address ``create_connection`` tried: ``address`` (text), ``family``, ``step``
    (``STEP_*``) and ``error`` (0, or the negative csock code)."""

    def __init__(self, entry, lib):
        raw = ctypes.string_at(ctypes.addressof(entry.addr), min(entry.addrlen, 128))
        self.address = format_addr(raw, lib=lib)
        self.family = entry.addr.ss_family
        self.step = entry.step
        self.error = entry.error

    def __repr__(self):
        return "Attempt(%r, step=%d, error=%d)" % (self.address, self.step, self.error)


def _text(value):
    if value is None:
        return None
    return str(value).encode()


def create_connection(address, timeout_ms=DEFAULT, source_address=None, total_timeout_ms=0,
                      attempt_delay_ms=0, flags=0, cap=16, *, lib=None):
    """``csock_create_connection``: ``address`` is ``(host, port)`` (either may be ``None``;
    ports may be ints). Returns ``(Socket, [Attempt, ...])``. On failure the raised
    ``OSError`` (or ``socket.gaierror``) carries the report as its ``attempts`` attribute."""
    lib = _lib(lib)
    host, port = address
    report = (csock_attempt * cap)()
    opts = csock_connect_opts(size=ctypes.sizeof(csock_connect_opts),
                              total_timeout_ms=total_timeout_ms,
                              attempt_delay_ms=attempt_delay_ms, flags=flags,
                              attempts=report, attempts_cap=cap)
    if source_address is not None:
        opts.source_host = _text(source_address[0])
        opts.source_port = _text(source_address[1])
    out = csock_socket(-1, 0, 0, 0)
    rc = lib.csock_create_connection(ctypes.byref(out), _text(host), _text(port), timeout_ms,
                                     ctypes.byref(opts))
    attempts = [Attempt(report[i], lib) for i in range(min(opts.attempts_len, cap))]
    try:
        lib.check(rc)
    except OSError as exc:
        exc.attempts = attempts
        raise
    return Socket._wrap(out, lib), attempts


def create_server(address, family=DEFAULT, backlog=None, reuse_port=False, dualstack_ipv6=False,
                  flags=0, *, lib=None):
    """``csock_create_server``: ``address`` is ``(host, port)`` for ``AF_INET``/``AF_INET6``, a
    path (``"@name"`` for an abstract name) for ``AF_UNIX``. ``flags`` may add
    ``SOCK_NONBLOCK``."""
    lib = _lib(lib)
    if isinstance(address, tuple):
        host, port = address
    else:
        host, port = address, None
    flags |= (SERVER_REUSE_PORT if reuse_port else 0) | (SERVER_DUALSTACK if dualstack_ipv6
                                                          else 0)
    out = csock_socket(-1, 0, 0, 0)
    lib.check(lib.csock_create_server(ctypes.byref(out), _text(host), _text(port), family,
                                      DEFAULT if backlog is None else backlog, flags))
    return Socket._wrap(out, lib)


def has_dualstack_ipv6(*, lib=None):
    """``csock_has_dualstack_ipv6``: ``True`` or ``False`` (``OSError`` for ``EMFILE``...)."""
    return bool(_lib(lib).check(_lib(lib).csock_has_dualstack_ipv6()))


def gai_error(rc, *, lib=None):
    """``csock_gai_error``: the ``EAI_*`` value behind a resolver code, 0 otherwise."""
    return _lib(lib).csock_gai_error(rc)


def strerror(rc, *, lib=None):
    """``csock_strerror``: the text of any csock return code."""
    return _lib(lib).csock_strerror(rc).decode()


def close_fd(fd, *, lib=None):
    """``csock_close_fd``: ``socket.close(fd)``."""
    lib = _lib(lib)
    lib.check(lib.csock_close_fd(fd))

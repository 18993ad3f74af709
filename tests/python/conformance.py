"""Shared machinery of the differential suite: csock (through bindings/python/csock.py) and
CPython's own ``socket`` module run on the same inputs, and what each did is compared.

A run of one operation on one side is an :class:`Outcome`: the error (an errno, or the name of
a non-OSError exception), the recorded family/type/proto, what the object's API says about
inheritability and blocking, what the kernel says about the descriptor (``os.get_inheritable``,
``os.get_blocking``), the ``socket.__new__`` audit events seen, the state of the caller's
descriptor afterwards, and how many descriptors the call left behind.

Two outcomes agree when they are equal. Otherwise every difference must be explained by one of
the :data:`DIFFERENCES` below: each rule checks the CPython side against what CPython is known to
do and the csock side against csock's contract, separately, and only then sets the field aside;
whatever is left must be equal. A difference no rule explains fails the test.

At exit a line ``compared N cases: A agree, D documented differences`` goes to stderr, with the
count per difference; with ``CSOCK_CONFORMANCE_JSON`` set, the same numbers are written there.
"""

import atexit
import collections
import errno
import json
import os
import socket
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))

import csock  # noqa: E402  (the path above is where the binding lives)

LIBRARY = os.environ.get("CSOCK_LIBRARY") or os.path.join(ROOT, "build", "lib", "libcsock.so")
LIB = csock.load(LIBRARY)

NB = socket.SOCK_NONBLOCK
CX = socket.SOCK_CLOEXEC
FLAGS = NB | CX

# --- What is compared --------------------------------------------------------------------------

FIELDS = ("error", "family", "type", "proto", "inheritable", "blocking", "fd_inheritable",
          "fd_blocking", "audit", "original", "leaked")
Outcome = collections.namedtuple("Outcome", FIELDS, defaults=(None,) * len(FIELDS))
Outcome.__doc__ = "What one side did with one case; see the module documentation."

#: Marks a field a documented difference has set aside (both sides were checked first).
PINNED = "<pinned>"


def count_fds():
    """Descriptors open in this process."""
    return len(os.listdir("/proc/self/fd")) - 1


def fd_state(fd):
    """``(inheritable, blocking)`` of ``fd`` read from the kernel, or ``None`` if not open."""
    if fd is None or fd < 0:
        return None
    try:
        return (os.get_inheritable(fd), os.get_blocking(fd))
    except OSError:
        return None


def set_fd_state(fd, state):
    """Restores ``(inheritable, blocking)`` on ``fd``."""
    os.set_inheritable(fd, state[0])
    os.set_blocking(fd, state[1])


# --- Audit recording (one hook per side, added once; hooks cannot be removed) ------------------

_audit = threading.local()


def _recording():
    return getattr(_audit, "log", None)


def _python_hook(event, args):
    log = _recording()
    if log is not None and event == "socket.__new__":
        log.append(tuple(int(v) for v in args[1:4]))


def _csock_hook(event, fd, family, type, proto):
    log = _recording()
    if log is not None and event == "socket.__new__":
        log.append((family, type, proto))
    return 0


sys.addaudithook(_python_hook)
csock.audit_add(_csock_hook, lib=LIB)


class recording_audit:
    """``with recording_audit() as log:`` collects ``(family, type, proto)`` of each
    ``socket.__new__`` event raised on this thread, by either side."""

    def __enter__(self):
        _audit.log = []
        return _audit.log

    def __exit__(self, *exc):
        _audit.log = None


# --- Running one side ---------------------------------------------------------------------------

def error_of(exc):
    """The comparable form of an exception: its errno, or its class name when it has none."""
    if isinstance(exc, OSError) and exc.errno is not None:
        return exc.errno
    return type(exc).__name__


def _describe(s):
    fd = s.fileno()
    return dict(family=int(s.family), type=int(s.type), proto=int(s.proto),
                inheritable=s.get_inheritable(), blocking=s.getblocking(),
                fd_inheritable=os.get_inheritable(fd), fd_blocking=os.get_blocking(fd))


def observe(make, original=None, release="close"):
    """Runs ``make()``, which returns a socket-like object or a pair of them, and returns its
    :class:`Outcome` (for a pair, the ends must look alike or each field holds both values).

    ``original`` is a descriptor of the caller's whose state afterwards is recorded. ``release``
    says how the result is let go of: ``"close"``, or ``"detach"`` for an adoption, so that the
    caller's descriptor survives for the next case.
    """
    before = count_fds()
    with recording_audit() as log:
        try:
            made = make()
        except (OSError, ValueError) as exc:
            return Outcome(error=error_of(exc), audit=list(log), original=fd_state(original),
                           leaked=count_fds() - before)
    socks = made if isinstance(made, tuple) else (made,)
    views = [_describe(s) for s in socks]
    result = views[0]
    if any(v != views[0] for v in views):
        result = {k: tuple(v[k] for v in views) for k in views[0]}
    for s in socks:
        s.detach() if release == "detach" else s.close()
    return Outcome(error=None, audit=list(log), original=fd_state(original),
                   leaked=count_fds() - before, **result)


# --- Documented differences ----------------------------------------------------------------------

#: key -> (source, explanation). "README difference <n>" is item n of the README's "Deliberate
#: differences from CPython" (the header, include/csock.h, documents the same behaviour).
DIFFERENCES = {
    "negative-fd": (
        "README difference 12",
        "a negative fd: CPython raises ValueError('negative file descriptor') without an errno; "
        "csock returns -EBADF"),
    "audit-adopt-values": (
        "README difference 6",
        "adoption audit: CPython audits the arguments as given (-1 and flag bits included) "
        "before validating, so also for descriptors it then rejects; csock audits the values it "
        "records (detected, flags cleared), after validation, and only for a descriptor it takes"),
    "adopt-nonblock-flag": (
        "README difference 3",
        "explicit SOCK_NONBLOCK in an adopted type, blocking descriptor: CPython's getblocking() "
        "says False (timeout 0) though the descriptor stays blocking; csock reads the kernel: "
        "True"),
    "cached-blocking": (
        "README difference 4",
        "adopting a non-blocking descriptor without SOCK_NONBLOCK in type: CPython's "
        "getblocking() says True (its default timeout, a guess) though the descriptor is "
        "non-blocking; csock reads the kernel: False"),
    "dup-rewrites-blocking": (
        "README differences 4, 9",
        "dup(): CPython copies its cached timeout onto the duplicate with settimeout(), which "
        "rewrites O_NONBLOCK of the open file description both descriptors share, so the "
        "original descriptor's blocking mode changes to CPython's guess; csock_dup changes "
        "nothing"),
    "fromfd-leak": (
        "README difference 10",
        "fromfd() of a descriptor that is open but no socket: CPython's socket.fromfd leaks the "
        "os.dup() duplicate when socket() then fails; csock_fromfd closes it"),
    "family-without-getsockname": (
        "README difference 11",
        "detecting the family of a socket whose protocol has no getsockname (AF_XDP): CPython "
        "fails with EOPNOTSUPP; csock reads SO_DOMAIN and adopts it"),
    "decnet-name": (
        "README difference 13",
        "AF_DECnet (12): socket.AddressFamily drops it (its enum keeps upper-case names only) "
        "though the module defines socket.AF_DECnet; csock_family_name(12) is \"AF_DECnet\""),
    "type-name-flags": (
        "README difference 13",
        "csock_type_name ignores flag bits: SocketKind(SOCK_NONBLOCK) is 'SOCK_NONBLOCK' where "
        "csock_type_name gives NULL, and SocketKind(SOCK_STREAM | SOCK_NONBLOCK) does not exist "
        "where csock_type_name gives \"SOCK_STREAM\" (the names of recorded types, which never "
        "carry flags, agree)"),
    "recv-fds-inheritable": (
        "API.md D8, Passing descriptors",
        "socket.recv_fds() receives inheritable descriptors (no MSG_CMSG_CLOEXEC), which reach "
        "a fork+exec'd child; csock_recv_fds's are close-on-exec from the call that makes them"),
    "fds-flags-ignored": (
        "API.md D20, gh-107898",
        "socket.recv_fds() drops its flags (MSG_PEEK, MSG_DONTWAIT, MSG_TRUNC, ...): its outcome "
        "is that of the call without them; csock_recv_fds passes them to the kernel and does "
        "what recvmsg(2) with them does"),
    "fds-address-ignored": (
        "API.md D20, gh-107898",
        "socket.send_fds() drops its address: on an unconnected datagram socket it fails with "
        "ENOTCONN; csock_send_fds sends to the address, as sendmsg(2) with it does"),
    "fds-without-data": (
        "API.md D20, Passing descriptors",
        "socket.send_fds() of descriptors with no data byte on a stream socket returns 0 and "
        "the kernel drops the descriptors silently; csock_send_fds refuses with EINVAL"),
}


#: The differences that concern only what an audit hook sees.
AUDIT_ONLY = {"audit-adopt-values"}


class Tally:
    """Counts compared cases: agreements, and documented differences by key."""

    def __init__(self):
        self.lock = threading.Lock()
        self.cases = 0
        self.agree = 0
        self.documented = 0
        self.agree_but_audit = 0
        self.by_key = collections.Counter()
        self.by_area = collections.Counter()
        self.agree_by_area = collections.Counter()
        self.unavailable = set()

    def add(self, area, keys):
        with self.lock:
            self.cases += 1
            self.by_area[area] += 1
            self.agree_by_area[area] += not keys
            if keys:
                self.documented += 1
                self.by_key.update(keys)
            else:
                self.agree += 1
            if set(keys) <= AUDIT_ONLY:
                self.agree_but_audit += 1

    def summary(self):
        return "compared %d cases: %d agree, %d documented differences" % (
            self.cases, self.agree, self.documented)

    def as_dict(self):
        return {"cases": self.cases, "agree": self.agree, "documented": self.documented,
                "agree_but_audit": self.agree_but_audit,
                "by_area": dict(self.by_area), "agree_by_area": dict(self.agree_by_area),
                "by_difference": dict(self.by_key),
                "unavailable": sorted(self.unavailable)}


TALLY = Tally()


@atexit.register
def _report():
    if not TALLY.cases:
        return
    print("\n" + TALLY.summary(), file=sys.stderr)
    print("  %d cases agree in everything but the audit event" % TALLY.agree_but_audit,
          file=sys.stderr)
    for area, n in sorted(TALLY.by_area.items()):
        print("  area %-22s %5d cases, %5d agree" % (area, n, TALLY.agree_by_area[area]),
              file=sys.stderr)
    for key, n in sorted(TALLY.by_key.items()):
        print("  difference %-26s %5d cases (%s)" % (key, n, DIFFERENCES[key][0]),
              file=sys.stderr)
    if TALLY.unavailable:
        print("  not creatable here: %s" % ", ".join(sorted(TALLY.unavailable)), file=sys.stderr)
    path = os.environ.get("CSOCK_CONFORMANCE_JSON")
    if path:
        with open(path, "w") as f:
            json.dump(TALLY.as_dict(), f, indent=2, sort_keys=True)


def record_names(area, keys=()):
    """Counts one comparison that is not an :class:`Outcome` (names, constants)."""
    for key in keys:
        assert key in DIFFERENCES, key
    TALLY.add(area, list(keys))


# --- Comparing ---------------------------------------------------------------------------------

class Case:
    """One input: ``op`` ("create", "adopt", "fromfd", "dup", "socketpair", "accept"),
    ``args`` (family, type, proto as given to csock), ``fd`` (the caller's descriptor, if any),
    ``truth`` (what the kernel says of it: family, type, proto), ``label``, and ``extra``
    (what a rule needs to know besides)."""

    def __init__(self, op, args, fd=None, truth=None, label="", extra=None):
        self.op, self.args, self.fd, self.truth = op, tuple(args), fd, truth
        self.label, self.extra = label, extra or {}

    def __repr__(self):
        return "%s%r fd=%r truth=%r %s" % (self.op, tuple(self.args), self.fd, self.truth,
                                          self.label)

    @property
    def adopting(self):
        return self.op in ("adopt", "fromfd")

    def recorded(self):
        """What csock's contract says an adoption records: given values (flags cleared) or the
        detected truth."""
        f, t, p = self.args
        tf, tt, tp = self.truth[:3]
        return (tf if f == -1 else f, tt if t == -1 else t & ~FLAGS, tp if p == -1 else p)


def _pin(py, cs, *fields):
    marks = {f: PINNED for f in fields}
    return py._replace(**marks), cs._replace(**marks)


def _rule_negative_fd(case, py, cs):
    if (case.op == "adopt" and case.fd < 0 and py.error == "ValueError"
            and cs.error == errno.EBADF and py.leaked == cs.leaked == 0):
        return _pin(py, cs, "error")
    return None


def _rule_audit_adopt(case, py, cs):
    if not case.adopting:
        return None
    # CPython's fromfd() fails in os.dup() (EBADF) before its socket() runs: nothing audited.
    dup_failed = case.op == "fromfd" and py.error == errno.EBADF
    py_expected = [] if dup_failed else [tuple(case.args)]
    cs_expected = [case.recorded()] if cs.error is None else []
    if py.audit == py_expected and cs.audit == cs_expected and py.audit != cs.audit:
        return _pin(py, cs, "audit")
    return None


def _python_blocking_guess(case):
    """CPython's getblocking() for an adopted socket: its timeout is 0 when the given type has
    SOCK_NONBLOCK, else the default timeout (None: blocking), whatever the descriptor says."""
    t = case.args[1]
    return not (t != -1 and t & NB)


def _rule_blocking(key, case, py, cs):
    if not case.adopting or py.error is not None or cs.error is not None:
        return None
    explicit_nb = case.args[1] != -1 and case.args[1] & NB
    if (key == "adopt-nonblock-flag") != bool(explicit_nb):
        return None
    if (py.blocking == _python_blocking_guess(case) and cs.blocking == cs.fd_blocking
            and py.fd_blocking == cs.fd_blocking and py.blocking != cs.blocking):
        return _pin(py, cs, "blocking")
    return None


def _rule_dup(case, py, cs):
    if case.op != "dup" or py.error is not None or cs.error is not None:
        return None
    guess = case.extra["guess"]  # CPython's cached blocking mode of the socket duplicated
    was = case.extra["was"]      # the descriptor's real (inheritable, blocking) before dup()
    if (py.original == (was[0], guess) and cs.original == was and py.fd_blocking == guess
            and cs.fd_blocking == was[1] and py.original != cs.original):
        py, cs = _pin(py, cs, "original", "fd_blocking")
        if py.blocking == guess and cs.blocking == was[1]:
            py, cs = _pin(py, cs, "blocking")
        return py, cs
    return None


def _rule_fromfd_leak(case, py, cs):
    if (case.op == "fromfd" and py.error == cs.error == errno.ENOTSOCK and py.leaked == 1
            and cs.leaked == 0):
        return _pin(py, cs, "leaked")
    return None


def _rule_no_getsockname(case, py, cs):
    if (not case.adopting or case.truth is None or case.args[0] != -1
            or case.truth[0] != getattr(socket, "AF_XDP", 44)):
        return None
    if py.error == errno.EOPNOTSUPP and cs.error is None and (
            cs.family, cs.type, cs.proto) == case.recorded() and cs.leaked == 0:
        # The whole outcome differs (one side failed): pin everything but the caller's fd.
        return _pin(py, cs, *[f for f in FIELDS if f not in ("original",)])
    return None


RULES = [
    ("negative-fd", _rule_negative_fd),
    ("family-without-getsockname", _rule_no_getsockname),
    ("audit-adopt-values", _rule_audit_adopt),
    ("adopt-nonblock-flag", lambda c, p, s: _rule_blocking("adopt-nonblock-flag", c, p, s)),
    ("cached-blocking", lambda c, p, s: _rule_blocking("cached-blocking", c, p, s)),
    ("dup-rewrites-blocking", _rule_dup),
    ("fromfd-leak", _rule_fromfd_leak),
]


def explain(case, py, cs):
    """Returns the keys of the documented differences between ``py`` and ``cs``, or raises
    AssertionError naming the fields no documented difference explains."""
    keys = []
    for key, rule in RULES:
        if py == cs:
            break
        pinned = rule(case, py, cs)
        if pinned is not None and pinned != (py, cs):
            py, cs = pinned
            keys.append(key)
    if py != cs:
        diff = {f: (getattr(py, f), getattr(cs, f)) for f in FIELDS
                if getattr(py, f) != getattr(cs, f)}
        raise AssertionError("%r: CPython and csock differ (field: (cpython, csock)): %r"
                             % (case, diff))
    return keys


def compare(area, case, py, cs):
    """Compares ``py`` and ``cs`` (see :func:`explain`), counts the case under ``area``, and
    returns the difference keys."""
    keys = explain(case, py, cs)
    TALLY.add(area, keys)
    return keys


# --- Connecting and serving (tests/python/test_connect.py) --------------------------------------

DIFFERENCES.update({
    "timeout-leaves-nonblocking": (
        "README difference 16",
        "create_connection with a timeout: CPython leaves the descriptor O_NONBLOCK (its own "
        "I/O methods emulate the timeout; getblocking() says True); csock's call leaves it "
        "blocking, as C callers read(2) it"),
    "port-above-65535": (
        "README difference 20",
        "a numeric port above 65535: CPython lets glibc wrap it (70000 is port 4464) and tries "
        "that; csock refuses it with EINVAL before resolving"),
    "value-error-einval": (
        "API.md Serving 5",
        "create_server(dualstack_ipv6=True) with a family other than AF_INET6: CPython raises "
        "ValueError (no errno); csock returns -EINVAL, also without a system call"),
    "dualstack-probe": (
        "README difference 18",
        "create_server(dualstack_ipv6=True): CPython first calls has_dualstack_ipv6(), whose "
        "probe socket raises a socket.__new__ audit event of its own (AF_INET6, SOCK_STREAM, "
        "0); csock makes no probe socket"),
    "server-resolves-first": (
        "README difference 18",
        "create_server with an address the resolver refuses for the family: CPython makes the "
        "socket first (audited) and fails at bind with the resolver's error; csock resolves "
        "first and returns the same error without making a socket"),
    "reuseport-unix": (
        "README difference 18",
        "create_server(AF_UNIX, reuse_port=True): CPython 3.11 sets SO_REUSEPORT, which Linux "
        "6.12.9 and later reject (EOPNOTSUPP); csock never sets it on AF_UNIX and the server "
        "is made"),
})


def _rule_timeout_nonblocking(case, py, cs):
    if case.op != "create_connection" or py.error is not None or cs.error is not None:
        return None
    timeout = case.extra.get("timeout")
    if timeout is None or timeout <= 0:
        return None
    # CPython's getblocking() is True for a timeout (only 0 is "non-blocking"), but the
    # descriptor under it is O_NONBLOCK.
    if (py.blocking, py.fd_blocking) == (True, False) and (cs.blocking, cs.fd_blocking) == (
            True, True):
        return _pin(py, cs, "fd_blocking")
    return None


def _rule_port_wrap(case, py, cs):
    if case.op != "create_connection" or not case.extra.get("port_above_65535"):
        return None
    if cs.error == errno.EINVAL and cs.audit == [] and cs.leaked == 0 and py.leaked == 0:
        return _pin(py, cs, *[f for f in FIELDS if f != "leaked"])
    return None


def _rule_resolves_first(case, py, cs):
    if case.op != "create_server":
        return None
    family = case.args[1]
    if (isinstance(py.error, int) and py.error < 0 and py.error == cs.error and cs.audit == []
            and py.audit and set(py.audit) == {(family, socket.SOCK_STREAM, 0)}
            and py.leaked == cs.leaked == 0):
        return _pin(py, cs, "audit")
    return None


def _rule_dualstack_probe(case, py, cs):
    if case.op != "create_server" or not case.extra.get("dualstack"):
        return None
    probe = (socket.AF_INET6, socket.SOCK_STREAM, 0)
    if py.audit and py.audit[0] == probe and py.audit[1:] == cs.audit:
        return _pin(py, cs, "audit")
    return None


def _rule_value_error(case, py, cs):
    if case.op not in ("create_server", "create_connection"):
        return None
    if (py.error == "ValueError" and cs.error == errno.EINVAL and py.audit == cs.audit
            and cs.audit in ([], PINNED)):
        return _pin(py, cs, "error")
    return None


def _rule_reuseport_unix(case, py, cs):
    if case.op != "create_server" or not case.extra.get("unix_reuse_port"):
        return None
    if (py.error == errno.EOPNOTSUPP and cs.error is None and py.leaked == cs.leaked == 0
            and case.extra.get("csock_reuseport") == 0):
        return _pin(py, cs, *[f for f in FIELDS if f not in ("audit", "leaked")])
    return None


RULES.extend([
    ("server-resolves-first", _rule_resolves_first),
    ("dualstack-probe", _rule_dualstack_probe),
    ("timeout-leaves-nonblocking", _rule_timeout_nonblocking),
    ("port-above-65535", _rule_port_wrap),
    ("value-error-einval", _rule_value_error),
    ("reuseport-unix", _rule_reuseport_unix),
])

"""Differential tests: csock_constant / csock_constant64 against every integer constant of the
socket module of every Python on the machine, in both directions, and csock_family_name /
csock_type_name against socket.AddressFamily / socket.SocketKind.

The Pythons: the one running this suite (``python3``, built without Bluetooth) and the
distribution's ``/usr/bin/python3.11``, built with it (``AF_BLUETOOTH``, ``SOL_HCI``,
``BTPROTO_*``, ``HCI_*``); ``CSOCK_OTHER_PYTHONS`` (space-separated) replaces that second list.
A Python that is not installed is skipped, and the test says which.
"""

import errno
import json
import os
import re
import socket
import subprocess
import sys
import unittest

from conformance import CX, FLAGS, LIB, NB, ROOT, record_names, csock

OTHER_PYTHONS = os.environ.get("CSOCK_OTHER_PYTHONS", "/usr/bin/python3.11").split()

# Run by each Python: what its socket module defines, as JSON. The rule for "an integer constant
# of the module": every public name of the C module _socket (which socket re-exports) whose value
# is an int and not a bool. Every other int attribute of socket is listed apart, to show that the
# rule leaves out only what is not the module's own (errno values socket.py imports).
DUMP = r"""
import errno, json, socket, sys, _socket
def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)
constants = {n: int(getattr(_socket, n)) for n in dir(_socket)
             if not n.startswith("_") and is_int(getattr(_socket, n))}
others = {n: int(getattr(socket, n)) for n in dir(socket)
          if is_int(getattr(socket, n)) and n not in constants}
json.dump({
    "version": sys.version.split()[0],
    "constants": constants,
    "others": others,
    "bools": sorted(n for n in dir(socket) if isinstance(getattr(socket, n), bool)),
    "families": {int(m): m.name for m in socket.AddressFamily},
    "types": {int(m): m.name for m in socket.SocketKind},
}, sys.stdout)
"""

# The table the library is built from, one `(c"NAME", value),` line per constant.
TABLE = os.path.join(ROOT, "src", "names", "constants.rs")


def dump(python):
    """What ``python``'s socket module defines, or ``None`` if it is not installed."""
    try:
        out = subprocess.run([python, "-c", DUMP], check=True, capture_output=True, text=True)
    except FileNotFoundError:
        return None
    d = json.loads(out.stdout)
    d["families"] = {int(k): v for k, v in d["families"].items()}
    d["types"] = {int(k): v for k, v in d["types"].items()}
    return d


_DUMPS = {}


def pythons():
    """``{python: dump}`` of this Python and every other one installed (each run once)."""
    if not _DUMPS:
        for python in [sys.executable] + OTHER_PYTHONS:
            _DUMPS[python] = dump(python)
    return _DUMPS


def installed():
    return {p: d for p, d in pythons().items() if d is not None}


def table_names():
    """Every name in the library's source table, with its value."""
    with open(TABLE) as f:
        entries = re.findall(r'^\s*\(c"([^"]+)",\s*(-?(?:0x[0-9a-f]+|\d+))\),$', f.read(), re.M)
    return {name: int(value, 0) for name, value in entries}


def int32(value):
    """The signed 32-bit pattern of ``value`` (CAN_EFF_FLAG 0x80000000 is -0x80000000)."""
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def enum_name(enum, value):
    try:
        return enum(value).name
    except ValueError:
        return None


class ConstantsTest(unittest.TestCase):

    def check_python(self, python):
        d = pythons()[python]
        if d is None:
            self.skipTest("%s is not installed: its constants are not compared" % python)
        constants = d["constants"]
        # The rule leaves out only errno values (socket.py's own imports) and bools.
        for name, value in d["others"].items():
            self.assertEqual(getattr(errno, name, None), value, name)
        self.assertIn("has_ipv6", d["bools"])
        self.assertGreater(len(constants), 300)
        for name, value in sorted(constants.items()):
            with self.subTest(python=python, name=name):
                self.assertEqual(csock.constant64(name, lib=LIB), value)
                self.assertEqual(csock.constant(name, lib=LIB), int32(value))
                record_names("constant")
        for name in list(d["others"]) + d["bools"]:
            with self.subTest(python=python, name=name):
                with self.assertRaises(OSError) as cm:
                    csock.constant64(name, lib=LIB)
                self.assertEqual(cm.exception.errno, errno.ENOENT)
                record_names("constant")
        return d

    def test_every_constant_of_this_python(self):
        self.check_python(sys.executable)

    def test_every_constant_of_the_other_pythons(self):
        for python in OTHER_PYTHONS:
            with self.subTest(python=python):
                d = self.check_python(python)
                if python == "/usr/bin/python3.11":
                    # The distribution's build has Bluetooth: the names python3 lacks.
                    for name in ("AF_BLUETOOTH", "SOL_HCI", "BTPROTO_RFCOMM", "HCI_FILTER"):
                        self.assertIn(name, d["constants"])

    def test_csock_knows_no_name_that_no_python_has(self):
        known = installed()
        if set(known) != set(pythons()):
            missing = sorted(set(pythons()) - set(known))
            self.skipTest("not installed: %s; the union would be incomplete" % ", ".join(missing))
        union = {}
        for d in known.values():
            for name, value in d["constants"].items():
                self.assertEqual(union.setdefault(name, value), value, name)
        table = table_names()
        self.assertEqual(sorted(set(table) - set(union)), [], "names no Python has")
        self.assertEqual(sorted(set(union) - set(table)), [], "names missing from the table")
        self.assertEqual(table, union)
        # And the table is what the library was built from.
        for name, value in table.items():
            self.assertEqual(csock.constant64(name, lib=LIB), value, name)
        record_names("constant")

    def test_wide_values(self):
        self.assertEqual(csock.constant64("CAN_EFF_FLAG", lib=LIB), 0x80000000)
        self.assertEqual(csock.constant("CAN_EFF_FLAG", lib=LIB), -0x80000000)
        self.assertEqual(csock.constant64("INADDR_NONE", lib=LIB), 0xFFFFFFFF)
        self.assertEqual(csock.constant("INADDR_NONE", lib=LIB), -1)
        self.assertEqual(csock.constant64("EAI_AGAIN", lib=LIB), -3)

    def test_unknown_names_are_enoent_and_named(self):
        every = set()
        for d in installed().values():
            every |= set(d["constants"])
        for name in ("AF_NOPE", "af_inet", "AF_INET ", "", "SOCK_", "AF_INE", "SO_TYPEX",
                     "x" * 300):
            for function in (csock.constant, csock.constant64):
                with self.subTest(name=name[:20], function=function.__name__):
                    self.assertNotIn(name, every)
                    with self.assertRaises(OSError) as cm:
                        function(name, lib=LIB)
                    self.assertEqual(cm.exception.errno, errno.ENOENT)
                    shown = name[:64] + ('"...' if len(name) > 64 else '"')
                    self.assertEqual(
                        cm.exception.strerror,
                        'csock_%s("%s): no constant of that name: ENOENT: %s'
                        % (function.__name__, shown, os.strerror(errno.ENOENT)))


class NamesTest(unittest.TestCase):

    def enum_names(self, key):
        """``{value: name}`` of the enum, over every installed Python (they must agree)."""
        names = {}
        for python, d in installed().items():
            for value, name in d[key].items():
                self.assertEqual(names.setdefault(value, name), name, (python, value))
        return names

    def test_family_names(self):
        families = self.enum_names("families")
        absent = sorted(set(pythons()) - set(installed()))
        for value in list(range(-2, 64)) + [12345, 1 << 16, -(1 << 31)]:
            with self.subTest(family=value):
                py = families.get(value)
                cs = csock.family_name(value, lib=LIB)
                if py is None and cs is not None and cs in table_names() and absent:
                    # A family only a Python that is not installed names (AF_BLUETOOTH).
                    self.skipTest("%s: %s is not installed" % (cs, ", ".join(absent)))
                if py is None and cs == "AF_DECnet":
                    # AddressFamily keeps upper-case names only; the module has AF_DECnet.
                    self.assertEqual(value, socket.AF_DECnet)
                    record_names("family-name", ["decnet-name"])
                    continue
                self.assertEqual(cs, py)
                record_names("family-name")

    def test_type_names(self):
        kinds = self.enum_names("types")
        bases = list(range(-2, 16)) + [999]
        values = bases + [NB, CX, NB | CX] + [b | f for b in range(1, 6) for f in (NB, CX, FLAGS)]
        for value in values:
            with self.subTest(type=value):
                py = kinds.get(value)
                cs = csock.type_name(value, lib=LIB)
                if value & FLAGS and value != -1 and value != -2:
                    # csock_type_name ignores flag bits; SocketKind names the flags alone and
                    # has no member for a type with flags.
                    base = value & ~FLAGS
                    self.assertEqual(cs, kinds.get(base) if base else None)
                    self.assertEqual(py, {NB: "SOCK_NONBLOCK", CX: "SOCK_CLOEXEC"}.get(value))
                    record_names("type-name", ["type-name-flags"] if py != cs else [])
                    continue
                self.assertEqual(cs, py)
                self.assertEqual(cs, enum_name(socket.SocketKind, value))
                record_names("type-name")

    def test_names_of_recorded_types_agree(self):
        # What repr() shows: the recorded type, which never has flag bits, on both sides.
        for t in (socket.SOCK_STREAM | NB, socket.SOCK_DGRAM | CX, socket.SOCK_RAW | FLAGS):
            with self.subTest(type=t):
                try:
                    py = socket.socket(socket.AF_UNIX, t)
                except OSError:
                    continue
                with py, csock.Socket(socket.AF_UNIX, t, lib=LIB) as cs:
                    self.assertEqual(csock.type_name(cs.type, lib=LIB), py.type.name)
                    self.assertIn("type=%s," % py.type.name, repr(cs))
                    record_names("type-name")


if __name__ == "__main__":
    unittest.main()

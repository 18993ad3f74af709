"""Differential tests: csock_constant against the constants of CPython's socket module, and
csock_family_name / csock_type_name against socket.AddressFamily / socket.SocketKind."""

import errno
import socket
import unittest

from conformance import CX, FLAGS, LIB, NB, record_names, csock

PREFIXES = ("AF_", "SOCK_", "SHUT_", "SOL_", "IPPROTO_", "CAN_")


def python_constants():
    """Every int constant of the socket module under the prefixes csock_constant covers."""
    return {name: int(getattr(socket, name)) for name in dir(socket)
            if name.startswith(PREFIXES) and isinstance(getattr(socket, name), int)}


def int32(value):
    """The signed 32-bit pattern of ``value`` (CAN_EFF_FLAG is 0x80000000)."""
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def enum_name(enum, value):
    try:
        return enum(value).name
    except ValueError:
        return None


class ConstantsTest(unittest.TestCase):

    def test_every_python_constant_is_known_with_its_value(self):
        constants = python_constants()
        # Each prefix is present, so the comparison below covers all six families of names.
        for prefix in PREFIXES:
            self.assertTrue(any(n.startswith(prefix) for n in constants), prefix)
        for name, value in sorted(constants.items()):
            with self.subTest(name=name):
                self.assertEqual(csock.constant(name, lib=LIB), int32(value))
                record_names("constant")

    def test_wide_value_keeps_its_32_bit_pattern(self):
        self.assertEqual(socket.CAN_EFF_FLAG, 0x80000000)
        self.assertEqual(csock.constant("CAN_EFF_FLAG", lib=LIB), -0x80000000)

    def test_unknown_names_are_enoent(self):
        for name in ("AF_NOPE", "af_inet", "AF_INET ", "", "SOCK_", "SO_TYPE", "INADDR_ANY"):
            with self.subTest(name=name):
                self.assertNotIn(name, python_constants())
                with self.assertRaises(OSError) as cm:
                    csock.constant(name, lib=LIB)
                self.assertEqual(cm.exception.errno, errno.ENOENT)
                self.assertIn("csock_constant", cm.exception.strerror)


class NamesTest(unittest.TestCase):

    def test_family_names(self):
        for value in list(range(-2, 64)) + [12345, 1 << 16, -(1 << 31)]:
            with self.subTest(family=value):
                py = enum_name(socket.AddressFamily, value)
                cs = csock.family_name(value, lib=LIB)
                if py is None and cs == "AF_DECnet":
                    # AddressFamily keeps upper-case names only; the module has AF_DECnet.
                    self.assertEqual(value, socket.AF_DECnet)
                    self.assertNotIn(value, {int(m) for m in socket.AddressFamily})
                    record_names("family-name", ["decnet-name"])
                    continue
                if cs is not None and py is not None and cs != py:
                    # An alias: the same value under another of Python's names (AF_ROUTE).
                    self.assertEqual(getattr(socket, cs), value)
                else:
                    self.assertEqual(cs, py)
                record_names("family-name")

    def test_type_names(self):
        bases = list(range(-2, 16)) + [999]
        values = bases + [NB, CX, NB | CX] + [b | f for b in range(1, 6) for f in (NB, CX, FLAGS)]
        for value in values:
            with self.subTest(type=value):
                py = enum_name(socket.SocketKind, value)
                cs = csock.type_name(value, lib=LIB)
                if value & FLAGS and value != -1 and value != -2:
                    # csock_type_name ignores flag bits; SocketKind names the flags alone and
                    # has no member for a type with flags.
                    base = value & ~FLAGS
                    self.assertEqual(cs, enum_name(socket.SocketKind, base) if base else None)
                    self.assertEqual(py, {NB: "SOCK_NONBLOCK", CX: "SOCK_CLOEXEC"}.get(value))
                    record_names("type-name", ["type-name-flags"] if py != cs else [])
                    continue
                self.assertEqual(cs, py)
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

"""The comparator of the differential suite: an unexplained difference fails, and a documented
difference is accepted only when both sides do exactly what is documented."""

import errno
import socket
import unittest

from conformance import NB, Case, Outcome, explain

TRUTH = (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)


def adopted(family=2, type=1, proto=6, blocking=True, fd_blocking=True, audit=None):
    return Outcome(error=None, family=family, type=type, proto=proto, inheritable=False,
                   blocking=blocking, fd_inheritable=False, fd_blocking=fd_blocking,
                   audit=audit if audit is not None else [(family, type, proto)],
                   original=(False, fd_blocking), leaked=0)


class ComparatorTest(unittest.TestCase):

    def test_equal_outcomes_agree(self):
        case = Case("adopt", (2, 1, 6), 5, TRUTH)
        self.assertEqual(explain(case, adopted(), adopted()), [])

    def test_an_unexplained_difference_fails(self):
        case = Case("adopt", (2, 1, 6), 5, TRUTH)
        for field, value in (("family", 10), ("type", 2), ("proto", 0), ("error", 9),
                             ("fd_inheritable", True), ("leaked", 1), ("original", None)):
            with self.subTest(field=field):
                with self.assertRaisesRegex(AssertionError, field):
                    explain(case, adopted(), adopted()._replace(**{field: value}))

    def test_documented_difference_is_accepted(self):
        case = Case("adopt", (-1, 1 | NB, -1), 5, TRUTH)
        py = adopted(blocking=False, audit=[(-1, 1 | NB, -1)])
        cs = adopted(blocking=True)
        self.assertEqual(explain(case, py, cs), ["audit-adopt-values", "adopt-nonblock-flag"])

    def test_documented_difference_pins_both_sides(self):
        case = Case("adopt", (-1, 1 | NB, -1), 5, TRUTH)
        # csock reporting non-blocking for a blocking descriptor is not the documented csock
        # behaviour (it reads the kernel), so the difference is not explained.
        py = adopted(blocking=True, audit=[(-1, 1 | NB, -1)])
        cs = adopted(blocking=False)
        with self.assertRaisesRegex(AssertionError, "blocking"):
            explain(case, py, cs)
        # Nor is a csock audit that shows something other than the recorded values.
        py = adopted(audit=[(-1, 1, -1)])
        cs = adopted(audit=[(-1, 1, -1)])
        self.assertEqual(explain(Case("adopt", (-1, 1, -1), 5, TRUTH), py, cs), [])
        cs = adopted(audit=[(2, 1, 0)])
        with self.assertRaisesRegex(AssertionError, "audit"):
            explain(Case("adopt", (-1, 1, -1), 5, TRUTH), py, cs)

    def test_negative_fd_needs_ebadf_from_csock(self):
        case = Case("adopt", (-1, -1, -1), -1)
        py = Outcome(error="ValueError", audit=[(-1, -1, -1)], leaked=0)
        self.assertEqual(explain(case, py, Outcome(error=errno.EBADF, audit=[], leaked=0)),
                         ["negative-fd", "audit-adopt-values"])
        with self.assertRaises(AssertionError):
            explain(case, py, Outcome(error=errno.ENOTSOCK, audit=[], leaked=0))

    def test_only_cpython_may_leak_in_fromfd(self):
        case = Case("fromfd", (-1, -1, -1), 5)
        py = Outcome(error=errno.ENOTSOCK, audit=[(-1, -1, -1)], leaked=1)
        self.assertEqual(explain(case, py, Outcome(error=errno.ENOTSOCK, audit=[], leaked=0)),
                         ["audit-adopt-values", "fromfd-leak"])
        # Both leaking would agree here; the grids check csock's own count separately.
        with self.assertRaisesRegex(AssertionError, "leaked"):
            explain(case, py._replace(leaked=0), Outcome(error=errno.ENOTSOCK, audit=[], leaked=1))


if __name__ == "__main__":
    unittest.main()

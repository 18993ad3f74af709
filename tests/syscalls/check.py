"""TAP: the exact system calls each csock operation makes, counted by strace.

Runs tests/syscalls/ops.c (built as $CSOCK_SYSCALL_OPS) once per mode under strace ($STRACE) and,
for every segment between its markers, compares the system calls strace saw with the ones the
BEGIN marker lists: same count, same order, same names, and the flags each one must (or must
not) carry. Run by `make syscall-test`.
"""

import os
import re
import subprocess
import sys
import tempfile

OPS = os.environ.get("CSOCK_SYSCALL_OPS", "build/tests/syscalls/ops")
STRACE = os.environ.get("STRACE", "strace")
MODES = ("main", "einval-first", "socketpair-first", "connect")

CALL = re.compile(r"^(\w+)\(")
MARKER = re.compile(r'^write\(-1, "(BEGIN\|[^"]*|END)", \d+\)')

count = 0
failed = 0


def ok(passed, name, diagnostics=()):
    global count, failed
    passed = bool(passed)
    count += 1
    failed += not passed
    print(f"{'' if passed else 'not '}ok {count} - {name}")
    if not passed:
        for line in diagnostics:
            print(f"#   {line}")
    sys.stdout.flush()


def matches(expected, line):
    """Whether a strace line is the call `name`, `name:text` or `name:!text`."""
    name, _, text = expected.partition(":")
    call = CALL.match(line)
    if not call or call.group(1) != name:
        return False
    if text.startswith("!"):
        return text[1:] not in line
    return text in line


def segments(trace):
    """(label, expected calls, strace lines) for every BEGIN ... END pair, in order."""
    found, current = [], None
    for line in trace:
        marker = MARKER.match(line)
        if marker and marker.group(1) == "END":
            if current:
                found.append(current)
            current = None
        elif marker:
            _, label, calls = marker.group(1).split("|", 2)
            current = (label, calls.split(), [])
        elif current and CALL.match(line):
            current[2].append(line.strip())
    return found


def run(mode, tmp):
    out = os.path.join(tmp, f"{mode}.trace")
    try:
        proc = subprocess.run(
            [STRACE, "-qq", "-s", "512", "-o", out, OPS, mode],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        ok(False, f"{mode}: ran under {STRACE}", [str(err)])
        return
    report = proc.stdout.splitlines()
    ran = [int(l.split()[1]) for l in report if l.startswith("segments ")]
    ok(
        proc.returncode == 0 and ran,
        f"{mode}: every operation returned what it should",
        [f"exit status {proc.returncode}"] + report + proc.stderr.splitlines(),
    )
    try:
        with open(out) as f:
            trace = f.read().splitlines()
    except OSError as err:
        ok(False, f"{mode}: strace wrote a trace", [str(err)])
        return
    found = segments(trace)
    ok(
        ran and len(found) == ran[0],
        f"{mode}: strace saw all {ran[0] if ran else '?'} marked operations",
        [f"segments in the trace: {len(found)}"],
    )
    for label, expected, got in found:
        n = len(expected)
        what = f"{n} system call{'' if n == 1 else 's'}"
        passed = len(got) == n and all(map(matches, expected, got))
        ok(
            passed,
            f"{mode}: {label}: {what}{': ' + ' '.join(expected) if expected else ''}",
            [f"expected: {' '.join(expected) or '(none)'}", "got:"] + got,
        )


def main():
    if not os.access(OPS, os.X_OK):
        print(f"Bail out! {OPS} is not built (make syscall-test builds it)")
        return 1
    with tempfile.TemporaryDirectory(prefix="csock-syscalls-") as tmp:
        for mode in MODES:
            run(mode, tmp)
    print(f"1..{count}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

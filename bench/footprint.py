"""The footprint table of `make bench`: what csock weighs and what its calls cost.

Sizes of the built files, what the shared library needs, a program linked against the static
archive, dlopen + dlsym against libuuid (bench/dlopen.c: fresh processes, interleaved), and the
instructions each call costs, counted by callgrind (bench/instructions.c). Instruction counts do
not depend on the machine's load. It prints; it asserts nothing.

Run by `make bench` with BUILD, SHARED (the shared library), STATIC (the archive), CC, STRIP,
VALGRIND and NATIVE_LIBS in the environment.
"""

import glob
import os
import re
import subprocess
import sys
import tempfile

env = os.environ
BUILD = env.get("BUILD", "build")
SHARED = env["SHARED"]
STATIC = env["STATIC"]
CC = env.get("CC", "cc")
STRIP = env.get("STRIP", "strip")
VALGRIND = env.get("VALGRIND", "valgrind")
NATIVE = open(env["NATIVE_LIBS"]).read().split() if env.get("NATIVE_LIBS") else ["-lc"]
REPS = 1000  # as bench/instructions.c


def run(*args, **kw):
    return subprocess.run(args, capture_output=True, text=True, check=True, **kw).stdout


def kb(n):
    return f"{n / 1024:.1f} KB" if n < 1 << 20 else f"{n / (1 << 20):.1f} MB"


def row(what, value, target=""):
    print(f"  {what:<58} {value:>10}   {target}")


def sizes(tmp):
    stripped = os.path.join(tmp, "stripped.so")
    run(STRIP, "-o", stripped, SHARED)
    sections = run("readelf", "-S", "-W", SHARED)
    debug = sorted(set(re.findall(r"\.debug_\w+", sections)))
    needed = re.findall(r"\(NEEDED\).*\[(.*)\]", run("readelf", "-d", SHARED))
    row(f"{os.path.basename(SHARED)}, as installed", kb(os.path.getsize(SHARED)))
    row("  stripped", kb(os.path.getsize(stripped)), "<= 100 KB (aim 65 KB)")
    row("  debug sections", ", ".join(debug) or "none", "no std debug info")
    row("  NEEDED", " ".join(needed), "libc.so.6 only")
    row(os.path.basename(STATIC), kb(os.path.getsize(STATIC)), "<= 4 MB")
    hello = os.path.join(tmp, "hello")
    here = os.path.dirname(os.path.abspath(__file__))
    for what, extra in (("", []), (", --gc-sections", ["-Wl,--gc-sections"])):
        run(CC, "-Os", "-Iinclude", os.path.join(here, "hello.c"), STATIC, *NATIVE, *extra,
            "-o", hello)
        run(STRIP, hello)
        row(f"hello linked against {os.path.basename(STATIC)}{what}, stripped",
            kb(os.path.getsize(hello)), "<= 64 KB" if not extra else "")


def dlopen():
    out = run(os.path.join(BUILD, "bench", "dlopen"), os.path.abspath(SHARED), "201")
    m = re.search(r"libcsock (\d+) us, libuuid (\d+) us, ratio ([\d.]+)", out)
    if not m:
        row("dlopen + dlsym / libuuid", "?", out.strip())
        return
    row("dlopen + dlsym, libcsock / libuuid (201 pairs)", m.group(3),
        f"<= 1.30 ({m.group(1)} us / {m.group(2)} us, fresh processes)")


def instructions(tmp):
    prog = os.path.join(BUILD, "bench", "instructions")
    out = os.path.join(tmp, "callgrind.out")
    subprocess.run([VALGRIND, "--tool=callgrind", "--collect-atstart=no",
                    f"--callgrind-out-file={out}", prog], capture_output=True, check=True)
    counts = {}
    # One dump per operation, numbered in the order they ran (callgrind.out.1, .2, ...).
    dumps = glob.glob(out + ".*")
    for path in sorted(dumps, key=lambda p: int(p.rsplit(".", 1)[1])):
        text = open(path).read()
        name = re.search(r"^desc: Trigger: Client Request: (.*)$", text, re.M)
        total = re.search(r"^summary: (\d+)", text, re.M)
        if name and total:
            reps = 1 if name.group(1).endswith("(x1)") else REPS
            counts[name.group(1)] = int(total.group(1)) / reps
    pairs = {
        "csock_open + csock_close": "bare: socket + close",
        "csock_adopt, detecting": "bare: 3 x getsockopt",
        "csock_dup + csock_close": "bare: fcntl(F_DUPFD_CLOEXEC) + close",
        "csock_set_blocking": "bare: ioctl(FIONBIO)",
        "csock_get_inheritable": "bare: fcntl(F_GETFD)",
    }
    targets = {
        "failure": "<= 600 (aim 300)",
        "miss": "<= 400",
        "csock_constant": "<= 150",
        "csock_last_error": "O(1)",
    }
    # With csock_last_error: the whole cost once the message is read (it is written then).
    read_too = "the message written too"
    print("  instructions per call (callgrind; user space only, the kernel's work is not counted)")
    for name, n in counts.items():
        if name.startswith("bare: "):
            continue
        target = next((t for k, t in targets.items() if name.startswith(k)), "")
        if name.endswith("+ csock_last_error"):
            target = read_too
        if name in pairs and pairs[name] in counts:
            over = n - counts[pairs[name]]
            row(f"  {name}", f"{n:.0f}", f"{over:+.0f} over the bare system calls")
        else:
            row(f"  {name}", f"{n:.0f}", target)


def main():
    print("footprint")
    with tempfile.TemporaryDirectory(prefix="csock-footprint-") as tmp:
        sizes(tmp)
        dlopen()
        try:
            instructions(tmp)
        except (OSError, subprocess.CalledProcessError) as err:
            row("instructions", "not measured", f"valgrind: {err}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

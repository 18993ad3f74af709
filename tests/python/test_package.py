"""bindings/python as a package: `pip install --no-build-isolation --no-index` of a copy of it
into a fresh virtual environment works offline, the installed module is the binding and loads
the library named by CSOCK_LIBRARY, and without a loadable library the error names
CSOCK_LIBRARY.

Building a wheel offline needs an interpreter with setuptools and wheel (or setuptools 70.1 or
later, which builds wheels itself) and the venv module: the test uses the first Python on PATH
that has them and is skipped, saying so, when none has.
"""

import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

from conformance import LIBRARY, ROOT

PACKAGE = os.path.join(ROOT, "bindings", "python")
CHECK = "import setuptools, venv, ensurepip; import wheel"
CHECK_NEW = ("import setuptools, venv, ensurepip; "
             "assert tuple(map(int, setuptools.__version__.split('.')[:2])) >= (70, 1)")


def cargo_version():
    with open(os.path.join(ROOT, "Cargo.toml")) as f:
        return re.search(r'^version = "(.*)"', f.read(), flags=re.M).group(1)


def builder_python():
    """The first interpreter (this one, then each python3* on PATH) that can build a wheel."""
    seen = set()
    candidates = [sys.executable]
    for d in os.environ.get("PATH", "").split(os.pathsep):
        candidates += sorted(glob.glob(os.path.join(d, "python3")))
        candidates += sorted(glob.glob(os.path.join(d, "python3.[0-9]*")))
    for exe in candidates:
        if not re.fullmatch(r"python3(\.[0-9]+)?", os.path.basename(exe)) and exe != sys.executable:
            continue
        if not os.access(exe, os.X_OK):
            continue
        real = os.path.realpath(exe)
        if real in seen:
            continue
        seen.add(real)
        for check in (CHECK, CHECK_NEW):
            if subprocess.run([exe, "-c", check], capture_output=True).returncode == 0:
                return exe
    return None


class PackageInstall(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.python = builder_python()
        if cls.python is None:
            raise unittest.SkipTest("no Python on PATH with setuptools, wheel and venv: "
                                    "cannot build the package offline")
        cls.tmp = tempfile.mkdtemp(prefix="csock-py-package.")
        cls.venv = os.path.join(cls.tmp, "venv")
        cls.source = os.path.join(cls.tmp, "source")
        # A copy: building writes build/ and csock.egg-info next to pyproject.toml.
        shutil.copytree(PACKAGE, cls.source,
                        ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
        subprocess.run([cls.python, "-m", "venv", "--system-site-packages", cls.venv],
                       check=True, capture_output=True)
        cls.venv_python = os.path.join(cls.venv, "bin", "python")
        env = dict(os.environ, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
        env.pop("PYTHONPATH", None)
        cls.install = subprocess.run(
            [cls.venv_python, "-m", "pip", "install", "--no-build-isolation", "--no-index",
             cls.source], capture_output=True, text=True, env=env)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def run_installed(self, code, **env):
        """Runs `code` in the venv's python, outside the tree, with `env` (None removes)."""
        environ = dict(os.environ)
        environ.pop("PYTHONPATH", None)
        for name, value in env.items():
            if value is None:
                environ.pop(name, None)
            else:
                environ[name] = value
        return subprocess.run([self.venv_python, "-c", code], capture_output=True, text=True,
                              cwd=self.tmp, env=environ)

    def test_1_pip_installs_it_offline(self):
        self.assertEqual(self.install.returncode, 0, self.install.stdout + self.install.stderr)
        self.assertIn("Successfully installed csock-" + cargo_version(), self.install.stdout)

    def test_2_the_installed_module_is_the_binding_and_loads_the_library(self):
        result = self.run_installed(
            "import csock; print(csock.__file__); print(csock.__version__);"
            "print(csock.version()); print(csock.version_number()); print(csock.load().path)",
            CSOCK_LIBRARY=LIBRARY)
        self.assertEqual(result.returncode, 0, result.stderr)
        path, version, lib_version, number, lib_path = result.stdout.split("\n")[:5]
        self.assertTrue(path.startswith(os.path.join(self.venv, "lib")), path)
        self.assertEqual(version, cargo_version())
        self.assertEqual(lib_version, cargo_version())
        major, minor, patch = map(int, cargo_version().split("."))
        self.assertEqual(int(number), major * 10000 + minor * 100 + patch)
        self.assertEqual(lib_path, LIBRARY)

    def test_3_a_bad_csock_library_fails_with_a_message_naming_it(self):
        missing = os.path.join(self.tmp, "no", "libcsock.so")
        result = self.run_installed("import csock; csock.version()", CSOCK_LIBRARY=missing)
        self.assertNotEqual(result.returncode, 0)
        last = result.stderr.strip().splitlines()[-1]
        self.assertTrue(last.startswith("csock.LibraryNotFound: "), last)
        self.assertIn(repr(missing), last)
        self.assertIn("CSOCK_LIBRARY", last)

    def test_4_no_library_at_all_fails_with_a_message_naming_csock_library(self):
        probe = self.run_installed("import ctypes, ctypes.util, sys;"
                                   "name = ctypes.util.find_library('csock') or 'libcsock.so.0';"
                                   "ctypes.CDLL(name)", CSOCK_LIBRARY=None, LD_LIBRARY_PATH=None)
        if probe.returncode == 0:
            self.skipTest("a libcsock is installed on this machine: the loader finds one")
        result = self.run_installed("import csock; csock.load()",
                                    CSOCK_LIBRARY=None, LD_LIBRARY_PATH=None)
        self.assertNotEqual(result.returncode, 0)
        last = result.stderr.strip().splitlines()[-1]
        self.assertTrue(last.startswith("csock.LibraryNotFound: "), last)
        self.assertIn("CSOCK_LIBRARY", last)


if __name__ == "__main__":
    unittest.main()

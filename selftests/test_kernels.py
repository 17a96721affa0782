"""The guest kernels (selftests/vm/kernels.sh): the guest boots the one
--guest names, with the module built for it; bad kernel names are refused
in one line by every entry point."""

import os
import subprocess

import pytest

import conftest
import vmrun
from conftest import REPO, run

KREL = os.path.join(REPO, "selftests", "vm", "krel.sh")
VMRUN = os.path.join(REPO, "selftests", "vm", "vmrun.py")


def test_guest_boots_the_named_kernel(guest, guest_name):
    r = run(guest, "uname -r; test -e /sys/kernel/btf/nestiommu && echo btf")
    assert r.rc == 0 and r.output.split() == [vmrun.krel(guest_name), "btf"], r.output
    assert conftest.MODULE == ("kernel/nestiommu.ko" if guest_name == "generic"
                               else f"build/kernel/{guest_name}/nestiommu.ko")


def test_krel_lists_the_kernels():
    r = subprocess.run([KREL, "--list"], capture_output=True, text=True)
    assert (r.returncode, r.stdout) == (0, "generic rt 6.12\n"), r


@pytest.mark.parametrize("name, message", [
    ("foo", "krel.sh: unknown guest kernel 'foo' (one of: generic rt 6.12)\n"),
    ("debug", "krel.sh: GUEST=debug is reserved for the KASAN + lockdep kernel, which does not exist yet\n"),
])
def test_krel_refuses_bad_names(name, message):
    r = subprocess.run([KREL, name], capture_output=True, text=True)
    assert (r.returncode, r.stdout, r.stderr) == (1, "", message)


def test_make_refuses_bad_guest():
    r = subprocess.run(["make", "GUEST=debug", "help"], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 2 and r.stdout == ""
    assert "GUEST=debug is not a guest kernel: generic rt 6.12 (debug is reserved" in r.stderr, r.stderr


def test_make_refuses_kdir_with_guest():
    r = subprocess.run(["make", "GUEST=rt", "KDIR=/nonexistent", "help"], cwd=REPO,
                       capture_output=True, text=True)
    assert r.returncode == 2 and "KDIR and GUEST exclude each other" in r.stderr, r.stderr


def test_vmrun_refuses_bad_guest():
    r = subprocess.run(["/usr/bin/python3", VMRUN, "--guest", "foo", "--", "true"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "argument --guest: invalid choice: 'foo'" in r.stderr, r.stderr


def test_pytest_refuses_bad_guest():
    r = subprocess.run(["/usr/bin/python3", "-m", "pytest", "-q", "--collect-only", "--guest", "foo",
                        os.path.join(REPO, "selftests", "test_kernels.py")],
                       capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 4, r
    assert "ERROR: --guest foo: not a guest kernel (generic, rt, 6.12)" in r.stderr, r.stderr

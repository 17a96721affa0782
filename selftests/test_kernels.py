"""The guest kernels (selftests/vm/kernels.sh): the guest boots the one
--guest names, with the module built for it; bad kernel names are refused
in one line by every entry point."""

import os
import shutil
import subprocess

import pytest

import conftest
import vmrun
from conftest import REPO, run

KREL = os.path.join(REPO, "selftests", "vm", "krel.sh")
VMRUN = os.path.join(REPO, "selftests", "vm", "vmrun.py")
SUBSET = os.path.join(REPO, "selftests", "kernel-subset.sh")


def test_guest_boots_the_named_kernel(guest, guest_name):
    r = run(guest, "uname -r; test -e /sys/kernel/btf/nestiommu && echo btf")
    assert r.rc == 0 and r.output.split() == [vmrun.krel(guest_name), "btf"], r.output
    assert conftest.MODULE == ("kernel/nestiommu.ko" if guest_name == "generic"
                               else f"build/kernel/{guest_name}/nestiommu.ko")


def test_krel_lists_the_kernels():
    r = subprocess.run([KREL, "--list"], capture_output=True, text=True)
    assert (r.returncode, r.stdout) == (0, "generic rt 6.12 debug\n"), r


@pytest.mark.parametrize("name", ["foo", "6.1", "Debug", "generic "])
def test_krel_refuses_bad_names(name):
    r = subprocess.run([KREL, name], capture_output=True, text=True)
    message = f"krel.sh: unknown guest kernel '{name}' (one of: generic rt 6.12 debug)\n"
    assert (r.returncode, r.stdout, r.stderr) == (1, "", message)


def test_make_refuses_bad_guest():
    r = subprocess.run(["make", "GUEST=foo", "help"], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 2 and r.stdout == ""
    assert "GUEST=foo is not a guest kernel: generic rt 6.12 debug" in r.stderr, r.stderr


def test_debug_kernel_checks(guest, guest_name):
    """The debug kernel runs with KASAN, KFENCE, lockdep and the atomic-sleep
    and object checks its config (selftests/vm/debug.config) asks for."""
    if guest_name != "debug":
        pytest.skip(f"{guest_name} is not the debug kernel: no KASAN or lockdep")
    r = run(guest, "dmesg | grep -c 'KernelAddressSanitizer initialized'; "
            "test -e /proc/lockdep && echo lockdep; "
            "grep -c 'enabled: 1' /sys/kernel/debug/kfence/stats; "
            "test -e /sys/kernel/debug/debug_objects/stats && echo debug_objects")
    assert r.output.split() == ["1", "lockdep", "1", "debug_objects"], r.output


def test_make_refuses_kdir_with_guest():
    r = subprocess.run(["make", "GUEST=rt", "KDIR=/nonexistent", "help"], cwd=REPO,
                       capture_output=True, text=True)
    assert r.returncode == 2 and "KDIR and GUEST exclude each other" in r.stderr, r.stderr


@pytest.mark.parametrize("workers", ["foo", "0", "", "2 3", "-1", "1000", "2;true"])
def test_make_refuses_bad_test_workers(workers):
    r = subprocess.run(["make", f"TEST_WORKERS={workers}", "help"], capture_output=True, text=True,
                       cwd=REPO, env=MAKE_ENV)
    message = f"*** TEST_WORKERS={workers} is not a number of workers (1 to 999).  Stop."
    assert (r.returncode, r.stdout) == (2, "") and message in r.stderr, r


def test_vmrun_refuses_bad_guest():
    r = subprocess.run(["/usr/bin/python3", VMRUN, "--guest", "foo", "--", "true"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "argument --guest: invalid choice: 'foo'" in r.stderr, r.stderr


def test_pytest_refuses_bad_guest():
    r = subprocess.run(["/usr/bin/python3", "-m", "pytest", "-q", "--collect-only", "--guest", "foo",
                        os.path.join(REPO, "selftests", "test_kernels.py")],
                       capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 4, r
    assert "ERROR: --guest foo: not a guest kernel (generic, rt, 6.12, debug)" in r.stderr, r.stderr


@pytest.mark.parametrize("args, message", [
    ([], "usage: kernel-subset.sh BUILD_DIR NAME..."),
    (["build"], "usage: kernel-subset.sh BUILD_DIR NAME..."),
    (["/nonexistent", "rt"], "/nonexistent: not a directory"),
    (["build", "rt", "foo"], "unknown guest kernel 'foo' (one of: generic rt 6.12 debug)"),
    (["build", "rt 6.12"], "unknown guest kernel 'rt 6.12' (one of: generic rt 6.12 debug)"),
    (["build", ""], "unknown guest kernel '' (one of: generic rt 6.12 debug)"),
    (["build", "rt", "6.12", "rt"], "rt: named twice"),
])
def test_kernel_subset_refuses_bad_arguments(args, message):
    """make test's kernel subset script refuses bad arguments before it
    starts anything."""
    r = subprocess.run([SUBSET, *args], capture_output=True, text=True, cwd=REPO)
    assert (r.returncode, r.stdout, r.stderr) == (2, "", f"kernel-subset.sh: {message}\n")


# What a build leaves in kernel/ (a copy of the sources leaves them out).
KBUILD_PRODUCTS = ("*.o", "*.ko", "*.mod", "*.mod.c", ".*.cmd", "*.symvers", "modules.order", ".tmp_versions")
# Not the settings of a make that runs these tests (make test TESTS=...
# puts TESTS in their environment too).
MAKE_ENV = {k: v for k, v in os.environ.items()
            if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "GUEST", "TESTS", "TEST_WORKERS", "KDIR")}


@pytest.fixture(scope="module")
def tree(tmp_path_factory, request):
    """A copy of the repository (sharing its .cache/: the guest kernels) with
    generic's module and the --guest kernel's built in it, as in the
    repository (`make test`'s build always has generic's: the BPF build
    reads its BTF). The dry runs below relink the modules they find, so they
    run here: while they do, the module in the repository is the one other
    tests' guests (another pytest-xdist worker's) load."""
    tree = tmp_path_factory.mktemp("tree") / "nestiommu"
    shutil.copytree(REPO, tree, ignore=shutil.ignore_patterns(
        ".git", ".cache", "build", "__pycache__", ".pytest_cache", *KBUILD_PRODUCTS))
    os.symlink(os.path.join(REPO, ".cache"), tree / ".cache")
    for name in dict.fromkeys(["generic", request.config.getoption("guest")]):
        r = subprocess.run(["make", f"GUEST={name}", "module"], cwd=tree, env=MAKE_ENV,
                           capture_output=True, text=True)
        assert r.returncode == 0, (f"make GUEST={name} module in a copy of the repository failed:\n"
                                   f"{(r.stdout + r.stderr)[-4000:]}")
    return tree


def test_dry_run_keeps_module_btf(tree, guest_name):
    """`make -n` relinks the module (kbuild's '+' recipe lines run in a dry
    run too) and must add its BTF again, or the next guest loads a module
    without /sys/kernel/btf/nestiommu and every BPF tool fails."""
    module = tree / conftest.module_path(guest_name)
    before = module.stat().st_mtime_ns
    r = subprocess.run(["make", "-n", "module", f"GUEST={guest_name}"], cwd=tree, env=MAKE_ENV,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert module.stat().st_mtime_ns != before, "`make -n module` did not relink the module: the test shows nothing"
    sections = subprocess.run(["readelf", "-S", module], capture_output=True, text=True, check=True).stdout
    assert ".BTF" in sections, f"{conftest.module_path(guest_name)} lost its BTF in `make -n module`"


def test_dry_run_of_make_test_runs_no_test(tree):
    """`make -n test` prints the test commands and runs none of them (a
    recipe line naming $(MAKE) would run even in a dry run)."""
    r = subprocess.run(["make", "-n", "test"], cwd=tree, env=MAKE_ENV, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr
    workers = len(os.sched_getaffinity(0))  # TEST_WORKERS: nproc's count
    assert f"pytest -v -n {workers} --durations=20 selftests --guest generic" in r.stdout, r.stdout[-2000:]
    assert "test session starts" not in r.stdout and "kernel subset on" not in r.stdout, r.stdout[-2000:]


def test_module_builds_without_warnings(guest_kernel_dir, guest_name, tmp_path):
    """A fresh build of the module for the --guest kernel prints no warning
    (the sources copied, so the module the guests load is not touched)."""
    shutil.copytree(os.path.join(REPO, "kernel"), tmp_path / "kernel", ignore=shutil.ignore_patterns(*KBUILD_PRODUCTS))
    shutil.copytree(os.path.join(REPO, "include"), tmp_path / "include")
    r = subprocess.run(["make", "-C", os.path.join(guest_kernel_dir, "build"), f"M={tmp_path / 'kernel'}",
                        f"-j{os.cpu_count()}", "modules"], capture_output=True, text=True)
    out = r.stdout + r.stderr
    assert r.returncode == 0, f"the {guest_name} build failed:\n{out[-4000:]}"
    assert (tmp_path / "kernel" / "nestiommu.ko").exists(), out[-4000:]
    warnings = [line for line in out.splitlines() if "warning" in line.lower()]
    assert not warnings, f"the {guest_name} build warns:\n" + "\n".join(warnings)

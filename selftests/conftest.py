"""Shared pytest fixtures of nestiommu's selftests.

The host kernel cannot load modules, so tests that need the driver run their
commands in a QEMU guest (selftests/vm/vmrun.py): Debian's kernel, the host's
root file system shared read-only, commands run as root. Paths the guest must
see may not live below /run, /dev, /proc or /sys, nor below /tmp unless inside
the working directory (the guest mounts its own file systems there), so use
guest.results_dir, not pytest's tmp_path, to exchange files.
Run with /usr/bin/python3 -m pytest (the system python has pytest).

--guest NAME (make test GUEST=NAME) picks the guest kernel: generic (the
default), rt or 6.12. The header names it and its release; the ids of the
tests that boot another kernel end in [NAME].
"""

import os
import subprocess
import sys

import pytest

SELFTESTS = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(SELFTESTS)
sys.path.insert(0, os.path.join(SELFTESTS, "vm"))

import vmrun  # noqa: E402


def pytest_addoption(parser):
    parser.addoption("--guest", default=vmrun.DEFAULT_GUEST, metavar="NAME",
                     help=f"the guest kernel the tests boot: {', '.join(vmrun.guest_names())} "
                          f"(default: {vmrun.DEFAULT_GUEST})")


def pytest_configure(config):
    global MODULE
    name = config.getoption("guest")
    if name not in vmrun.guest_names():
        raise pytest.UsageError(f"--guest {name}: not a guest kernel ({', '.join(vmrun.guest_names())})")
    MODULE = module_path(name)


def pytest_report_header(config):
    name = config.getoption("guest")
    try:
        release = vmrun.krel(name)
    except subprocess.CalledProcessError:  # krel.sh printed why
        release = "release unknown"
    return f"guest kernel: {name} ({release}), module {MODULE}"


def guest_scope(nodeid):
    """The unit of work pytest-xdist (-n) hands one worker whole: a test
    module, whose tests share its guest (a module split across workers boots
    a guest on each), except that each C selftest binary of test_driver.py
    is a unit of its own (it runs once, in one guest, for all its cases).
    make test runs the suite so, one guest per core (TCG runs a guest on one)."""
    path, _, test = nodeid.partition("::")
    if path.endswith("test_driver.py") and test.startswith("test_selftest["):
        return f"{path}::{test[len('test_selftest['):].split(':', 1)[0]}"
    return path


# The longest units (about 2 to 4 min each on 2 cores), handed out before
# the others, so the run does not end with one of them on a worker while
# the other idles. Only the order depends on this list.
LONGEST_SCOPES = ("test_vm_runner.py", "test_iommutop.py", "test_driver.py::hwpt_test", "test_perf.py",
                  "test_faultinject_sweep.py")


def next_scope(scopes):
    """Of the units not yet handed out (SCOPES, in collection order), the
    one to hand out next: the first of LONGEST_SCOPES left, else the first."""
    for longest in LONGEST_SCOPES:
        for scope in scopes:
            if scope.endswith(longest):
                return scope
    return next(iter(scopes))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") == "each":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class GuestScopeScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid):
            return guest_scope(nodeid)

        def _assign_work_unit(self, node):
            self.workqueue.move_to_end(next_scope(self.workqueue), last=False)
            super()._assign_work_unit(node)

    return GuestScopeScheduling(config, log)


def pytest_generate_tests(metafunc):
    # Function scope: a wider one would make pytest reorder the tests by
    # the parameter, across modules, and boot each module's guest again.
    name = metafunc.config.getoption("guest")
    if name != vmrun.DEFAULT_GUEST and "guest_kernel_dir" in metafunc.fixturenames:
        metafunc.parametrize("guest_name", [name])


@pytest.fixture(autouse=True)
def guest_name(request):
    """The guest kernel's name (--guest); another kernel's is in the ids of
    the tests that boot it."""
    return request.config.getoption("guest")


@pytest.fixture(scope="session")
def guest_kernel_dir(request):
    """The prepared guest kernel dir (runs guest-kernel.sh; quick when done)."""
    name = request.config.getoption("guest")
    try:
        return vmrun.ensure_kernel(name=name)
    except Exception as e:  # CalledProcessError: the script printed why
        pytest.fail(f"cannot prepare the {name} guest kernel: {e}")


def repo_guest(kernel_dir, **kwargs):
    """A Guest whose commands start in the repo root, in a fresh workdir under
    .cache/vm/. Not started: use it as `with repo_guest(dir) as g:` (or call
    start() and stop()). kwargs go to vmrun.Guest (mem, smp, boot_timeout...)."""
    return vmrun.Guest(kernel_dir, None, REPO, **kwargs)


# ---- the guest of a test module ---------------------------------------------

def module_path(name):
    """The module built for the guest kernel NAME, relative to the repo root
    (the guest's cwd): where the Makefile builds it."""
    return "kernel/nestiommu.ko" if name == vmrun.DEFAULT_GUEST else f"build/kernel/{name}/nestiommu.ko"


MODULE = module_path(vmrun.DEFAULT_GUEST)  # the --guest kernel's (pytest_configure)


def check_kernel_errors(lines, what):
    assert not lines, f"kernel errors on the guest console during {what}:\n" + "\n".join(lines)


def run(guest, cmd, timeout=300):
    """Run CMD in the guest; fail on kernel errors during it. Return the Result."""
    r = guest.run(cmd, timeout=timeout)
    check_kernel_errors(r.kernel_errors, f"`{cmd}`")
    return r


def load_module(guest):
    r = run(guest, f"insmod {MODULE} && test -c /dev/nestiommu")
    assert r.rc == 0, f"insmod {MODULE} failed (rc {r.rc}):\n{r.output}"


@pytest.fixture(scope="module")
def guest(request, guest_kernel_dir):
    """One guest for each test module that uses it, booted when first needed.

    The module says what it needs with these attributes:
    GUEST_MEM (default "2G"), GUEST_CMDLINE (added to the kernel's command
    line), GUEST_NEEDS (programs, relative to the repo root, that must be
    built), GUEST_LOAD_MODULE (default True: insmod MODULE at boot) and
    GUEST_SETUP (a command run once booted, which must succeed).
    """
    mod = request.module
    if not os.path.exists(os.path.join(REPO, MODULE)):
        pytest.fail(f"{MODULE} is not built: run make")
    for path in getattr(mod, "GUEST_NEEDS", ()):
        if not os.access(os.path.join(REPO, path), os.X_OK):
            pytest.fail(f"{path} is not built: run make")
    with repo_guest(guest_kernel_dir, mem=getattr(mod, "GUEST_MEM", "2G"),
                    extra_cmdline=getattr(mod, "GUEST_CMDLINE", "")) as g:
        if getattr(mod, "GUEST_LOAD_MODULE", True):
            load_module(g)
        setup = getattr(mod, "GUEST_SETUP", None)
        if setup:
            r = run(g, setup)
            assert r.rc == 0, f"`{setup}` failed (rc {r.rc}):\n{r.output}"
        yield g


@pytest.fixture
def _no_kernel_errors(request):
    """Fail the test if the guest console showed kernel errors while it ran.
    A module opts in with pytestmark = pytest.mark.usefixtures("_no_kernel_errors")
    (test_vm_runner.py provokes kernel errors on purpose)."""
    if "guest" not in request.fixturenames:
        yield
        return
    g = request.getfixturevalue("guest")
    seen = len(g.kernel_errors())
    yield
    check_kernel_errors(g.kernel_errors()[seen:], request.node.name)

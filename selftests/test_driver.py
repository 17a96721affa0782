"""Driver tests: the in-guest C selftests and the tracing/BPF/module checks.

One guest is booted for this module, with kernel/nestiommu.ko loaded. Each
C selftest binary (build/selftests/, built by `make -C selftests/guest`) is
listed on the host at collection time (`--list`), run once in the guest, and
every KTAP case becomes its own pytest case, e.g.
test_selftest[ioas_test:ioas.map_overlap_eexist].

Any kernel error (WARN, BUG, Oops, ...) on the guest console fails the test
during which it appeared, naming the console lines.

Run with /usr/bin/python3 -m pytest selftests/test_driver.py.
"""

import os
import re
import subprocess

import pytest

import ktap
import vmrun  # on sys.path through conftest.py

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(REPO, "build", "selftests")
MODULE = "kernel/nestiommu.ko"  # relative to the repo root, the guest's cwd
MAPLOOP = os.path.join(BUILD, "maploop")

# The C selftest binaries whose KTAP cases become pytest cases.
SELFTESTS = ("ioas_test",)
SELFTEST_TIMEOUT = 1800  # seconds for a whole binary (its cases time out earlier)

# A module type that must be in the module's BTF.
BTF_TYPE = "nest_ioas"



# ---- collection: list the C cases on the host --------------------------------


def pytest_generate_tests(metafunc):
    if "selftest_case" not in metafunc.fixturenames:
        return
    params = []
    for binary in SELFTESTS:
        # Run on the host with --list: needs no device.
        cases = ktap.list_cases(os.path.join(BUILD, binary))
        if cases is None:
            # Collected as a case that fails, so a missing build is never silent.
            params.append(pytest.param((binary, None), id=f"{binary}:NOT-BUILT"))
            continue
        params += [pytest.param((binary, case), id=f"{binary}:{case}") for case in cases]
    metafunc.parametrize("selftest_case", params)


# ---- the guest ----------------------------------------------------------------


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
def guest(guest_kernel_dir):
    if not os.path.exists(os.path.join(REPO, MODULE)):
        pytest.fail(f"{MODULE} is not built (make -C /lib/modules/KREL/build M={REPO}/kernel modules)")
    # workdir None: the runner makes one below .cache/vm/ (the guest sees it).
    with vmrun.Guest(guest_kernel_dir, None, REPO) as g:
        load_module(g)
        yield g


@pytest.fixture(autouse=True)
def _no_kernel_errors(request):
    """Fail the test if the guest console showed kernel errors while it ran."""
    if "guest" not in request.fixturenames:
        yield
        return
    g = request.getfixturevalue("guest")
    seen = len(g.kernel_errors())
    yield
    check_kernel_errors(g.kernel_errors()[seen:], request.node.name)


def attribute_kernel_errors(console, binary, errors):
    """Split ERRORS (console lines) by the case that was running.

    The binary runs with --kmsg, so CONSOLE (what the console printed during
    the run) has a "BINARY: start CASE" line before each case. Returns
    ({case: lines}, lines that cannot be attributed to one case).
    """
    marker = re.compile(rf"\b{re.escape(binary)}: start (\S+)\s*$")
    by_case, current, found = {}, None, []
    for line in console.splitlines():
        m = marker.search(line)
        if m:
            current = m.group(1)
        elif vmrun.BAD_CONSOLE_RE.search(line) and current is not None:
            by_case.setdefault(current, []).append(line.rstrip())
            found.append(line.rstrip())
    return by_case, [e for e in errors if e not in found]


@pytest.fixture(scope="module")
def selftest_runs(guest):
    """binary -> (Result, parsed KTAP, kernel errors by case, unattributed
    kernel errors); each binary runs once, when first needed."""
    runs = {}

    def get(binary):
        if binary not in runs:
            start = os.path.getsize(guest.console_log)
            r = guest.run(f"{os.path.join(BUILD, binary)} --kmsg", timeout=SELFTEST_TIMEOUT)
            with open(guest.console_log, "rb") as f:
                f.seek(start)
                console = f.read().decode("utf-8", "replace")
            runs[binary] = (r, ktap.parse(r.output), *attribute_kernel_errors(console, binary, r.kernel_errors))
        return runs[binary]

    return get


# ---- the C selftests ----------------------------------------------------------


def test_selftest(guest, selftest_runs, selftest_case):
    binary, case = selftest_case
    if case is None:
        pytest.fail(f"build/selftests/{binary} is missing or its --list failed: run make -C selftests/guest")
    r, results, errors_by_case, unattributed = selftest_runs(binary)
    check_kernel_errors(errors_by_case.get(case, []), f"{binary} {case}")
    # Errors the markers cannot place fail every case of the run.
    check_kernel_errors(unattributed, f"the run of {binary} (case unknown)")
    ktap.check_case(results, case, binary, r.rc, r.output)


# ---- tracepoints ----------------------------------------------------------------


def test_perf_counts_maps(guest):
    r = run(guest, f"perf stat -e nestiommu:map -e nestiommu:unmap -x, -- {MAPLOOP} -n 100")
    assert r.rc == 0, f"perf stat failed (rc {r.rc}):\n{r.output}"
    counts = {}
    for line in r.output.splitlines():
        # CSV: value,unit,event,run time,percentage,...
        m = re.match(r"^(\d+|<not counted>|<not supported>),[^,]*,nestiommu:(map|unmap)\b", line)
        if m:
            counts[m.group(2)] = m.group(1)
    assert counts == {"map": "100", "unmap": "100"}, f"perf stat counts {counts}:\n{r.output}"
    assert "maps=100 unmaps=100" in r.output


def test_bpftrace_sees_map_args(guest):
    iova, length, count = 0x40000000, 0x3000, 5
    prog = 'tracepoint:nestiommu:map { printf("iova=%lx length=%lx\\n", args->iova, args->length); }'
    cmd = f"bpftrace -e '{prog}' -c '{MAPLOOP} -n {count} -i {iova:#x} -l {length:#x}'"
    r = run(guest, cmd)
    assert r.rc == 0, f"bpftrace failed (rc {r.rc}):\n{r.output}"
    seen = [line for line in r.output.splitlines() if line.startswith("iova=")]
    assert seen == [f"iova={iova:x} length={length:x}"] * count, r.output
    assert f"maps={count} unmaps={count}" in r.output


# ---- the module ----------------------------------------------------------------


def test_module_btf(guest):
    r = run(guest, "test -e /sys/kernel/btf/nestiommu && "
                   "bpftool btf dump file /sys/kernel/btf/nestiommu -B /sys/kernel/btf/vmlinux")
    assert r.rc == 0, f"no module BTF, or bpftool failed (rc {r.rc}):\n{r.output[-2000:]}"
    assert re.search(rf"STRUCT '{BTF_TYPE}' size=", r.output), \
        f"struct {BTF_TYPE} is not in the module BTF"


def test_rmmod_refused_while_open(guest):
    # The shell itself holds the device open on fd 3: no background process,
    # nothing to wait for. The module is loaded again at the end in any case.
    script = f"""
        exec 3<>/dev/nestiommu || {{ echo OPEN=failed; exit 1; }}
        echo REFCNT_OPEN=$(cat /sys/module/nestiommu/refcnt)
        if rmmod nestiommu; then echo RMMOD_OPEN=ok; else echo RMMOD_OPEN=refused; fi
        exec 3<&-
        if rmmod nestiommu; then echo RMMOD_CLOSED=ok; else echo RMMOD_CLOSED=refused; fi
        test -e /sys/module/nestiommu || echo UNLOADED=yes
        test -e /sys/module/nestiommu || insmod {MODULE}
        test -c /dev/nestiommu && echo DEVICE=yes
    """
    r = run(guest, script)
    out = dict(line.split("=", 1) for line in r.output.splitlines() if re.match(r"^[A-Z_]+=", line))
    assert out.get("DEVICE") == "yes", f"module not loaded again:\n{r.output}"
    assert out.get("REFCNT_OPEN") == "1", f"an open fd must hold one module reference:\n{r.output}"
    assert out.get("RMMOD_OPEN") == "refused", f"rmmod succeeded while the device was open:\n{r.output}"
    assert out.get("RMMOD_CLOSED") == "ok", f"rmmod failed after the fd was closed:\n{r.output}"
    assert out.get("UNLOADED") == "yes", r.output


# ---- maploop's own argument checks (on the host: no device needed) ------------


@pytest.mark.parametrize("args, message", [
    (["-n", "abc"], "-n: 'abc' is not a number"),
    (["-n", "-5"], "-n: '-5' is not a number"),
    (["-n", "99999999999999999999999"], "is not a number"),
    (["-n", "10x"], "-n: '10x' is not a number"),
    (["-n"], "option -n needs an argument"),
    (["-l", "100"], "-l: '100' is not a non-zero multiple of the page size"),
    (["-l", "0"], "is not a non-zero multiple of the page size"),
    (["-i", "0x1001"], "-i: '0x1001' is not page aligned"),
    (["-x"], "unknown option -x"),
    (["stray"], "unexpected argument 'stray'"),
], ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_maploop_bad_options(args, message):
    if not os.access(MAPLOOP, os.X_OK):
        pytest.fail(f"{MAPLOOP} is not built: run make -C selftests/guest")
    r = subprocess.run([MAPLOOP, *args], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2, f"exit status {r.returncode}; stderr: {r.stderr}"
    assert r.stderr.startswith("maploop: ") and message in r.stderr, r.stderr
    assert "usage: maploop" in r.stderr
    assert "maps=" not in r.stdout  # nothing ran

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
from conftest import MODULE, check_kernel_errors, run

# The guest fixture (conftest.py) loads the module; this fails a test during
# which the guest console showed kernel errors.
pytestmark = pytest.mark.usefixtures("_no_kernel_errors")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(REPO, "build", "selftests")
MAPLOOP = os.path.join(BUILD, "maploop")
DMALOOP = os.path.join(BUILD, "dmaloop")

# The C selftest binaries whose KTAP cases become pytest cases.
SELFTESTS = ("ioas_test", "res_test", "hwpt_test", "s1_builder_test", "hook_test")
SELFTEST_TIMEOUT = 1800  # seconds for a whole binary (its cases time out earlier)

# A module type that must be in the module's BTF.
BTF_TYPE = "nest_ioas"

# The guest reserves huge pages so the selftests can back IOAS mappings
# with 2 MiB and 1 GiB pages (stage-2 huge leaves). A 1 GiB page needs a
# free, aligned GiB at boot: with 4G the pc machine puts the last GiB above
# 4 GiB where nothing else is (with 2G or 3G the reservation fails). QEMU
# allocates guest memory lazily, so the host pays only for what is touched.
GUEST_MEM = "4G"  # for conftest.py's guest fixture
GUEST_CMDLINE = "hugepagesz=1G hugepages=1 hugepagesz=2M hugepages=64"



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
    r = run(guest, f"perf stat -e nestiommu:nest_map -e nestiommu:nest_unmap -x, -- {MAPLOOP} -n 100")
    assert r.rc == 0, f"perf stat failed (rc {r.rc}):\n{r.output}"
    counts = {}
    for line in r.output.splitlines():
        # CSV: value,unit,event,run time,percentage,...
        m = re.match(r"^(\d+|<not counted>|<not supported>),[^,]*,nestiommu:(nest_map|nest_unmap)\b", line)
        if m:
            counts[m.group(2)] = m.group(1)
    assert counts == {"nest_map": "100", "nest_unmap": "100"}, f"perf stat counts {counts}:\n{r.output}"
    assert "maps=100 unmaps=100" in r.output


def test_bpftrace_sees_map_args(guest):
    iova, length, count = 0x40000000, 0x3000, 5
    prog = 'tracepoint:nestiommu:nest_map { printf("iova=%lx length=%lx\\n", args->iova, args->length); }'
    cmd = f"bpftrace -e '{prog}' -c '{MAPLOOP} -n {count} -i {iova:#x} -l {length:#x}'"
    r = run(guest, cmd)
    assert r.rc == 0, f"bpftrace failed (rc {r.rc}):\n{r.output}"
    seen = [line for line in r.output.splitlines() if line.startswith("iova=")]
    assert seen == [f"iova={iova:x} length={length:x}"] * count, r.output
    assert f"maps={count} unmaps={count}" in r.output


# The translation events dmaloop fires, as (event, count for dmaloop -n N -i
# EVERY -s): see the comment at the top of selftests/guest/dmaloop.c.
def dmaloop_expected(n, every):
    return {
        "nest_translate": n + 2,  # n DMAs + 2 to page 0 (fill, then stale hit)
        "nest_dma": n + 3,        # ... + the faulting one
        "nest_fault": 1,
        "nest_invalidate": n // every,
        "nest_attach": 1,
        "nest_detach": 1,
        "nest_stale_translation": 1,
    }


def test_perf_counts_translation_events(guest):
    n, every = 500, 50
    expected = dmaloop_expected(n, every)
    events = " ".join(f"-e nestiommu:{e}" for e in expected)
    r = run(guest, f"perf stat {events} -x, -- {DMALOOP} -n {n} -i {every} -s")
    assert r.rc == 0, f"perf stat failed (rc {r.rc}):\n{r.output}"
    counts = {}
    for line in r.output.splitlines():
        m = re.match(r"^(\d+|<not counted>|<not supported>),[^,]*,nestiommu:(\w+)", line)
        if m:
            counts[m.group(2)] = int(m.group(1)) if m.group(1).isdigit() else m.group(1)
    assert counts == expected, f"perf stat counts {counts}, expected {expected}:\n{r.output}"
    assert f"dmas={n + 3} invalidations={n // every} faults=1 stale=1" in r.output


def test_bpftrace_sees_translation_args(guest):
    # dmaloop's page 0 is at IOVA 0x10000000; the faulting DMA goes 512 pages
    # further, where stage 1 has no level-1 table (a fault at level 2).
    prog = (
        'tracepoint:nestiommu:nest_translate /args->iova == 0x10000000/ { @src[args->source] = count(); }'
        ' tracepoint:nestiommu:nest_fault { printf("fault iova=%lx stage=%u level=%u reason=%u\\n",'
        ' args->iova, args->stage, args->level, args->reason); }'
        ' tracepoint:nestiommu:nest_stale_translation { printf("stale iova=%lx\\n", args->iova); }'
        ' tracepoint:nestiommu:nest_attach { printf("attach pasid=%u\\n", args->pasid); }'
        ' tracepoint:nestiommu:nest_invalidate { @dropped = sum(args->dropped); }'
    )
    r = run(guest, f"bpftrace -e '{prog}' -c '{DMALOOP} -n 64 -p 16 -i 0 -s'")
    assert r.rc == 0, f"bpftrace failed (rc {r.rc}):\n{r.output}"
    lines = r.output.splitlines()
    assert "attach pasid=1" in lines, r.output
    assert "stale iova=10000000" in lines, r.output
    assert f"fault iova={0x10000000 + 512 * 4096:x} stage=1 level=2 reason=5" in lines, r.output
    # Page 0 is DMAed 4 + 2 times: the first walks, the rest hit the device
    # TLB (an ATS device; no invalidation with -i 0).
    assert "@src[0]: 1" in lines and "@src[2]: 5" in lines, r.output


def test_perf_counts_fault_queue_overflow(guest):
    # The case fills a queue of depth 2 with 5 faults: 3 are dropped.
    case = "fq.depth2.overflow_is_counted_and_flagged"
    r = run(guest, f"perf stat -x, -e nestiommu:nest_fault_queue_overflow -e nestiommu:nest_fault -- "
                   f"{os.path.join(BUILD, 'hwpt_test')} -t {case}")
    assert r.rc == 0, f"perf stat or the case failed (rc {r.rc}):\n{r.output}"
    counts = dict((m.group(2), int(m.group(1))) for m in
                  re.finditer(r"^(\d+),[^,]*,nestiommu:(\w+)", r.output, re.M))
    assert counts == {"nest_fault_queue_overflow": 3, "nest_fault": 5}, f"counts {counts}:\n{r.output}"


# ---- the module ----------------------------------------------------------------


def test_module_btf(guest):
    r = run(guest, "test -e /sys/kernel/btf/nestiommu && "
                   "bpftool btf dump file /sys/kernel/btf/nestiommu -B /sys/kernel/btf/vmlinux")
    assert r.rc == 0, f"no module BTF, or bpftool failed (rc {r.rc}):\n{r.output[-2000:]}"
    assert re.search(rf"STRUCT '{BTF_TYPE}' size=", r.output), \
        f"struct {BTF_TYPE} is not in the module BTF"


def test_event_names_unique_in_kernel_btf(guest):
    """Every event and hook point is nest_*, and no built-in tracepoint has
    its name: BPF raw_tp and tp_btf find a tracepoint by its bare name
    (btf_trace_NAME), the kernel's first."""
    def typedefs(path):
        r = run(guest, f"bpftool btf dump file {path} | grep -o \"TYPEDEF 'btf_trace_[a-z0-9_]*'\"")
        assert r.rc == 0, f"bpftool btf dump file {path} failed (rc {r.rc}):\n{r.output[-2000:]}"
        return set(re.findall(r"'btf_trace_(\w+)'", r.output))

    r = run(guest, "cd /sys/kernel/tracing/events/nestiommu && ls -d */")
    assert r.rc == 0, r.output
    events = {e.rstrip("/") for e in r.output.split()}
    assert len(events) >= 18 and all(e.startswith("nest_") for e in events), events
    kernel = typedefs("/sys/kernel/btf/vmlinux")
    assert len(kernel) > 100 and not events & kernel, f"built-in tracepoints named like ours: {events & kernel}"
    assert events <= typedefs("/sys/kernel/btf/nestiommu"), "events without btf_trace_ in the module BTF"


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


# ---- the workloads' own argument checks (on the host: no device needed) -------


@pytest.mark.parametrize("tool, args, message", [
    ("maploop", ["-n", "abc"], "-n: 'abc' is not a number"),
    ("maploop", ["-n", "-5"], "-n: '-5' is not a number"),
    ("maploop", ["-n", "99999999999999999999999"], "is not a number"),
    ("maploop", ["-n", "10x"], "-n: '10x' is not a number"),
    ("maploop", ["-n"], "option -n needs an argument"),
    ("maploop", ["-l", "100"], "-l: '100' is not a non-zero multiple of the page size"),
    ("maploop", ["-l", "0"], "is not a non-zero multiple of the page size"),
    ("maploop", ["-i", "0x1001"], "-i: '0x1001' is not page aligned"),
    ("maploop", ["-x"], "unknown option -x"),
    ("maploop", ["stray"], "unexpected argument 'stray'"),
    ("dmaloop", ["-n", "x"], "-n: 'x' is not a number"),
    ("dmaloop", ["-p", "0"], "-p: '0' is not a number from 1 to 512"),
    ("dmaloop", ["-p", "513"], "-p: '513' is not a number from 1 to 512"),
    ("dmaloop", ["-i", "-1"], "-i: '-1' is not a number"),
    ("dmaloop", ["-i"], "option -i needs an argument"),
    ("dmaloop", ["-q"], "unknown option -q"),
    ("dmaloop", ["stray"], "unexpected argument 'stray'"),
    ("pri_bench", ["-n", "5"], "-n: '5' is not a number from 10 to 1000000"),
    ("pri_bench", ["-n", "x"], "-n: 'x' is not a number"),
    ("pri_bench", ["-q"], "unknown option -q"),
    ("pri_bench", ["-n"], "option -n needs an argument"),
    ("pri_bench", ["stray"], "unexpected argument 'stray'"),
], ids=lambda v: " ".join(v) if isinstance(v, list) else v)
def test_workload_bad_options(tool, args, message):
    path = os.path.join(BUILD, tool)
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} is not built: run make -C selftests/guest")
    r = subprocess.run([path, *args], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2, f"exit status {r.returncode}; stderr: {r.stderr}"
    assert r.stderr.startswith(f"{tool}: ") and message in r.stderr, r.stderr
    assert f"usage: {tool}" in r.stderr
    assert r.stdout == ""  # nothing ran

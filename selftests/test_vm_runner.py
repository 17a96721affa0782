"""Self-test of the VM runner (selftests/vm/vmrun.py): status and output of
guest commands, kernel WARN detection, the guests' memory debugging and the
console patterns that report memory errors and hung tasks, timeouts, and the
CLI."""

import ctypes
import os
import pty
import re
import select
import signal
import shlex
import subprocess
import time

import pytest

import vmrun
import conftest
from conftest import REPO, repo_guest

VMRUN = os.path.join(REPO, "selftests", "vm", "vmrun.py")
WARN_DIR = os.path.join(REPO, "selftests", "vm", "warn_module")
WARN_TEXT = "nestiommu_warn_trigger: deliberate warning"
BADMOD_DIR = os.path.join(REPO, "selftests", "vm", "badmod")
SWEEP_C = os.path.join(REPO, "tools", "faultinject", "sweep.c")
HUNG_TASK_TIMEOUT = 20  # selftests/vm/init.sh


def build_test_module(kernel_dir, src_dir, ko):
    """Build a test-only module against the headers of the guest kernel in
    KERNEL_DIR; return the path of its .ko."""
    build = os.path.join(kernel_dir, "build")
    r = subprocess.run(["make", "-C", build, f"M={src_dir}", "modules"], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.fail(f"building {ko} failed:\n{r.stdout}\n{r.stderr}")
    return os.path.join(src_dir, ko)


@pytest.fixture(scope="session")
def warn_module(guest_kernel_dir):
    """The test-only module whose init WARNs."""
    return build_test_module(guest_kernel_dir, WARN_DIR, "nestiommu_warn_trigger.ko")


@pytest.fixture(scope="session")
def bad_module(guest_kernel_dir):
    """The test-only module whose init commits the memory error or hang its
    mode parameter names (selftests/vm/badmod/badmod.c)."""
    return build_test_module(guest_kernel_dir, BADMOD_DIR, "nestiommu_badmod.ko")


@pytest.fixture(scope="module")
def guest(guest_kernel_dir):
    with repo_guest(guest_kernel_dir) as g:
        yield g


def vmrun_cli(*args, timeout=300):
    return subprocess.run(["/usr/bin/python3", VMRUN, *args], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)


def qemu_pids_using(path):
    """Pids of live processes whose command line mentions PATH."""
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if path.encode() in f.read():
                    pids.append(int(pid))
        except OSError:
            pass
    return pids


def test_status_and_output(guest):
    r = guest.run("echo hello; exit 3")
    if r.rc != 3 or "hello" not in r.output:
        pytest.fail(f"expected rc 3 and 'hello', got rc {r.rc}, output {r.output!r}")
    if r.kernel_errors:
        pytest.fail(f"unexpected kernel errors: {r.kernel_errors}; console log: {guest.console_log}")


def test_guest_sees_repo_and_results(guest):
    r = guest.run('pwd; touch "$NESTIOMMU_RESULTS/from-guest"')
    if r.rc != 0 or r.output.strip() != REPO:
        pytest.fail(f"expected cwd {REPO} and rc 0, got rc {r.rc}, output {r.output!r}")
    if not os.path.exists(os.path.join(guest.results_dir, "from-guest")):
        pytest.fail(f"a file the guest wrote is not in {guest.results_dir}")


# A page-request workload whose DMA thread runs the nest_page_request
# tracepoint's call site all the time.
PATCH_LOAD = (os.path.join(REPO, "build", "tools", "nestload") +
              " --devices 2 --pasids 2 --threads 1 --working-set 16 --fault-pct 50"
              " --refault-every 32 --duration 3600")
PATCH_EVENT = "/sys/kernel/tracing/events/nestiommu/nest_page_request/enable"
BPF_STATS = "/proc/sys/kernel/bpf_stats_enabled"  # a static key too


def test_kernel_text_patched_under_load(guest):
    """Enabling and disabling a tracepoint, or BPF run-time statistics,
    patches the kernel text (static keys: text_poke_bp) that the other vCPU
    keeps running. With a TCG thread
    per vCPU the guest hung within 10 to 100 of these (a soft lockup at the
    patched site); each tool started during a workload does the same."""
    err = "/tmp/patch-load.err"
    ops = f"sed -n 's/.*: \\([0-9]*\\) DMA ops.*/\\1/p' {err} | tail -n 1"
    script = (f"insmod {conftest.MODULE} || exit 7\n"
              f"{PATCH_LOAD} > /dev/null 2> {err} & load=$!\n"
              f"until grep -q ' [1-9][0-9]* page request groups' {err}; do kill -0 $load || exit 8; sleep 0.1; done\n"
              f"for i in $(seq 100); do echo 1 > {PATCH_EVENT}; echo 0 > {PATCH_EVENT}; "
              f"echo 1 > {BPF_STATS}; echo 0 > {BPF_STATS}; done\n"
              # The DMAs still make progress afterwards.
              f"n=$({ops}); until [ \"$({ops})\" -gt \"$n\" ]; do kill -0 $load || exit 9; sleep 0.1; done\n"
              "kill -INT $load; wait $load; echo load_rc=$?\n"
              "rmmod nestiommu; echo rmmod_rc=$?\n")
    r = guest.run(script, timeout=300)
    assert r.rc == 0 and "load_rc=0" in r.output and "rmmod_rc=0" in r.output, r.output
    assert not r.kernel_errors, f"{r.kernel_errors}; console log: {guest.console_log}"


def test_warn_is_detected(guest, warn_module):
    r = guest.run(f"insmod {warn_module}")
    if r.rc != 0:
        pytest.fail(f"insmod failed (rc {r.rc}): {r.output}")
    if not any("WARNING:" in line and "warn_trigger" in line for line in r.kernel_errors):
        pytest.fail(f"WARN not reported: kernel_errors={r.kernel_errors}; console log: {guest.console_log}")
    if r.kernel_errors[0] not in guest.kernel_errors():
        pytest.fail("Guest.kernel_errors() misses the WARN")
    if guest.run("true").kernel_errors:
        pytest.fail("the WARN was reported again for the next command")


def test_cli_reports_warn(guest_kernel_dir, warn_module):
    r = vmrun_cli("--kernel-dir", guest_kernel_dir, "--", "insmod", warn_module)
    if r.returncode == 0 or "console log: " not in r.stderr or "WARNING:" not in r.stderr:
        pytest.fail(f"CLI did not report the WARN: status {r.returncode}, stderr:\n{r.stderr}")
    log = r.stderr.split("console log: ", 1)[1].split(")", 1)[0]
    with open(log) as f:
        if WARN_TEXT not in f.read():
            pytest.fail(f"the named console log {log} lacks the warning text")


def test_memory_debugging_is_on(guest, guest_name):
    """Every guest boots with slub_debug (checks, redzones, poisoning and
    alloc/free tracking in every slab cache), page poisoning (proved by
    test_memory_error_is_detected[page-uaf]), a short hung-task timeout
    and, where the kernel can switch (PREEMPT_DYNAMIC), full preemption."""
    r = guest.run("echo cmdline=$(cat /proc/cmdline)\n"
                  "for f in sanity_checks red_zone poison store_user; do\n"
                  "  echo $f=$(cat /sys/kernel/slab/kmalloc-64/$f)\n"
                  # debug_objects_cache: the kernel never tracks the users
                  # of its debuggers' own caches (SLAB_NOLEAKTRACE).
                  "  echo $f.off=$(grep -lx 0 /sys/kernel/slab/*/$f | grep -vc /debug_objects_cache/)\n"
                  "done\n"
                  "for f in timeout_secs check_interval_secs; do\n"
                  "  echo hung_task_$f=$(cat /proc/sys/kernel/hung_task_$f)\n"
                  "done\n"
                  "echo preempt=$(cat /sys/kernel/debug/sched/preempt 2>&1)")
    assert r.rc == 0 and not r.kernel_errors, f"{r.output}{r.kernel_errors}"
    got = dict(line.split("=", 1) for line in r.output.splitlines())
    cmdline = got["cmdline"].split()
    for option in vmrun.MEMORY_DEBUG_CMDLINE.split():
        assert option in cmdline, got["cmdline"]
    for flag in ("sanity_checks", "red_zone", "poison", "store_user"):
        assert got[flag] == "1" and got[f"{flag}.off"] == "0", f"slab caches without {flag}: {r.output}"
    assert (got["hung_task_timeout_secs"], got["hung_task_check_interval_secs"]) == \
        (str(HUNG_TASK_TIMEOUT), "2"), r.output
    assert ("kasan_multi_shot" in cmdline) == (guest_name == "debug"), got["cmdline"]
    if vmrun._preempt_cmdline(guest.kernel_dir):
        assert "preempt=full" in cmdline and "(full)" in got["preempt"].split(), r.output
    else:
        assert not any(o.startswith("preempt=") for o in cmdline), got["cmdline"]


@pytest.mark.parametrize("args, debugged", [([], True), (["--no-memory-debug"], False)],
                         ids=["default", "no-memory-debug"])
def test_cli_memory_debug_option(guest_kernel_dir, args, debugged):
    """The CLI's guests have the tests' memory debugging unless a benchmark
    turns it off (make bench): the boot options and the slab caches' checks
    both follow the option."""
    r = vmrun_cli("--kernel-dir", guest_kernel_dir, *args, "--",
                  "cat /proc/cmdline; cd /sys/kernel/slab/kmalloc-64 && cat sanity_checks red_zone poison")
    if r.returncode != 0:
        pytest.fail(f"status {r.returncode}, stdout {r.stdout!r}, stderr {r.stderr!r}")
    cmdline, *checked = r.stdout.splitlines()
    for option in vmrun.MEMORY_DEBUG_CMDLINE.split():
        assert (option in cmdline.split()) == debugged, cmdline
    assert checked == ["1" if debugged else "0"] * 3, r.stdout


@pytest.mark.parametrize("args, error", [
    (["--no-memory-debug=1"], "--no-memory-debug: ignored explicit argument '1'"),
    (["--no-memory-debugging"], "unrecognized arguments: --no-memory-debugging"),
    (["--memory-debug"], "unrecognized arguments: --memory-debug"),  # on is the default, not an option
])
def test_cli_bad_memory_debug_option(args, error):
    r = vmrun_cli(*args, "--", "true")
    if r.returncode != 2 or error not in r.stderr:
        pytest.fail(f"expected status 2 and {error!r}, got {r.returncode}, stderr {r.stderr!r}")


@pytest.fixture(scope="module")
def bad_guest(guest_kernel_dir):
    """A guest for deliberate memory errors and hangs: its slabs and pages
    are corrupt afterwards, so no clean check may run in it."""
    with repo_guest(guest_kernel_dir) as g:
        yield g


# The cache of kmalloc(64): kmalloc-64, or one of kmalloc-rnd-NN-64 on
# kernels with RANDOM_KMALLOC_CACHES.
KMALLOC_64 = r"kmalloc-(\S+-)?64"


# What the debug kernel's KASAN says instead.
KASAN_REPORTS = {
    "redzone": r"BUG: KASAN: slab-out-of-bounds in badmod_\w+",
    "slab-uaf": r"BUG: KASAN: (slab-)?use-after-free in badmod_\w+",
}


@pytest.mark.parametrize("mode, then, report", [
    # The overflow is found when the object is freed.
    # 6.1 names the finding in its BUG line, 6.12 in a line of its own
    # ("[Right Redzone overwritten] 0x... First byte 0x0 instead of 0xcc").
    ("redzone", "", rf"BUG {KMALLOC_64} \(.*\): Right Redzone overwritten|^\[[ .\d]+\] \[Right Redzone overwritten\] "),
    # A freed object is checked when it is allocated again, or its cache
    # validated: validating makes it happen now.
    ("slab-uaf", "for c in /sys/kernel/slab/kmalloc-*64; do echo 1 > $c/validate; done",
     rf"BUG {KMALLOC_64} \(.*\): Poison overwritten|^\[[ .\d]+\] \[Poison overwritten\] "),
    ("page-uaf", "", r"pagealloc: memory corruption"),
    # Reported at the first check (every 2 s) after the timeout: the line
    # says how long it has been blocked by then.
    ("hang", "until dmesg | grep -q 'task badmod_hang:[0-9]* blocked for more than'; do sleep 0.2; done",
     r"INFO: task badmod_hang:\d+ blocked for more than \d+ seconds"),
], ids=["redzone", "slab-uaf", "page-uaf", "hang"])
def test_memory_error_is_detected(bad_guest, bad_module, guest_name, mode, then, report):
    # KASAN checks every access: it reports the bad write itself, before
    # slub_debug or page poisoning could find its traces.
    if guest_name == "debug" and mode in KASAN_REPORTS:
        report = KASAN_REPORTS[mode]
    r = bad_guest.run(f"insmod {bad_module} mode={mode} || exit 7\n{then}\nrmmod nestiommu_badmod",
                      timeout=120 + 2 * HUNG_TASK_TIMEOUT)
    assert r.rc == 0, f"rc {r.rc}: {r.output}"
    assert any(re.search(report, line) for line in r.kernel_errors), \
        f"no kernel error matches {report!r}: {r.kernel_errors}; console log: {bad_guest.console_log}"


def test_bad_module_rejects_unknown_mode(bad_guest, bad_module):
    r = bad_guest.run(f"insmod {bad_module} mode=nonsense; echo rc=$?; dmesg | grep nestiommu_badmod:")
    assert "rc=1" in r.output and "nestiommu_badmod: unknown mode 'nonsense'" in r.output, r.output


# Console lines each pattern must catch, as the kernel prints them (6.1), and
# lines of a clean boot with memory debugging that none may catch.
BAD_LINES = [
    "[    9.371853] WARNING: CPU: 0 PID: 132 at warn_trigger.c:12 warn_trigger_init+0x15/0x1000",
    "[    9.371853] BUG: unable to handle page fault for address: ffffffffc0a1b000",
    "[    9.371853] kernel BUG at mm/slub.c:420!",
    "[    9.371853] Oops: 0002 [#1] PREEMPT SMP NOPTI",
    "[    9.371853] general protection fault, probably for non-canonical address 0xdead000000000100",
    "[    9.371853] Kernel panic - not syncing: Fatal exception",
    "[   50.348693] INFO: task hwpt_test:123 blocked for more than 20 seconds.",
    "[    9.371853] WARNING: possible circular locking dependency detected",
    "[    9.371853] WARNING: possible recursive locking detected",
    "[   80.123456] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:",
    "[   80.123456] INFO: rcu_tasks detected stalls on tasks:",
    "[   80.123456] INFO: rcu_sched self-detected stall on CPU",
    "[   80.123456] watchdog: BUG: soft lockup - CPU#1 stuck for 26s! [nestload:201]",
    "[    9.371853] UBSAN: shift-out-of-bounds in kernel/pages.c:42:7",
    "[   12.345678] BUG kmalloc-64 (Tainted: G           OE      ): Right Redzone overwritten",
    "[   12.345678] BUG kmalloc-64 (Tainted: G           OE      ): Poison overwritten",
    "[   12.345678] BUG skbuff_head_cache (Not tainted): Object padding overwritten",
    "[   12.345678] BUG nest_ioas (Tainted: G           OE      ): Objects remaining in nest_ioas on "
    "__kmem_cache_shutdown()",
    "[   12.345678] pagealloc: memory corruption",
    "[   12.345678] pagealloc: single bit error",
    # 6.12's slab reports
    "[   10.695429] [Right Redzone overwritten] 0xffff888005a39a80-0xffff888005a39a80 @offset=2688. "
    "First byte 0x0 instead of 0xcc",
    "[   13.561565] [Poison overwritten] 0xffff888005a39e7e-0xffff888005a39e7e @offset=3710. "
    "First byte 0x0 instead of 0x6b",
    "[   10.698305] BUG kmalloc-64 (Tainted: G           OE     ): Object corrupt",
    # the debug kernel's checkers
    "[   12.345678] BUG: KASAN: slab-out-of-bounds in nest_ioas_map+0x1c2/0x5d0 [nestiommu]",
    "[   12.345678] BUG: KFENCE: use-after-free read in nest_fault_read+0x33/0x120 [nestiommu]",
    "[   12.345678] BUG: sleeping function called from invalid context at kernel/locking/mutex.c:580",
    "[   12.345678] WARNING: inconsistent lock state",
    "[   12.345678] WARNING: CPU: 1 PID: 230 at lib/debugobjects.c:505 debug_print_object+0x8a/0xb0",
]
CLEAN_LINES = [
    "[    0.000000] Command line: console=ttyS0,115200 ignore_loglevel panic=-1 no_timer_check "
    "slub_debug=FZPU page_poison=1 init_on_free=1 preempt=full",
    "[    0.000000] mem auto-init: CONFIG_PAGE_POISONING is on, will take precedence over init_on_alloc and "
    "init_on_free",
    "[    0.104131] Dynamic Preempt: full",
    "[    0.160237] rcu: Preemptible hierarchical RCU implementation.",
    "[    0.262345] **   NOTICE NOTICE NOTICE NOTICE NOTICE NOTICE NOTICE   **",
    "[    9.500000] FIX kmalloc-64: Restoring Right Redzone 0xffff888003a1e040-0xffff888003a1e047=0xcc",
    "[    2.000000] Call Trace:",
]


def sweep_patterns():
    """faultinject sweep's kmsg_bad_patterns, as C wrote them."""
    with open(SWEEP_C) as f:
        body = re.search(r"kmsg_bad_patterns\[\] = \{(.*?)\};", f.read(), re.S).group(1)
    return [lit.encode().decode("unicode_escape") for lit in re.findall(r'"((?:[^"\\]|\\.)*)"', body)]


def posix_ere(pattern):
    """A matcher of PATTERN compiled by libc's regcomp, as sweep.c does."""
    libc = ctypes.CDLL(None)
    regex = ctypes.create_string_buffer(256)  # > sizeof(regex_t)
    REG_EXTENDED, REG_NOSUB = 1, 8
    assert libc.regcomp(regex, pattern.encode(), REG_EXTENDED | REG_NOSUB) == 0, pattern
    return lambda line: libc.regexec(regex, line.encode(), 0, None, 0) == 0


def test_console_patterns():
    """vmrun's list and faultinject sweep's catch the same lines: each
    kernel error (every pattern has one), and none of a clean boot."""
    py = [re.compile(p) for p in vmrun.BAD_CONSOLE_PATTERNS]
    c = [posix_ere(p) for p in sweep_patterns()]
    assert len(c) == len(py), "sweep.c's kmsg_bad_patterns and vmrun's BAD_CONSOLE_PATTERNS differ in length"
    for i, (p, m) in enumerate(zip(py, c)):
        assert any(p.search(line) for line in BAD_LINES), f"no sample line for {p.pattern!r}"
        for line in BAD_LINES + CLEAN_LINES:
            assert bool(p.search(line)) == m(line), \
                f"pattern {i} ({p.pattern!r}): vmrun and sweep.c disagree on {line!r}"
    for line in BAD_LINES:
        assert vmrun.BAD_CONSOLE_RE.search(line), line
    for line in CLEAN_LINES:
        assert not vmrun.BAD_CONSOLE_RE.search(line), line


def test_cli_exit_status(guest_kernel_dir):
    r = vmrun_cli("--kernel-dir", guest_kernel_dir, "--", "echo", "out;", "exit", "7")
    if r.returncode != 7 or "out" not in r.stdout:
        pytest.fail(f"expected status 7 and 'out', got {r.returncode}, stdout {r.stdout!r}, stderr {r.stderr!r}")


@pytest.mark.parametrize("args, error", [
    (["--icount", "2"], "--icount needs --smp 1"),
    (["--icount", "11", "--smp", "1"], "SHIFT must be 0 to 10, not 11"),
    (["--icount", "-1", "--smp", "1"], "SHIFT must be 0 to 10, not -1"),
    (["--icount", "two", "--smp", "1"], "invalid int value: 'two'"),
])
def test_cli_bad_icount(args, error):
    r = vmrun_cli(*args, "--", "true")
    if r.returncode != 2 or error not in r.stderr:
        pytest.fail(f"expected status 2 and {error!r}, got {r.returncode}, stderr {r.stderr!r}")


def test_icount_counts_instructions(guest_kernel_dir):
    """Under --icount the guest's clock follows the instructions it runs:
    the same loop takes the same guest time, however busy the host is."""
    # One bash, no exec or file read in between: I/O waits take host time.
    # The first round faults the loop's pages in over 9p: it is left out.
    loop = ("for n in 0 1 2 3; do s=${EPOCHREALTIME/./}; for ((i = 0; i < 20000; i++)); do :; done; "
            "echo $(( ${EPOCHREALTIME/./} - s )); done")
    cmd = f"nproc; bash -c {shlex.quote(loop)}"
    r = vmrun_cli("--kernel-dir", guest_kernel_dir, "--icount", "2", "--smp", "1", "--", cmd)
    if r.returncode != 0:
        pytest.fail(f"status {r.returncode}, stdout {r.stdout!r}, stderr {r.stderr!r}")
    cpus, _, *us = [int(w) for w in r.stdout.split()]
    assert cpus == 1, r.stdout
    assert max(us) - min(us) <= min(us) // 100, f"guest times of the same loop: {us} us"


def test_timeout_kills_guest(guest_kernel_dir):
    g = repo_guest(guest_kernel_dir)
    try:
        g.start()
        with pytest.raises(vmrun.GuestError) as e:
            g.run("sleep 600", timeout=15)
        if "timed out" not in str(e.value) or g.console_log not in str(e.value):
            pytest.fail(f"unclear timeout message: {e.value}")
        if g.proc.poll() is None or qemu_pids_using(g.console_log):
            pytest.fail("qemu is still running after the timeout")
        with pytest.raises(vmrun.GuestError):
            g.run("true")
    finally:
        g.stop()
        g.stop()


def test_cli_commands_get_no_pager(guest_kernel_dir):
    # A command's stdout is the guest's serial line, a tty: perf would page
    # its long list through less, which waits for keys that never come
    # (stdin is /dev/null). TERM as a user's terminal has it.
    r = subprocess.run(["/usr/bin/python3", VMRUN, "--kernel-dir", guest_kernel_dir, "--timeout", "120",
                        "--", "perf", "list"], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=300, env=dict(os.environ, TERM="xterm"))
    if r.returncode != 0 or "cpu-clock" not in r.stdout:
        pytest.fail(f"`perf list` did not just print its list: status {r.returncode}, "
                    f"stdout {r.stdout[-500:]!r}, stderr {r.stderr[-500:]!r}")


def shell_session(kernel_dir, steps, timeout=180):
    """Run `vmrun.py --shell` on a pty; STEPS is a list of (text to wait
    for, line to type). Return (exit status, everything the pty showed)."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execv("/usr/bin/python3", ["/usr/bin/python3", VMRUN, "--kernel-dir", kernel_dir, "--shell"])
    out = b""
    deadline = time.monotonic() + timeout
    steps = list(steps)
    try:
        while True:
            if steps and steps[0][0].encode() in out:
                os.write(fd, steps.pop(0)[1].encode() + b"\r")
            left = deadline - time.monotonic()
            if left <= 0:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                pytest.fail(f"the shell session did not end within {timeout} s; it showed:\n"
                            + out.decode(errors="replace")[-2000:])
            ready, _, _ = select.select([fd], [], [], min(left, 1.0))
            if not ready:
                continue
            try:
                data = os.read(fd, 4096)
            except OSError:  # EIO: the child closed the pty
                data = b""
            if not data:
                break
            out += data
    finally:
        os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), out.decode(errors="replace")


@pytest.mark.parametrize("command", ["poweroff -f", "poweroff", "exit"])
def test_shell_ends_as_advertised(guest_kernel_dir, command):
    # Type only at root's prompt, then wait for an answer the shell computes
    # (the echo of the typed line does not contain it).
    rc, shown = shell_session(guest_kernel_dir, [
        ("# ", "echo shell-$((6 * 7))-ready"),
        ("shell-42-ready", command),
    ])
    if rc != 0 or "ignoring request" in shown:
        pytest.fail(f"`{command}` did not end the guest cleanly: status {rc}; the pty showed:\n{shown[-2000:]}")

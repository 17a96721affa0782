"""Self-test of the VM runner (selftests/vm/vmrun.py): status and output of
guest commands, kernel WARN detection, timeouts, and the CLI."""

import os
import pty
import select
import signal
import shlex
import subprocess
import time

import pytest

import vmrun
from conftest import REPO, repo_guest

VMRUN = os.path.join(REPO, "selftests", "vm", "vmrun.py")
WARN_DIR = os.path.join(REPO, "selftests", "vm", "warn_module")
WARN_KO = os.path.join(WARN_DIR, "nestiommu_warn_trigger.ko")
WARN_TEXT = "nestiommu_warn_trigger: deliberate warning"


@pytest.fixture(scope="session")
def warn_module(guest_kernel_dir):
    """Build the test-only module whose init WARNs; return the .ko path."""
    build = os.path.join(guest_kernel_dir, "build")
    r = subprocess.run(["make", "-C", build, f"M={WARN_DIR}", "modules"], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.fail(f"building the warn module failed:\n{r.stdout}\n{r.stderr}")
    return WARN_KO


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
    script = (f"insmod {REPO}/kernel/nestiommu.ko || exit 7\n"
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

#!/usr/bin/python3
"""Run commands in a throw-away QEMU guest booted with Debian's own kernel.

The host cannot load modules, so everything that needs the driver runs in a
guest: Debian's linux-image-KREL (prepared by guest-kernel.sh) with a busybox
initramfs whose /init (init.sh) chroots into the host's root file system,
shared read-only over 9p. A writable 9p share, the "results" directory, is
mounted at the same absolute path in the guest, and carries the control files
(results/.vm/) and anything the commands want to hand back.

Library use (pytest):

    with Guest(kernel_dir, workdir, cwd) as g:
        r = g.run("insmod build/nestiommu.ko")
        assert r.rc == 0 and not r.kernel_errors

CLI:

    vmrun.py [options] [--] COMMAND...   run COMMAND (its words joined by
                                         spaces, as ssh does) in a fresh guest
    vmrun.py [options] --shell           interactive shell (Ctrl-a x kills it)

CLI exit status: the command's, or 120 if the guest console showed kernel
errors (WARN, BUG, Oops, ...), 124 if the guest timed out, 125 if the guest
never reported a status. The kernel console always goes to a log file (its
path is printed on failure); workdirs are kept under .cache/vm/.

Only the Python 3 standard library is used; run with /usr/bin/python3.
"""

import argparse
import atexit
import ctypes
import dataclasses
import functools
import glob
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import termios
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

# Console lines that mean the kernel is unhappy. "Call Trace:" alone is not one:
# it follows each of these anyway, and also harmless dumps (e.g. sysrq).
# tools/faultinject/sweep.c (kmsg_bad_patterns) keeps the same list.
BAD_CONSOLE_PATTERNS = (
    r"WARNING:",
    r"BUG:",  # also "watchdog: BUG: soft lockup", "BUG: unable to handle ..."
    r"kernel BUG at",
    r"\bOops\b",
    r"general protection fault",
    r"Kernel panic",
    r"INFO: task .* blocked for more than",  # hung task (init.sh: its timeout)
    r"possible circular locking dependency",
    r"possible recursive locking",
    r"INFO: rcu_\w+ (self-)?detected",  # RCU stalls: rcu_sched, rcu_preempt, rcu_tasks
    r"rcu: INFO:",
    r"watchdog: BUG: soft lockup",
    r"UBSAN:",
    # slub_debug (MEMORY_DEBUG_CMDLINE): "BUG kmalloc-64 (Tainted: ...): Right
    # Redzone overwritten", the first line of every slab report, whatever it
    # found; the next three name the usual findings.
    r"\bBUG [^\s:]+ \(",
    r"Redzone overwritten",
    r"Poison overwritten",
    r"Object padding overwritten",
    r"pagealloc: (memory corruption|single bit error)",  # page_poison=1
)
BAD_CONSOLE_RE = re.compile("|".join(BAD_CONSOLE_PATTERNS))

# Memory debugging in every guest but a benchmark's (--no-memory-debug: it
# slows every allocation, and DMA allocates a bounce buffer each time).
# slub_debug=FZPU: slab consistency checks, redzones, poisoning of freed
# objects and alloc/free tracking, all checked when an object is freed or
# allocated again; page_poison=1: freed pages are filled with a pattern
# checked when they are allocated again. init_on_free=1 zeroes freed memory
# where nothing poisons it: where poisoning is on, the kernel lets it take
# precedence and says so ("mem auto-init: SLAB_POISON will take precedence
# over init_on_alloc/init_on_free", "... CONFIG_PAGE_POISONING is on, will
# take precedence ..."), as zeroing would hide what poisoning reports. A slab
# report is the BUG <cache> line of BAD_CONSOLE_PATTERNS.
MEMORY_DEBUG_CMDLINE = "slub_debug=FZPU page_poison=1 init_on_free=1"

EXIT_KERNEL_ERRORS = 120
EXIT_TIMEOUT = 124
EXIT_NO_STATUS = 125

# Host paths the guest replaces with its own file systems (init.sh), so neither
# the results directory nor the working directory may live below them. /tmp is
# the guest's own too, but init.sh keeps a working directory below it visible.
_GUEST_PRIVATE = ("/run", "/dev", "/proc", "/sys")

KVM_PROBE_TIMEOUT = 5.0
# -icount shift: 2^SHIFT ns of guest time per instruction. QEMU takes 0 to 10.
ICOUNT_SHIFT_MIN, ICOUNT_SHIFT_MAX = 0, 10
STOP_GRACE = 15.0
POLL = 0.02


class GuestError(Exception):
    """Boot failure, timeout or death of the guest."""


@dataclasses.dataclass
class Result:
    rc: int
    output: str
    # Bad console lines that appeared since the previous command started
    # returning (so errors during boot or between commands are not lost).
    kernel_errors: list[str]


# Put first on the guest commands' PATH: a poweroff that works in the chroot.
GUEST_BIN = os.path.join(HERE, "guest-bin")


DEFAULT_GUEST = "generic"


def guest_names():
    """The guest kernels (selftests/vm/kernels.sh)."""
    return subprocess.check_output([os.path.join(HERE, "krel.sh"), "--list"], text=True).split()


def krel(name=DEFAULT_GUEST):
    """The release of the guest kernel NAME, as selftests/vm/krel.sh prints it."""
    return subprocess.check_output([os.path.join(HERE, "krel.sh"), name], text=True).strip()


def default_kernel_dir(name=DEFAULT_GUEST):
    return os.path.join(REPO, ".cache", "guest", krel(name))


def ensure_kernel(kernel_dir=None, name=DEFAULT_GUEST):
    """Prepare the guest kernel NAME (quick when already done); return its dir."""
    release = krel(name)
    kernel_dir = kernel_dir or os.path.join(REPO, ".cache", "guest", release)
    subprocess.run([os.path.join(HERE, "guest-kernel.sh"), "-g", name, release, kernel_dir], check=True)
    return kernel_dir


@functools.lru_cache(maxsize=None)
def _kernel_config(kernel_dir):
    """The config the kernel in KERNEL_DIR was built with (root/boot/config-KREL),
    read once: every boot asks it several questions."""
    for config in glob.glob(os.path.join(kernel_dir, "root", "boot", "config-*")):
        with open(config) as f:
            return f.read()
    return ""


def _preempt_cmdline(kernel_dir):
    """preempt=full where the kernel can switch preemption models at boot
    (PREEMPT_DYNAMIC, as Debian's generic kernel, which boots voluntary);
    a PREEMPT_RT kernel has no such option."""
    return "preempt=full" if "\nCONFIG_PREEMPT_DYNAMIC=y\n" in _kernel_config(kernel_dir) else ""


def _kasan(kernel_dir):
    return "\nCONFIG_KASAN=y\n" in _kernel_config(kernel_dir)


def _kasan_cmdline(kernel_dir):
    """kasan_multi_shot on a KASAN kernel: every report is printed, not only
    the first, so a second bug in a guest fails its test too."""
    return "kasan_multi_shot" if _kasan(kernel_dir) else ""


def boot_timeout_default(kernel_dir):
    """Seconds a guest may take to boot: a KASAN + lockdep kernel boots
    several times slower under TCG than the others (up to 120 s)."""
    return 360 if _kasan(kernel_dir) else 120


def boot_image(kernel_dir):
    """The image qemu boots: the ELF vmlinux (its PVH entry skips the
    decompressor, slow under TCG), but the bzImage for a KASAN kernel, whose
    PVH entry runs instrumented code before KASAN's shadow memory exists and
    resets the machine before the first console line."""
    if _kasan(kernel_dir):
        return os.path.join(kernel_dir, "vmlinuz")
    return os.path.join(kernel_dir, "vmlinux")


def _check_kernel_dir(kernel_dir):
    for name in (".done", "vmlinux", "initramfs.cpio.gz"):
        if not os.path.exists(os.path.join(kernel_dir, name)):
            raise GuestError(
                f"{kernel_dir} is not a prepared guest kernel (no {name}); "
                f"run selftests/vm/guest-kernel.sh KREL {kernel_dir}"
            )


def _check_guest_visible(what, path):
    for private in _GUEST_PRIVATE:
        if path == private or path.startswith(private + "/"):
            raise GuestError(f"{what} {path} is below {private}, which the guest does not share with the host")


def _die_with_parent():
    # preexec_fn: qemu gets SIGKILL if the Python process dies, even by SIGKILL.
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


_kvm_works = None


def _accel_args(kernel_dir, icount=None):
    """QEMU accelerator options: KVM if a short probe boot works, else TCG;
    TCG counting instructions if ICOUNT (a shift) is given.

    The probe boots the kernel without any root file system, which ends in a
    panic (panic=-1 + -no-reboot: qemu exits). Where KVM is broken, qemu either
    aborts at once or hangs, hence the short timeout. The answer is cached.
    """
    global _kvm_works
    if icount is not None:
        # Guest time is instructions << ICOUNT ns: what a run measures no
        # longer depends on how busy the host is (benchmarks).
        return ["-accel", "tcg,thread=single", "-cpu", "max", "-icount", f"shift={icount}"]
    if _kvm_works is None:
        _kvm_works = False
        if os.access("/dev/kvm", os.R_OK | os.W_OK):
            probe = [
                "qemu-system-x86_64", "-nodefaults", "-no-reboot", "-display", "none",
                "-accel", "kvm", "-cpu", "host", "-m", "256",
                "-kernel", boot_image(kernel_dir),
                "-append", "console=ttyS0 panic=-1 root=/dev/nonexistent",
                "-serial", "stdio",
            ]  # fmt: skip
            try:
                out = subprocess.run(probe, stdin=subprocess.DEVNULL, capture_output=True,
                                     timeout=KVM_PROBE_TIMEOUT).stdout
                _kvm_works = b"Kernel panic" in out
            except subprocess.TimeoutExpired:
                pass
    if _kvm_works:
        return ["-accel", "kvm", "-cpu", "host"]
    # One TCG thread runs all vCPUs in turn. With a thread per vCPU (QEMU 7.2),
    # kernel text patched by one vCPU while another runs it (a static key
    # flipped by a BPF attach or a tracepoint enable, text_poke_bp) could
    # leave the other with a stale translation of the int3: it looped on it
    # for ever, a soft lockup at the static branch.
    return ["-accel", "tcg,thread=single", "-cpu", "max"]


def _qemu_path(path):
    return path.replace(",", ",,")


class _ConsoleScanner:
    """Incrementally collects the bad lines of the console log."""

    def __init__(self, path):
        self.path = path
        self.offset = 0
        self.partial = ""
        self.bad = []

    def scan(self, final=False):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return
        self.offset += len(data)
        lines = (self.partial + data.decode("utf-8", "replace")).split("\n")
        self.partial = "" if final else lines.pop()
        self.bad += [line.rstrip() for line in lines if BAD_CONSOLE_RE.search(line)]


class _VM:
    """One qemu process, its work directory and its console log."""

    def __init__(self, kernel_dir, workdir, cwd, mem, smp, extra_cmdline, icount=None, memory_debug=True):
        self.kernel_dir = os.path.abspath(kernel_dir or default_kernel_dir())
        if workdir is None:
            os.makedirs(os.path.join(REPO, ".cache", "vm"), exist_ok=True)
            workdir = tempfile.mkdtemp(prefix=time.strftime("%Y%m%d-%H%M%S-"), dir=os.path.join(REPO, ".cache", "vm"))
        self.workdir = os.path.realpath(workdir)
        self.cwd = os.path.realpath(cwd or os.getcwd())
        self.mem = mem
        self.smp = smp
        self.icount = icount
        self.extra_cmdline = extra_cmdline
        self.memory_debug = memory_debug
        self.results_dir = os.path.join(self.workdir, "results")
        self.ctl = os.path.join(self.results_dir, ".vm")
        self.console_log = os.path.join(self.workdir, "console.log")
        self.qemu_log = os.path.join(self.workdir, "qemu.log")
        self.proc = None
        self._console = _ConsoleScanner(self.console_log)

    def _launch(self, mode, conf, serial1, files=None, stdin=subprocess.DEVNULL, stdout=None):
        """Write the guest's config (and FILES, name -> text, into the control
        folder) and start qemu; init.sh does the rest."""
        _check_kernel_dir(self.kernel_dir)
        _check_guest_visible("results directory", self.results_dir)
        _check_guest_visible("working directory", self.cwd)
        os.makedirs(self.ctl, exist_ok=True)
        for name in os.listdir(self.ctl):  # a reused workdir: forget old state
            os.unlink(os.path.join(self.ctl, name))
        conf = dict(VM_MODE=mode, VM_RESULTS=self.results_dir, VM_CWD=self.cwd,
                    VM_TERM=os.environ.get("TERM", "dumb"), VM_BIN=GUEST_BIN, **conf)
        files = dict(files or {}, conf="".join(f"{k}={shlex.quote(str(v))}\n" for k, v in conf.items()))
        for name, text in files.items():
            with open(os.path.join(self.ctl, name), "w") as f:
                f.write(text)
        open(self.console_log, "wb").close()
        self._console = _ConsoleScanner(self.console_log)
        # no_timer_check: under TCG on a loaded host the boot-time check of
        # the IO-APIC timer can miss its ticks and panic ("IO-APIC + timer
        # doesn't work!"); virtual machines skip it, as cloud images do.
        cmdline = " ".join(filter(None, [
            "console=ttyS0,115200 ignore_loglevel panic=-1 no_timer_check",
            MEMORY_DEBUG_CMDLINE if self.memory_debug else "",
            _preempt_cmdline(self.kernel_dir), _kasan_cmdline(self.kernel_dir), self.extra_cmdline]))
        cmd = [
            "qemu-system-x86_64", "-nodefaults", "-no-reboot", "-display", "none",
            "-machine", "q35", *_accel_args(self.kernel_dir, self.icount),
            "-m", self.mem, "-smp", str(self.smp),
            "-kernel", boot_image(self.kernel_dir),
            "-initrd", os.path.join(self.kernel_dir, "initramfs.cpio.gz"),
            "-append", cmdline,
            "-virtfs", "local,path=/,mount_tag=hostroot,readonly=on,security_model=none,multidevs=remap",
            "-virtfs", f"local,path={_qemu_path(self.results_dir)},mount_tag=results,security_model=none",
            "-serial", f"file:{_qemu_path(self.console_log)}",
            *serial1,
        ]  # fmt: skip
        with open(self.qemu_log, "wb") as log:
            self.proc = subprocess.Popen(cmd, stdin=stdin, stdout=stdout or log, stderr=log,
                                         preexec_fn=_die_with_parent)
        _live.add(self)

    def _where(self):
        return f"console log: {self.console_log}"

    def _bad_tail(self):
        bad = self._console.bad
        return "; kernel errors: " + " | ".join(bad[-5:]) if bad else ""

    def _qemu_log_tail(self):
        try:
            with open(self.qemu_log, errors="replace") as f:
                tail = f.read().strip()[-2000:]
        except FileNotFoundError:
            return ""
        return f"; qemu said: {tail}" if tail else ""

    def _kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
        if self.proc:
            self.proc.wait()
        self._console.scan(final=True)
        _live.discard(self)

    def kernel_errors(self):
        """All bad lines seen so far in the console log."""
        self._console.scan()
        return list(self._console.bad)


_live = set()  # qemu processes to kill if Python exits without stopping them
atexit.register(lambda: [vm._kill() for vm in list(_live)])


class Guest(_VM):
    """A guest in agent mode: boot once, run many commands, stop."""

    def __init__(self, kernel_dir=None, workdir=None, cwd=None, mem="1G", smp=2, boot_timeout=None,
                 extra_cmdline=""):
        super().__init__(kernel_dir, workdir, cwd or REPO, mem, smp, extra_cmdline)
        self.boot_timeout = boot_timeout or boot_timeout_default(self.kernel_dir)
        self._n = 0

    def __enter__(self):
        if self.proc is None:
            self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        """Boot and wait until the guest's agent is ready."""
        self._launch("agent", {}, ["-serial", "null"])
        self._n = 0
        self._wait_for(os.path.join(self.ctl, "ready"), self.boot_timeout,
                       lambda: f"guest exited during boot (qemu status {self.proc.returncode}); "
                               f"{self._where()}{self._qemu_log_tail()}",
                       f"guest did not boot within {self.boot_timeout}s, killed; {self._where()}")

    def _wait_for(self, path, timeout, died_msg, timeout_msg):
        """Poll until the guest creates PATH; on qemu's death (DIED_MSG, a
        callable: qemu's status is known only then) or after TIMEOUT seconds
        (TIMEOUT_MSG), kill the guest and raise GuestError."""
        deadline = time.monotonic() + timeout
        while not os.path.exists(path):
            if self.proc.poll() is not None:
                self._kill()
                raise GuestError(died_msg())
            if time.monotonic() > deadline:
                self._kill()
                raise GuestError(timeout_msg)
            time.sleep(POLL)

    def run(self, cmd, timeout=300):
        """Run the shell command CMD in the guest; return its Result."""
        if self.proc is None or self.proc.poll() is not None:
            raise GuestError(f"guest is not running; {self._where()}")
        self._console.scan()
        seen = len(self._console.bad)
        self._n += 1
        base = os.path.join(self.ctl, str(self._n))
        with open(base + ".cmd.tmp", "w") as f:
            f.write(cmd + "\n")
        os.rename(base + ".cmd.tmp", base + ".cmd")  # the guest must never see half a command
        self._wait_for(base + ".rc", timeout,
                       lambda: f"guest died while running: {cmd}; {self._where()}{self._bad_tail()}",
                       f"guest command timed out after {timeout:g}s: {cmd}; {self._where()}")
        with open(base + ".rc") as f:
            rc = int(f.read())
        with open(base + ".out", errors="replace") as f:
            output = f.read()
        self._console.scan()
        return Result(rc, output, self._console.bad[seen:])

    def stop(self):
        """Power the guest off (kill it after a grace period). Idempotent."""
        if self.proc is None or self.proc.poll() is not None:
            self._kill()
            return
        open(os.path.join(self.ctl, "poweroff"), "w").close()
        try:
            self.proc.wait(STOP_GRACE)
        except subprocess.TimeoutExpired:
            pass
        self._kill()


def _fail(msg, status):
    print(f"vmrun: {msg}", file=sys.stderr)
    return status


def _report_kernel_errors(vm, status):
    """Print the console's bad lines, if any, and return EXIT_KERNEL_ERRORS."""
    bad = vm.kernel_errors()
    if not bad:
        return None
    lines = "\n".join(f"  {line}" for line in bad)
    return _fail(f"kernel errors in the guest console (command exit status: {status}; {vm._where()}):\n{lines}",
                 EXIT_KERNEL_ERRORS)


def _cli_run(vm, command, timeout):
    """Run COMMAND with its stdio on the guest's ttyS1 == our stdio."""
    interactive = os.isatty(0)
    conf = {"VM_STDIN": "tty" if interactive else "null"}
    if interactive:
        size = os.get_terminal_size(0)
        conf.update(VM_ROWS=size.lines, VM_COLS=size.columns)
    vm._launch("run", conf,
               ["-chardev", "stdio,id=s1,signal=on", "-serial", "chardev:s1"], {"run.cmd": command + "\n"},
               stdin=0 if interactive else subprocess.DEVNULL, stdout=1)
    saved = termios.tcgetattr(0) if interactive else None
    try:
        vm.proc.wait(timeout)
    except subprocess.TimeoutExpired:
        return _fail(f"guest timed out after {timeout:g} s, killed; {vm._where()}", EXIT_TIMEOUT)
    except KeyboardInterrupt:
        return _fail(f"interrupted; {vm._where()}", 130)
    finally:
        if saved:
            termios.tcsetattr(0, termios.TCSADRAIN, saved)
        vm._kill()
    try:
        with open(os.path.join(vm.ctl, "run.rc")) as f:
            status = f.read().strip()
    except FileNotFoundError:
        status = None
    bad = _report_kernel_errors(vm, status)
    if status is None or not status.isdigit():
        why = "never started the command" if status is None else "died while the command ran"
        return _fail(f"the guest {why} (no exit status); {vm._where()}{vm._qemu_log_tail()}", EXIT_NO_STATUS)
    return bad or int(status)


def _cli_shell(vm, timeout, setup):
    if not os.isatty(0):
        return _fail("--shell needs a terminal on stdin", 2)
    size = os.get_terminal_size(0)
    vm._launch("shell", {"VM_ROWS": size.lines, "VM_COLS": size.columns},
               ["-chardev", "stdio,id=s1,mux=on,signal=off", "-serial", "chardev:s1"],
               {"shell.setup": setup + "\n"}, stdin=0, stdout=1)
    print("vmrun: booting; Ctrl-a x kills the guest, Ctrl-a Ctrl-a sends Ctrl-a", file=sys.stderr)
    saved = termios.tcgetattr(0)
    try:
        # qemu's stdio backend puts the tty in raw mode (signal=off: ^C goes to the guest).
        vm.proc.wait(timeout)
    except subprocess.TimeoutExpired:
        return _fail(f"guest timed out after {timeout:g} s, killed; {vm._where()}", EXIT_TIMEOUT)
    finally:
        vm._kill()
        termios.tcsetattr(0, termios.TCSADRAIN, saved)
    return _report_kernel_errors(vm, "shell exited") or 0


def main(argv=None):
    p = argparse.ArgumentParser(
        description="Run a command (or a shell) in a QEMU guest with Debian's kernel and the host's root fs.",
        epilog=f"Exit status: the command's; {EXIT_KERNEL_ERRORS} on kernel errors in the guest console, "
               f"{EXIT_TIMEOUT} on timeout, {EXIT_NO_STATUS} if the guest reported no status.",
    )
    p.add_argument("--guest", default=DEFAULT_GUEST, choices=guest_names(), metavar="NAME",
                   help=f"the guest kernel: {', '.join(guest_names())} (default: {DEFAULT_GUEST}; make's GUEST)")
    p.add_argument("--kernel-dir", help="prepared guest kernel (default: the --guest kernel's .cache/guest/KREL, "
                                        "prepared on demand)")
    p.add_argument("--workdir", help="where the console log and results/ go (default: a new dir in .cache/vm/)")
    p.add_argument("--cwd", help="directory the command starts in (default: the current directory)")
    p.add_argument("--timeout", type=float, help="seconds before the guest is killed (default: 600; shell: none)")
    p.add_argument("--mem", default="1G")
    p.add_argument("--smp", type=int, default=2)
    p.add_argument("--icount", type=int, metavar="SHIFT",
                   help=f"TCG with guest time counted in instructions, 2^SHIFT ns each "
                        f"({ICOUNT_SHIFT_MIN}-{ICOUNT_SHIFT_MAX}): figures independent of the host's load "
                        f"(benchmarks); needs --smp 1")
    p.add_argument("--no-memory-debug", dest="memory_debug", action="store_false",
                   help=f"boot without the memory debugging of every test guest ({MEMORY_DEBUG_CMDLINE}): "
                        f"for benchmarks, whose figures it slows")
    p.add_argument("--cmdline", default="", help="extra guest kernel command line, e.g. hugepages=64")
    p.add_argument("--shell", action="store_true",
                   help="interactive shell; a COMMAND given too is sourced by the shell first (setup)")
    p.add_argument("command", nargs=argparse.REMAINDER, help="the command (words joined by spaces)")
    args = p.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not args.shell and not command:
        p.error("give --shell or a COMMAND")
    if args.icount is not None:
        if not ICOUNT_SHIFT_MIN <= args.icount <= ICOUNT_SHIFT_MAX:
            p.error(f"--icount: SHIFT must be {ICOUNT_SHIFT_MIN} to {ICOUNT_SHIFT_MAX}, not {args.icount}")
        if args.smp != 1:
            # QEMU 7.2 hangs bringing up the second vCPU under -icount.
            p.error("--icount needs --smp 1 (QEMU 7.2 does not start a second vCPU with it)")
    try:
        kernel_dir = args.kernel_dir or ensure_kernel(name=args.guest)
        vm = _VM(kernel_dir, args.workdir, args.cwd, args.mem, args.smp, args.cmdline, args.icount,
                 args.memory_debug)
        if args.shell:
            return _cli_shell(vm, args.timeout, " ".join(command))
        return _cli_run(vm, " ".join(command), args.timeout or 600)
    except (GuestError, subprocess.CalledProcessError) as e:
        return _fail(str(e), EXIT_NO_STATUS)


if __name__ == "__main__":
    sys.exit(main())

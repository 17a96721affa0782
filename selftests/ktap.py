"""KTAP output of the C test binaries (selftests/lib/harness.h) as pytest
outcomes. Used by test_driver.py (in-guest selftests) and test_core.py (host
unit tests of kernel/core).

list_cases() asks a binary for its case names (--list, on the host, at
collection time); parse() reads one flat KTAP run; check_case() turns one case's result into
the pytest outcome: a pass, a skip with the case's reason, or a failure with
the diagnostic lines the case printed. A case with no result line fails,
naming it (the binary crashed, or the case list changed).
"""

import os
import re
import subprocess
from typing import NamedTuple

import pytest

_RESULT = re.compile(r"^(ok|not ok) (\d+) (\S+)(?: # (\w+)\s*(.*))?$")
_PLAN = re.compile(r"^\d+\.\.\d+$")


class Result(NamedTuple):
    status: str     # "ok", "not ok" or "skip"
    reason: str     # the directive's text, e.g. why the case was skipped
    diag: list      # the lines printed before the result line


def list_cases(path):
    """The case names of the test binary PATH, or None if it is not built or
    its --list failed (callers collect that as a failing case)."""
    if not os.access(path, os.X_OK):
        return None
    out = subprocess.run([path, "--list"], capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        return None
    return out.stdout.split()


def parse(output):
    """{case name: Result} from KTAP output.

    The diagnostic lines of a case are those between the previous result
    line and its own (stray stderr lines included, when merged).
    """
    results = {}
    diag = []
    for line in output.splitlines():
        m = _RESULT.match(line)
        if m:
            result, _, name, directive, reason = m.groups()
            status = "skip" if result == "ok" and (directive or "").upper() == "SKIP" else result
            results[name] = Result(status, reason or "", diag)
            diag = []
        elif line.startswith("KTAP version") or _PLAN.match(line) or line.startswith("# Totals"):
            continue
        else:
            diag.append(line)
    return results


def run_host(path):
    """One run of every case of the host test binary PATH (built by `make
    tools`): (the CompletedProcess, stderr merged into stdout, {case name:
    Result})."""
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} is not built: run make tools")
    r = subprocess.run([path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=120)
    return r, parse(r.stdout)


def check_case(results, case, binary, rc, output):
    """Pass, skip or fail the running pytest case as CASE did in a run of
    BINARY (exit status RC, OUTPUT) parsed into RESULTS."""
    if case not in results:
        pytest.fail(f"{case}: no KTAP result in the output of {binary} (exit status {rc}): "
                    f"did it crash?\n--- output ---\n{output[-4000:]}")
    status, reason, diag = results[case]
    if status == "skip":
        pytest.skip(reason)
    assert status == "ok", f"{binary}: {case} failed:\n" + "\n".join(diag)

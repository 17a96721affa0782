# SPDX-License-Identifier: GPL-2.0
"""faultinject: host unit tests of its rule language.

build/tools/faultinject_rules_test (KTAP, ASan + UBSan; each case is a
pytest case): every action and filter read into its field, canonical text
read back to the same rule, rules files with comments, and every malformed
word, value, filter, conflict and file named in a one-line error.

Run with /usr/bin/python3 -m pytest selftests/test_faultinject.py.
"""

import os
import subprocess

import pytest

import ktap

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RULES_TEST = os.path.join(REPO, "build", "tools", "faultinject_rules_test")

RULES_CASES = ktap.list_cases(RULES_TEST)


@pytest.fixture(scope="module")
def rules_run():
    """One run of every rules case: (CompletedProcess, parsed KTAP)."""
    if not os.access(RULES_TEST, os.X_OK):
        pytest.fail(f"{RULES_TEST} is not built: run make tools")
    r = subprocess.run([RULES_TEST], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=120)
    return r, ktap.parse(r.stdout)


@pytest.mark.parametrize("case", RULES_CASES if RULES_CASES is not None
                         else [pytest.param(None, id="NOT-BUILT")])
def test_rules(rules_run, case):
    if case is None:
        pytest.fail(f"{RULES_TEST} is missing or its --list failed: run make tools")
    r, results = rules_run
    ktap.check_case(results, case, "faultinject_rules_test", r.returncode, r.stdout)


def test_rules_run_clean(rules_run):
    r, _ = rules_run
    assert r.returncode == 0, r.stdout[-4000:]

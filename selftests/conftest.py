"""Shared pytest fixtures of nestiommu's selftests.

The host kernel cannot load modules, so tests that need the driver run their
commands in a QEMU guest (selftests/vm/vmrun.py): Debian's kernel, the host's
root file system shared read-only, commands run as root. Paths the guest must
see may not live below /run, /dev, /proc or /sys, nor below /tmp unless inside
the working directory (the guest mounts its own file systems there), so use
guest.results_dir, not pytest's tmp_path, to exchange files.
Run with /usr/bin/python3 -m pytest (the system python has pytest).
"""

import os
import sys

import pytest

SELFTESTS = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(SELFTESTS)
sys.path.insert(0, os.path.join(SELFTESTS, "vm"))

import vmrun  # noqa: E402


@pytest.fixture(scope="session")
def guest_kernel_dir():
    """The prepared guest kernel dir (runs guest-kernel.sh; quick when done)."""
    try:
        return vmrun.ensure_kernel()
    except Exception as e:  # CalledProcessError: the script printed why
        pytest.fail(f"cannot prepare the guest kernel: {e}")


def repo_guest(kernel_dir, **kwargs):
    """A Guest whose commands start in the repo root, in a fresh workdir under
    .cache/vm/. Not started: use it as `with repo_guest(dir) as g:` (or call
    start() and stop()). kwargs go to vmrun.Guest (mem, smp, boot_timeout...)."""
    return vmrun.Guest(kernel_dir, None, REPO, **kwargs)

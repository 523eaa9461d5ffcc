"""Run Python with file permissions enforced, even when the tests run as root.

CI and these machines run as root, which reads and deletes whatever it likes: a test of an
unreadable file or a read-only directory must run its code without root's override. The child
drops CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH and CAP_FOWNER from its capability bounding set
before exec, so it keeps uid 0 (and its interpreter) but obeys every mode bit.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
PR_CAPBSET_DROP = 24
OVERRIDE_CAPABILITIES = (1, 2, 3)  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER


def _drop_overrides() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in OVERRIDE_CAPABILITIES:
        if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def run_unprivileged(code: str) -> subprocess.CompletedProcess[str]:
    """Run `code` with the repository importable and file permissions enforced."""
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPOSITORY,
        env={**os.environ, "PYTHONPATH": str(REPOSITORY)},
        preexec_fn=_drop_overrides if os.geteuid() == 0 else None,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

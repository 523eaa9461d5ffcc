"""Running a make target with its CLI replaced by a printer of the arguments it receives."""

from __future__ import annotations

import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def received_arguments(*arguments: str) -> str:
    """Run the target with `setup` taken as done and the CLI replaced by a printer of its
    arguments, one in brackets each."""
    ran = subprocess.run(
        ["make", "--no-print-directory", "-o", "setup", *arguments, "OPS=printf [%s]"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return ran.stdout.strip().splitlines()[-1]

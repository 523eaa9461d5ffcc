"""Install, hash-checked, only the locked requirements that this Python lacks (a DLC has most).

``python -m training.install_missing training/requirements.txt [--dry-run]``: a distribution that is
present, in whatever version the image ships, is left alone, so the DLC's tested set is not changed;
what is missing comes from the lock with its hashes. The lock holds the whole closure, so the
missing entries are installed with --no-deps: pip never reaches for an unhashed dependency.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

from tooling.locks import LockedRequirement, LockError, read_lock


def missing(requirements: list[LockedRequirement]) -> list[LockedRequirement]:
    lacking = []
    for requirement in requirements:
        try:
            metadata.version(requirement.name)
        except metadata.PackageNotFoundError:
            lacking.append(requirement)
    return lacking


def install(requirements: list[LockedRequirement]) -> int:
    with tempfile.TemporaryDirectory() as directory:
        subset = Path(directory) / "missing.txt"
        subset.write_text("".join(f"{r.text}\n" for r in requirements), encoding="utf-8")
        command = [sys.executable, "-m", "pip", "install", "--no-cache-dir", "--quiet"]
        command += ["--require-hashes", "--no-deps", "-r", str(subset)]
        return subprocess.run(command, check=False).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.install_missing")
    parser.add_argument("lock", type=Path, help="a requirements lock written by `make lock`")
    parser.add_argument("--dry-run", action="store_true", help="print, do not install")
    args = parser.parse_args(argv)
    try:
        lacking = missing(read_lock(args.lock))
    except (OSError, LockError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if not lacking:
        print("all requirements present; installing nothing")
        return 0
    print(f"installing: {' '.join(r.pin for r in lacking)}")
    if args.dry_run:
        return 0
    return install(lacking)


if __name__ == "__main__":
    sys.exit(main())

"""Install only the pinned requirements that this Python lacks (a DLC already has most).

``python -m training.install_missing training/requirements.txt [--dry-run]``: a distribution that is
present, in whatever version the image ships, is left alone, so the DLC's tested set is not changed.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==\S+$")


def pinned_requirements(path: Path) -> list[tuple[str, str]]:
    """(distribution name, requirement line) for each line; only exact pins are allowed."""
    requirements = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = _PIN.match(line)
        if match is None:
            raise ValueError(f"{path}:{number}: {line!r} is not pinned as name==version")
        requirements.append((match.group(1), line))
    return requirements


def missing(requirements: list[tuple[str, str]]) -> list[str]:
    lacking = []
    for name, line in requirements:
        try:
            metadata.version(name)
        except metadata.PackageNotFoundError:
            lacking.append(line)
    return lacking


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.install_missing")
    parser.add_argument("requirements", type=Path, help="a file of name==version lines")
    parser.add_argument("--dry-run", action="store_true", help="print, do not install")
    args = parser.parse_args(argv)
    try:
        lacking = missing(pinned_requirements(args.requirements))
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if not lacking:
        print("all requirements present; installing nothing")
        return 0
    print(f"installing: {' '.join(lacking)}")
    if args.dry_run:
        return 0
    command = [sys.executable, "-m", "pip", "install", "--no-cache-dir", "--quiet", *lacking]
    return subprocess.run(command, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())

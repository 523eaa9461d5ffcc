"""Install, hash-checked, only the locked requirements that this Python lacks (a DLC has most).

``python -m training.install_missing training/requirements.txt [--dry-run]``: a distribution that is
present, in whatever version the image ships, is left alone, so the DLC's tested set is not changed;
what is missing comes from the lock with its hashes. The lock holds the whole closure, so the
missing entries are installed with --no-deps: pip never reaches for an unhashed dependency.

One exception: when the DLC's version of a direct requirement fails its bound in the `.in` file
beside the lock (boto3 too old for S3 conditional writes, say), the whole lock is installed, so
that the newer package comes with the dependencies it was locked with; training would otherwise
fail only at the publish, after the whole run.
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


def outdated(requirements_in: Path) -> list[str]:
    """The `.in` file's requirements that are installed in a version outside their bounds."""
    # Imported here: packaging is in the lock (matplotlib needs it), so it is there once the
    # missing entries are installed, even in a venv that lacked it.
    from packaging.requirements import InvalidRequirement, Requirement

    found = []
    for number, raw in enumerate(requirements_in.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            requirement = Requirement(line)
        except InvalidRequirement as error:
            reason = str(error).splitlines()[0]  # packaging adds the line and a caret below
            raise LockError(f"{requirements_in}:{number}: {line!r}: {reason}") from None
        try:
            version = metadata.version(requirement.name)
        except metadata.PackageNotFoundError:
            continue  # missing: installed from the lock anyway
        if not requirement.specifier.contains(version, prereleases=True):
            found.append(f"{requirement.name} {version} (wants {requirement.specifier})")
    return found


def install(requirements: list[LockedRequirement], *, with_dependencies: bool = False) -> int:
    """pip install, every file checked against its locked hash."""
    with tempfile.TemporaryDirectory() as directory:
        subset = Path(directory) / "requirements.txt"
        subset.write_text("".join(f"{r.text}\n" for r in requirements), encoding="utf-8")
        command = [sys.executable, "-m", "pip", "install", "--no-cache-dir", "--quiet"]
        command += ["--require-hashes", *([] if with_dependencies else ["--no-deps"])]
        return subprocess.run([*command, "-r", str(subset)], check=False).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.install_missing")
    parser.add_argument("lock", type=Path, help="a requirements lock written by `make lock`")
    parser.add_argument("--dry-run", action="store_true", help="print, do not install")
    args = parser.parse_args(argv)
    try:
        locked = read_lock(args.lock)
        lacking = missing(locked)
    except (OSError, LockError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if not lacking:
        print("all requirements present; installing nothing")
    else:
        print(f"installing: {' '.join(r.pin for r in lacking)}")
        if args.dry_run:
            return 0
        if code := install(lacking):
            return code
    return install_all_if_outdated(locked, args.lock.with_suffix(".in"), args.dry_run)


def install_all_if_outdated(
    locked: list[LockedRequirement], requirements_in: Path, dry: bool
) -> int:
    if not requirements_in.is_file():
        return 0
    try:
        too_old = outdated(requirements_in)
    except (OSError, LockError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if not too_old:
        return 0
    print(f"older than {requirements_in.name} allows: {', '.join(too_old)}; installing the lock")
    if dry:
        return 0
    return install(locked, with_dependencies=True)


if __name__ == "__main__":
    sys.exit(main())

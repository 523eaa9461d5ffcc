"""Reading the repository's hash-locked requirement files (written by `make lock`).

Stdlib only: training reads its lock inside a DLC before anything is installed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

# `name[extras]==version ; marker --hash=sha256:... --hash=...`, continuation lines joined.
_ENTRY = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==(?P<version>[^\s;]+)"
    r"(?:\s*;\s*(?P<marker>.*?))?(?P<hashes>(?:\s+--hash=sha256:[0-9a-f]{64})*)\s*$"
)
_HASH = re.compile(r"--hash=sha256:([0-9a-f]{64})")


class LockError(ValueError):
    """A line of a lock that is not an exact, hashed pin: one line naming the file and line."""


@dataclass(frozen=True)
class LockedRequirement:
    name: str  # normalized as PEP 503 does: lower case, runs of -_. as one -
    version: str
    hashes: tuple[str, ...]
    text: str  # the entry as pip reads it (pin, marker, hashes) on one line

    @property
    def pin(self) -> str:
        return f"{self.name}=={self.version}"


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lock(path: Path) -> list[LockedRequirement]:
    """Every entry of a lock; anything but an exact pin with at least one sha256 is refused."""
    entries = []
    for number, line in _logical_lines(path.read_text(encoding="utf-8")):
        match = _ENTRY.match(line)
        if match is None:
            raise LockError(f"{path}:{number}: {line!r} is not name==version with --hash options")
        hashes = tuple(_HASH.findall(match["hashes"]))
        if not hashes:
            raise LockError(f"{path}:{number}: {match['name']} has no --hash; run `make lock`")
        entries.append(LockedRequirement(normalized(match["name"]), match["version"], hashes, line))
    return entries


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """(first physical line number, text) with comments dropped and `\\` continuations joined."""
    lines: list[tuple[int, str]] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        code = raw.split(" #", 1)[0] if not raw.lstrip().startswith("#") else ""
        code = code.strip()
        if not pending:
            start = number
        if code.endswith("\\"):
            pending.append(code[:-1].strip())
            continue
        pending.append(code)
        joined = " ".join(part for part in pending if part)
        pending = []
        if joined:
            lines.append((start, joined))
    if any(pending):
        lines.append((start, " ".join(part for part in pending if part)))
    return lines


def main(argv: list[str] | None = None) -> int:
    """`python -m tooling.locks LOCK NAME...`: the named entries, as a requirements file pip
    installs with --require-hashes (how `make lock` gets uv without installing the whole lock)."""
    import sys

    path, *names = argv if argv is not None else sys.argv[1:]
    try:
        entries = {entry.name: entry for entry in read_lock(Path(path))}
    except (OSError, LockError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    missing = [name for name in names if normalized(name) not in entries]
    if missing:
        print(f"error: {path} does not lock {', '.join(missing)}", file=sys.stderr)
        return 1
    for name in names:
        print(entries[normalized(name)].text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

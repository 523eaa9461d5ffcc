"""What the image's lock puts in the function directory: each package and its size on disk.

``python -m lambda_image.local.dependency_sizes [--write README.md]`` installs the lock as the
Dockerfile does (wheels only, hashes required, for the image's Python 3.12 on x86_64 Linux) into a
temporary directory, then sums each distribution's files from its RECORD. Needs the package index
(pip downloads the wheels), so it is a make target (`make image-deps`), not a test. The image build
also compiles bytecode, which this table leaves out.
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path

from tooling.atomic import write_file_atomically

LOCK = Path(__file__).resolve().parents[1] / "requirements.txt"
START, END = "<!-- image-dependencies:start -->", "<!-- image-dependencies:end -->"
# The DLC's interpreter and platform: pip picks the wheels the image build would.
IMAGE_TARGET = ["--python-version", "3.12", "--implementation", "cp", "--abi", "cp312"]
IMAGE_TARGET += ["--only-binary=:all:"]
# pip takes exactly the platform tags it is given; amzn2023 (glibc 2.34) runs all of these.
for tag in ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64"):
    IMAGE_TARGET += ["--platform", tag]


@dataclass(frozen=True)
class InstalledSize:
    name: str
    version: str
    size: int  # bytes of the files its RECORD lists


def install(lock: Path, target: Path) -> None:
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    command += ["--no-compile", "--require-hashes", "--target", str(target), *IMAGE_TARGET]
    result = subprocess.run(
        [*command, "-r", str(lock)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["pip failed"])[-1]
        raise RuntimeError(f"cannot install {lock}: {last}")


def installed_sizes(target: Path) -> list[InstalledSize]:
    sizes = []
    for dist_info in sorted(target.glob("*.dist-info")):
        metadata = HeaderParser().parsestr((dist_info / "METADATA").read_text(encoding="utf-8"))
        with (dist_info / "RECORD").open(newline="", encoding="utf-8") as record:
            files = [target / row[0] for row in csv.reader(record) if row]
        size = sum(path.stat().st_size for path in files if path.is_file())
        sizes.append(InstalledSize(metadata["Name"], metadata["Version"], size))
    return sorted(sizes, key=lambda s: s.size, reverse=True)


def markdown_table(sizes: list[InstalledSize]) -> str:
    rows = ["| package | version | size |", "|---|---|---:|"]
    rows += [f"| {s.name} | {s.version} | {megabytes(s.size)} |" for s in sizes]
    rows.append(f"| **total** | | **{megabytes(sum(s.size for s in sizes))}** |")
    return "\n".join(rows)


def megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size / 1e3:.0f} kB"


def replace_section(document: str, table: str) -> str:
    if START not in document or END not in document:
        raise ValueError(f"the document has no {START} ... {END} section")
    head, rest = document.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{table}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lambda_image.local.dependency_sizes")
    parser.add_argument("--lock", type=Path, default=LOCK, help="the image's requirements lock")
    parser.add_argument("--write", type=Path, help="replace the table in this Markdown file")
    args = parser.parse_args(argv)
    try:
        with tempfile.TemporaryDirectory() as directory:
            install(args.lock, Path(directory))
            table = markdown_table(installed_sizes(Path(directory)))
        if args.write:
            updated = replace_section(args.write.read_text(encoding="utf-8"), table)
            write_file_atomically(args.write, updated.encode())
    except (OSError, RuntimeError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())

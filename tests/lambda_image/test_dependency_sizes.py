"""The image's dependency table: sizes from each distribution's RECORD, kept in the README."""

from __future__ import annotations

from pathlib import Path

import pytest

from lambda_image.local.dependency_sizes import (
    END,
    START,
    InstalledSize,
    installed_sizes,
    markdown_table,
    replace_section,
)
from tooling.locks import normalized, read_lock

ROOT = Path(__file__).resolve().parents[2]


def fake_distribution(target: Path, name: str, files: dict[str, int]) -> None:
    dist_info = target / f"{name}-1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    for path, size in files.items():
        (target / path).parent.mkdir(parents=True, exist_ok=True)
        (target / path).write_bytes(b"x" * size)
    rows = [f"{path},sha256=abc,{size}" for path, size in files.items()]
    rows.append(f"{dist_info.name}/RECORD,,")
    (dist_info / "RECORD").write_text("\n".join(rows) + "\n")


def test_each_distribution_counts_the_files_its_record_lists(tmp_path: Path) -> None:
    fake_distribution(tmp_path, "small", {"small/__init__.py": 10})
    fake_distribution(tmp_path, "large", {"large/__init__.py": 300, "large/core.so": 700})
    (tmp_path / "stray.txt").write_bytes(b"x" * 5000)  # no RECORD claims it
    sizes = installed_sizes(tmp_path)
    record_sizes = {s.name: s.size for s in sizes}
    assert [s.name for s in sizes] == ["large", "small"]  # largest first
    assert record_sizes["large"] > 1000 > record_sizes["small"] > 10  # files + RECORD itself


def test_the_table_totals_every_row() -> None:
    table = markdown_table([InstalledSize("a", "1", 2_500_000), InstalledSize("b", "2", 40_000)])
    assert "| a | 1 | 2.5 MB |" in table and "| b | 2 | 40 kB |" in table
    assert table.endswith("| **total** | | **2.5 MB** |")


def test_only_the_marked_section_is_replaced() -> None:
    document = f"intro\n{START}\nold\n{END}\noutro\n"
    assert replace_section(document, "new") == f"intro\n{START}\nnew\n{END}\noutro\n"
    with pytest.raises(ValueError, match="no <!-- image-dependencies:start -->"):
        replace_section("no markers", "new")


def test_the_readme_lists_exactly_the_locked_packages() -> None:
    """`make image-deps` rewrites the table; a lock change without it fails here."""
    readme = (ROOT / "README.md").read_text()
    table = readme.split(START, 1)[1].split(END, 1)[0]
    rows = [
        line.split(" | ")
        for line in table.splitlines()
        if line.startswith("| ") and "**" not in line
    ]
    listed = {(normalized(row[0].strip("| ")), row[1]) for row in rows[1:]}
    locked = {(r.name, r.version) for r in read_lock(ROOT / "lambda_image" / "requirements.txt")}
    assert listed == locked, "run `make image-deps`"

"""Atomic writes: a failed, refused or killed write leaves the previous file or directory whole."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unprivileged import REPOSITORY, run_unprivileged
from tooling.atomic import (
    InterruptedAfterWrite,
    OutputError,
    write_directory_atomically,
    write_file_atomically,
)

REPLACED = {"weights.bin", "card.json"}
WRITE_NEW = "(staging / 'weights.bin').write_bytes(b'new')"


def leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def write_new(staging: Path) -> None:
    (staging / "weights.bin").write_bytes(b"new")


@pytest.fixture
def target(tmp_path: Path) -> Path:
    """A directory holding the previous version of the written files."""
    directory = tmp_path / "out"
    directory.mkdir()
    (directory / "weights.bin").write_bytes(b"old")
    return directory


def test_a_file_is_replaced_whole_with_an_ordinary_mode(tmp_path: Path) -> None:
    path = tmp_path / "plots" / "cost.png"
    write_file_atomically(path, b"first")
    write_file_atomically(path, b"second")
    assert path.read_bytes() == b"second"
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    assert [p.name for p in path.parent.iterdir()] == ["cost.png"]  # no temporary left


def test_a_failed_file_write_leaves_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "cost.png"
    path.write_bytes(b"old")

    def failing_replace(source: str, destination: Path) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        write_file_atomically(path, b"new")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["cost.png"]


def test_a_new_directory_replaces_the_old_and_keeps_other_files(target: Path) -> None:
    (target / "NOTES.md").write_text("kept across writes\n")
    write_directory_atomically(target, write_new, REPLACED)
    assert sorted(p.name for p in target.iterdir()) == ["NOTES.md", "weights.bin"]
    assert (target / "weights.bin").read_bytes() == b"new"
    assert (target / "NOTES.md").read_text() == "kept across writes\n"
    assert leftovers(target.parent) == []
    assert target.stat().st_mode & 0o777 != 0o700


def test_an_output_path_that_is_a_file(tmp_path: Path) -> None:
    path = tmp_path / "out"
    path.write_text("not a directory")
    with pytest.raises(OutputError, match="exists and is not a directory"):
        write_directory_atomically(path, lambda staging: None, REPLACED)


def test_a_failed_swap_restores_the_old_directory(
    target: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_rename = Path.rename

    def rename(self: Path, destination: Path) -> Path:
        if self.name.startswith(".out.new-"):
            raise OSError("rename failed")
        return real_rename(self, destination)

    monkeypatch.setattr(Path, "rename", rename)
    with pytest.raises(OutputError, match="cannot write \\(rename failed\\)"):
        write_directory_atomically(target, write_new, REPLACED)
    assert (target / "weights.bin").read_bytes() == b"old"
    assert leftovers(target.parent) == []


def _writer_script(target: Path, write_body: str) -> str:
    """A program that swaps in a new directory; `write_body` fills `staging`."""
    return (
        "import time\n"
        "from pathlib import Path\n"
        "from tooling.atomic import OutputError, write_directory_atomically\n"
        "def write(staging):\n"
        f"    {write_body}\n"
        "try:\n"
        f"    write_directory_atomically(Path({str(target)!r}), write, {sorted(REPLACED)!r})\n"
        "except OutputError as error:\n"
        "    print(error)\n"
    )


def test_a_read_only_directory_leaves_no_old_copy_behind(target: Path) -> None:
    target.chmod(0o555)
    result = run_unprivileged(_writer_script(target, WRITE_NEW))
    assert result.returncode == 0 and result.stdout == "", result.stderr
    assert (target / "weights.bin").read_bytes() == b"new"
    assert leftovers(target.parent) == []


def test_an_unreadable_file_in_the_old_directory_is_one_line(target: Path) -> None:
    (target / "secret.txt").write_text("root only")
    (target / "secret.txt").chmod(0)
    result = run_unprivileged(_writer_script(target, "pass"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        f"{target / 'secret.txt'}: cannot carry it over to the new model directory "
        "(Permission denied); move it away or make it readable"
    )
    assert (target / "weights.bin").read_bytes() == b"old"
    assert leftovers(target.parent) == []


def test_sigterm_while_writing_removes_the_half_written_directory(target: Path) -> None:
    # As fetch-model does: a file is created, then the download stalls.
    write = "(staging / 'weights.bin').touch(); print('writing', flush=True); time.sleep(60)"
    with subprocess.Popen(
        [sys.executable, "-c", _writer_script(target, write)],
        cwd=REPOSITORY,
        env={**os.environ, "PYTHONPATH": str(REPOSITORY)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stdout is not None
        assert process.stdout.readline() == "writing\n"
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    assert "KeyboardInterrupt" in err
    assert (target / "weights.bin").read_bytes() == b"old"
    assert leftovers(target.parent) == []


def test_an_interrupt_during_the_swap_waits_until_the_new_directory_is_in_place(
    target: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    handler_before = signal.getsignal(signal.SIGTERM)
    real_rename = Path.rename

    def rename(self: Path, destination: Path) -> Path:
        if self == target:  # between the two renames, as a stopped build may
            os.kill(os.getpid(), signal.SIGTERM)
        return real_rename(self, destination)

    monkeypatch.setattr(Path, "rename", rename)
    with pytest.raises(InterruptedAfterWrite):
        write_directory_atomically(target, write_new, REPLACED)
    assert (target / "weights.bin").read_bytes() == b"new"
    assert leftovers(target.parent) == []
    assert signal.getsignal(signal.SIGTERM) is handler_before


def test_a_retired_tree_that_cannot_be_removed_is_reported(
    target: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(shutil, "rmtree", lambda path, ignore_errors=False: None)
    write_directory_atomically(target, write_new, REPLACED)
    (retired,) = leftovers(target.parent)
    assert f"{target.parent / retired}: could not be removed completely" in caplog.text

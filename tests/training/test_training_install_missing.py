"""Installing, hash-checked, only what the DLC lacks from training's lock."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from tooling.locks import read_lock
from training import install_missing

HASH = "0" * 64
ABSENT = f"no-such-distribution-xyz==1.0 \\\n    --hash=sha256:{HASH}\n"


def lock(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "requirements.txt"
    path.write_text(text)
    return path


def test_only_absent_distributions_are_installed(tmp_path: Path) -> None:
    present = f"pytest==0.0.1 \\\n    --hash=sha256:{HASH}\n    # via -r requirements.in\n"
    entries = read_lock(lock(tmp_path, "# comment\n" + present + ABSENT))
    assert [r.pin for r in install_missing.missing(entries)] == ["no-such-distribution-xyz==1.0"]


def test_the_missing_entries_are_installed_with_their_hashes_and_no_dependencies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[list[str], str]] = []

    def fake_run(command: list[str], check: bool) -> Any:
        calls.append((command, Path(command[-1]).read_text()))
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(install_missing.subprocess, "run", fake_run)
    assert install_missing.main([str(lock(tmp_path, ABSENT))]) == 0
    [(command, subset)] = calls
    assert {"--require-hashes", "--no-deps"} <= set(command)
    assert subset == f"no-such-distribution-xyz==1.0 --hash=sha256:{HASH}\n"


def test_dry_run_names_what_it_would_install(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert install_missing.main([str(lock(tmp_path, ABSENT)), "--dry-run"]) == 0
    assert capsys.readouterr().out == "installing: no-such-distribution-xyz==1.0\n"


def test_nothing_to_install(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert install_missing.main([str(lock(tmp_path, f"torch==2.13.0 --hash=sha256:{HASH}\n"))]) == 0
    assert "installing nothing" in capsys.readouterr().out


@pytest.mark.parametrize("line", ["torch", "torch>=2", "-r other.txt", "torch==2.13.0"])
def test_entries_that_are_not_hashed_pins_are_refused(
    tmp_path: Path, line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert install_missing.main([str(lock(tmp_path, line + "\n"))]) == 1
    error = capsys.readouterr().err
    assert error.startswith("error: ") and error.count("\n") == 1
    assert "requirements.txt:1:" in error


def test_the_training_lock_reads(repository: Path) -> None:
    names = {r.name for r in read_lock(repository / "training" / "requirements.txt")}
    assert {"boto3", "matplotlib"} <= names


def test_a_present_direct_requirement_below_its_bound_installs_the_whole_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The DLC's package is kept unless it is too old for training: then the lock, consistent."""
    commands: list[list[str]] = []

    def fake_run(command: list[str], check: bool) -> Any:
        commands.append(command)
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(install_missing.subprocess, "run", fake_run)
    path = lock(tmp_path, f"pytest==999.0 --hash=sha256:{HASH}\n")
    (tmp_path / "requirements.in").write_text("# why\npytest>=999  # a release not installed\n")
    assert install_missing.main([str(path)]) == 0
    out = capsys.readouterr().out
    assert "older than requirements.in allows: pytest " in out and "(wants >=999)" in out
    [command] = commands
    assert "--require-hashes" in command and "--no-deps" not in command

    (tmp_path / "requirements.in").write_text("pytest>=1\n")
    commands.clear()
    assert install_missing.main([str(path)]) == 0
    assert commands == []


def test_an_unreadable_requirement_in_the_in_file_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = lock(tmp_path, f"pytest==999.0 --hash=sha256:{HASH}\n")
    (tmp_path / "requirements.in").write_text("pytest >>> 1\n")
    assert install_missing.main([str(path)]) == 1
    error = capsys.readouterr().err
    assert error.startswith("error: ") and "requirements.in:1:" in error and error.count("\n") == 1

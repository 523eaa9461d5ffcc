"""Atomic model directories: a failed, gated or killed run leaves the previous model untouched."""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.unprivileged import run_unprivileged
from torchlambda.contract import CARD_FILE, PLOT_FILE, WEIGHTS_FILE
from training import report, train
from training.artifacts import InterruptedAfterWrite, OutputError, write_directory_atomically
from training.progress import Progress

ARTIFACT = {WEIGHTS_FILE, CARD_FILE, PLOT_FILE}
Trainer = Callable[..., int]


def snapshot(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(directory.iterdir())}


@pytest.fixture
def previous_model(tmp_path: Path, train_tiny: Trainer) -> tuple[Path, dict[str, bytes]]:
    out = tmp_path / "model"
    assert train_tiny(out) == 0
    (out / "NOTES.md").write_text("kept across retraining\n")
    return out, snapshot(out)


def leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def test_a_new_model_replaces_the_old_and_keeps_other_files(
    previous_model: tuple[Path, dict[str, bytes]], train_tiny: Trainer
) -> None:
    out, before = previous_model
    assert train_tiny(out, "--seed", "5") == 0
    after = snapshot(out)
    assert after["NOTES.md"] == before["NOTES.md"]
    assert after[WEIGHTS_FILE] != before[WEIGHTS_FILE]
    assert leftovers(out.parent) == []
    assert oct(out.stat().st_mode & 0o777) != oct(0o700)


def test_a_failure_while_writing_leaves_the_old_model(
    previous_model: tuple[Path, dict[str, bytes]],
    train_tiny: Trainer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out, before = previous_model

    def broken_plot(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(report, "write_plot", broken_plot)
    assert train_tiny(out, "--seed", "5") == train.EXIT_DATA
    assert capsys.readouterr().err.endswith("cannot write (disk full)\n")
    assert snapshot(out) == before
    assert leftovers(out.parent) == []


def test_the_gate_leaves_the_old_model(
    previous_model: tuple[Path, dict[str, bytes]], train_tiny: Trainer
) -> None:
    out, before = previous_model
    assert train_tiny(out, "--seed", "5", "--max-val-mse", "1e-9") == train.EXIT_GATE
    assert snapshot(out) == before


def test_an_output_path_that_is_a_file(tmp_path: Path) -> None:
    target = tmp_path / "model"
    target.write_text("not a directory")
    with pytest.raises(OutputError, match="exists and is not a directory"):
        write_directory_atomically(target, lambda staging: None, ARTIFACT)


def test_a_failed_swap_restores_the_old_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "model"
    target.mkdir()
    (target / WEIGHTS_FILE).write_bytes(b"old")
    real_rename = Path.rename

    def rename(self: Path, destination: Path) -> Path:
        if self.name.startswith(".model.new-"):
            raise OSError("rename failed")
        return real_rename(self, destination)

    monkeypatch.setattr(Path, "rename", rename)
    with pytest.raises(OutputError, match="cannot write \\(rename failed\\)"):
        write_directory_atomically(
            target, lambda staging: (staging / WEIGHTS_FILE).write_bytes(b"new"), ARTIFACT
        )
    assert (target / WEIGHTS_FILE).read_bytes() == b"old"
    assert leftovers(tmp_path) == []


def test_sigterm_mid_training_leaves_the_old_model(
    previous_model: tuple[Path, dict[str, bytes]],
    train_tiny: Trainer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out, before = previous_model
    handler_before = signal.getsignal(signal.SIGTERM)

    def stopped_build(self: Progress, epoch: int, *losses: float) -> None:
        if epoch == 3:  # as CodeBuild does when a build is stopped
            os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(Progress, "epoch", stopped_build)
    assert train_tiny(out, "--seed", "5") == train.EXIT_INTERRUPTED
    assert capsys.readouterr().err.strip() == "interrupted; nothing written"
    assert snapshot(out) == before
    assert leftovers(out.parent) == []
    assert signal.getsignal(signal.SIGTERM) is handler_before


@pytest.mark.slow
def test_a_run_killed_mid_training_leaves_the_old_model(
    previous_model: tuple[Path, dict[str, bytes]], book_csv: Path, repository: Path
) -> None:
    out, before = previous_model
    command = [sys.executable, "-m", "training.train", "--data", str(book_csv), "--out", str(out)]
    command += ["--epochs", "100000", "--patience", "100000", "--batch-size", "4", "--seed", "5"]
    env = {**os.environ, "PYTHONPATH": str(repository)}
    with subprocess.Popen(
        command, cwd=repository, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        assert process.stdout is not None
        first = process.stdout.readline()  # epoch 1 is logged: training is under way
        assert first.split()[:2] == ["epoch", "1/100000"], first
        time.sleep(0.2)
        process.kill()
        process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL
    assert snapshot(out) == before
    assert leftovers(out.parent) == []


def _writer_script(target: Path, write_body: str) -> str:
    """A program that swaps in a new model directory; `write_body` fills `staging`."""
    return (
        "import time\n"
        "from pathlib import Path\n"
        "from training.artifacts import OutputError, write_directory_atomically\n"
        "def write(staging):\n"
        f"    {write_body}\n"
        "try:\n"
        f"    write_directory_atomically(Path({str(target)!r}), write, {sorted(ARTIFACT)!r})\n"
        "except OutputError as error:\n"
        "    print(error)\n"
    )


def test_a_read_only_model_directory_leaves_no_old_copy_behind(tmp_path: Path) -> None:
    target = tmp_path / "model"
    target.mkdir()
    (target / WEIGHTS_FILE).write_bytes(b"old")
    target.chmod(0o555)
    write = "(staging / 'model.pth').write_bytes(b'new')"
    result = run_unprivileged(_writer_script(target, write))
    assert result.returncode == 0 and result.stdout == "", result.stderr
    assert (target / WEIGHTS_FILE).read_bytes() == b"new"
    assert leftovers(tmp_path) == []


def test_an_unreadable_file_in_the_old_model_is_one_line(tmp_path: Path) -> None:
    target = tmp_path / "model"
    target.mkdir()
    (target / WEIGHTS_FILE).write_bytes(b"old")
    (target / "secret.txt").write_text("root only")
    (target / "secret.txt").chmod(0)
    result = run_unprivileged(_writer_script(target, "pass"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        f"{target / 'secret.txt'}: cannot carry it over to the new model directory "
        "(Permission denied); move it away or make it readable"
    )
    assert (target / WEIGHTS_FILE).read_bytes() == b"old"
    assert leftovers(tmp_path) == []


def test_sigterm_while_writing_removes_the_half_written_directory(
    tmp_path: Path, repository: Path
) -> None:
    target = tmp_path / "model"
    target.mkdir()
    (target / WEIGHTS_FILE).write_bytes(b"old")
    # As fetch-model does: model.pth is created, then the download stalls.
    write = "(staging / 'model.pth').touch(); print('writing', flush=True); time.sleep(60)"
    with subprocess.Popen(
        [sys.executable, "-c", _writer_script(target, write)],
        cwd=repository,
        env={**os.environ, "PYTHONPATH": str(repository)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stdout is not None
        assert process.stdout.readline() == "writing\n"
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    assert "KeyboardInterrupt" in err
    assert (target / WEIGHTS_FILE).read_bytes() == b"old"
    assert leftovers(tmp_path) == []


def test_output_over_the_file_size_limit_is_one_line(
    previous_model: tuple[Path, dict[str, bytes]], book_csv: Path, repository: Path
) -> None:
    out, before = previous_model
    command = [sys.executable, "-m", "training.train", "--data", str(book_csv), "--out", str(out)]
    command += ["--epochs", "3", "--device", "cpu"]
    limit = len(before[WEIGHTS_FILE]) // 2  # model.pth cannot be written whole

    def limit_file_size() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    result = subprocess.run(
        command,
        cwd=repository,
        env={**os.environ, "PYTHONPATH": str(repository)},
        preexec_fn=limit_file_size,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == train.EXIT_DATA
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: ") and "cannot write (File too large)" in result.stderr
    assert snapshot(out) == before
    assert leftovers(out.parent) == []


def test_an_interrupt_during_the_swap_waits_until_the_new_model_is_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "model"
    target.mkdir()
    (target / WEIGHTS_FILE).write_bytes(b"old")
    real_rename = Path.rename

    def rename(self: Path, destination: Path) -> Path:
        if self == target:  # between the two renames, as a stopped build may
            os.kill(os.getpid(), signal.SIGTERM)
        return real_rename(self, destination)

    monkeypatch.setattr(Path, "rename", rename)
    with pytest.raises(InterruptedAfterWrite):
        write_directory_atomically(
            target, lambda staging: (staging / WEIGHTS_FILE).write_bytes(b"new"), ARTIFACT
        )
    assert (target / WEIGHTS_FILE).read_bytes() == b"new"
    assert leftovers(tmp_path) == []


def test_a_retired_tree_that_cannot_be_removed_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    target = tmp_path / "model"
    target.mkdir()
    (target / WEIGHTS_FILE).write_bytes(b"old")
    monkeypatch.setattr(shutil, "rmtree", lambda path, ignore_errors=False: None)
    write_directory_atomically(
        target, lambda staging: (staging / WEIGHTS_FILE).write_bytes(b"new"), ARTIFACT
    )
    (retired,) = leftovers(tmp_path)
    assert f"{tmp_path / retired}: could not be removed completely" in caplog.text

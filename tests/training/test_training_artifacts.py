"""Training's model directory: a failed, gated or killed run leaves the previous model untouched
(the directory writer itself is tested in tests/tooling/test_atomic.py)."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from torchlambda.contract import WEIGHTS_FILE
from training import report, train
from training.progress import Progress

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

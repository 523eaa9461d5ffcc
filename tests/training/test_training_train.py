"""The train CLI: convergence, the artifact contract, determinism, the gate, and its errors."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from torchlambda.contract import CARD_FILE, DEFAULT_MAX_ABS_X, PLOT_FILE, WEIGHTS_FILE
from torchlambda.lifecycle.labelled_rows import LabelledRows
from torchlambda.lifecycle.scoring import mean_squared_errors
from torchlambda.predictor.architecture import DEFAULT_SPEC, build_model
from torchlambda.predictor.artifact import (
    CARD_SCHEMA_VERSION,
    load_artifact,
    read_card,
    sha256_file,
)
from training import data, train
from training.fit import FitConfig, Standardizer, fit, fold_standardization
from training.progress import Progress

BOOK_KEYS = ["0.weight", "0.bias", "3.weight", "3.bias", "6.weight", "6.bias", "9.weight", "9.bias"]
Trainer = Callable[..., int]


@pytest.fixture
def trained(tmp_path: Path, train_tiny: Trainer) -> Path:
    out = tmp_path / "model"
    assert train_tiny(out) == 0
    return out


@pytest.mark.slow  # a training run: outside the unit tier
def test_a_tiny_run_converges() -> None:
    x = torch.linspace(-50, 50, 64).unsqueeze(1)
    y = 0.5 * x + 10 * torch.sin(x / 8)
    config = FitConfig(epochs=40, lr=3e-3, batch_size=16, patience=40, seed=0)
    losses: list[float] = []
    result = fit(
        DEFAULT_SPEC,
        config,
        (x, y),
        (x, y),
        device=torch.device("cpu"),
        on_epoch=lambda epoch, train_loss, val_loss, best: losses.append(val_loss),
    )
    assert result.epochs_run == 40 == len(losses)
    assert min(losses) < losses[0] / 10
    assert losses[result.history.best_epoch - 1] == min(losses)


def test_early_stopping_keeps_the_best_epoch() -> None:
    x = torch.linspace(-1, 1, 32).unsqueeze(1)
    config = FitConfig(epochs=500, lr=3e-3, batch_size=32, patience=5, seed=0)
    result = fit(DEFAULT_SPEC, config, (x, x), (x, -x), device=torch.device("cpu"))
    assert result.epochs_run == result.history.best_epoch + 5 < 500


def test_folding_the_scaling_changes_nothing_but_the_units() -> None:
    torch.manual_seed(0)
    model = build_model(DEFAULT_SPEC).eval()
    scale = Standardizer(x_mean=3.0, x_std=20.0, y_mean=-7.0, y_std=12.0)
    raw = build_model(DEFAULT_SPEC).eval()
    raw.load_state_dict(fold_standardization(model.state_dict(), scale))
    x = torch.linspace(-50, 50, 101).unsqueeze(1)
    with torch.no_grad():
        expected = model(scale.x(x)) * scale.y_std + scale.y_mean
        torch.testing.assert_close(raw(x), expected, rtol=1e-5, atol=1e-4)


def test_artifact_contract(trained: Path, book_csv: Path) -> None:
    assert sorted(p.name for p in trained.iterdir()) == sorted([CARD_FILE, PLOT_FILE, WEIGHTS_FILE])
    state = torch.load(trained / WEIGHTS_FILE, map_location="cpu", weights_only=True)
    assert list(state) == BOOK_KEYS
    card = read_card(trained)
    assert card is not None
    assert card["schema_version"] == CARD_SCHEMA_VERSION
    assert card["architecture"] == DEFAULT_SPEC.to_dict()
    assert card["sha256"] == sha256_file(trained / WEIGHTS_FILE)
    assert card["torch_version"] == torch.__version__
    assert card["data"]["source"] == str(book_csv)
    assert card["data"]["sha256"] == sha256_file(book_csv)
    assert card["data"]["rows"] == {"total": 80, "train": 51, "validation": 13, "test": 16}
    assert card["hyperparameters"]["epochs"] == 25
    assert card["hyperparameters"]["batch_size"] == 16
    assert card["hyperparameters"]["lr"] == 1e-3
    assert card["seed"] == 0
    for split in ("train", "validation", "test"):
        assert set(card["metrics"][split]) == {"mse", "mae"}
        assert card["metrics"][split]["mse"] > 0
    assert -50 <= card["x_range"]["min"] < card["x_range"]["max"] <= 50
    assert card["training_seconds"] > 0
    assert card["created_at"].endswith("Z")
    assert "git_commit" in card
    assert (trained / PLOT_FILE).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_shared_loader_serves_what_the_card_measured(trained: Path, book_csv: Path) -> None:
    loaded = load_artifact(trained)
    card = loaded.card
    assert card is not None
    assert loaded.model_id == card["model_id"] and loaded.version == card["model_id"][:12]
    dataset = train.read_dataset(str(book_csv))
    rest, _ = train.split(dataset, 0.2, 0, "test")
    _, validation = train.split(rest, 0.2, 0, "validation")
    metrics = train.evaluate(loaded.module, validation)
    assert metrics["mse"] == pytest.approx(card["metrics"]["validation"]["mse"], rel=1e-6)


def test_the_test_split_is_written_beside_the_model_for_the_evaluator(
    tmp_path: Path, book_csv: Path, train_tiny: Trainer
) -> None:
    out, split_out = tmp_path / "model", tmp_path / "build" / "test.csv"
    assert train_tiny(out, "--test-split-out", str(split_out)) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted([CARD_FILE, PLOT_FILE, WEIGHTS_FILE])
    _, test = data.split(data.read_dataset(str(book_csv)), 0.2, 0, "test")
    with split_out.open("rb") as stream:
        rows = LabelledRows(stream, str(split_out), DEFAULT_MAX_ABS_X)
        chunks = list(rows)
    # Exactly the rows held out (repr round-trips every float), read as the evaluator reads them.
    assert [x for chunk in chunks for x in chunk.xs] == list(test.x)
    assert [y for chunk in chunks for y in chunk.ys] == list(test.y)
    loaded = load_artifact(out)
    assert loaded.card is not None
    (mse,) = mean_squared_errors(chunks, [loaded.module])
    assert mse == pytest.approx(loaded.card["metrics"]["test"]["mse"], rel=1e-5)


def test_a_test_split_inside_the_model_directory_is_refused(
    tmp_path: Path, train_tiny: Trainer, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "model"
    assert train_tiny(out, "--test-split-out", str(out / "test.csv")) == train.EXIT_USAGE
    error = capsys.readouterr().err
    assert error.startswith("error: --test-split-out ") and error.count("\n") == 1
    assert "is inside --out" in error
    assert not out.exists()


def test_a_refused_model_writes_no_test_split(tmp_path: Path, train_tiny: Trainer) -> None:
    split_out = tmp_path / "test.csv"
    argv = ("--max-val-mse", "0.001", "--test-split-out", str(split_out))
    assert train_tiny(tmp_path / "model", *argv) == train.EXIT_GATE
    assert not split_out.exists()


def test_a_bare_state_dict_round_trips(trained: Path, tmp_path: Path) -> None:
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / WEIGHTS_FILE).write_bytes((trained / WEIGHTS_FILE).read_bytes())
    loaded = load_artifact(bare)
    assert loaded.card is None
    assert loaded.spec == DEFAULT_SPEC
    reference = load_artifact(trained).module
    x = torch.tensor([[-42.0], [0.0], [42.0]])
    with torch.no_grad():
        assert torch.equal(loaded.module(x), reference(x))


def test_same_data_and_seed_give_identical_weights(tmp_path: Path, train_tiny: Trainer) -> None:
    runs = {name: tmp_path / name for name in ("a", "b", "other_seed")}
    assert train_tiny(runs["a"]) == 0
    assert train_tiny(runs["b"]) == 0
    assert train_tiny(runs["other_seed"], "--seed", "1") == 0
    weights = {name: (path / WEIGHTS_FILE).read_bytes() for name, path in runs.items()}
    assert weights["a"] == weights["b"]
    assert weights["a"] != weights["other_seed"]


def test_quality_gate_refuses_and_writes_nothing(
    tmp_path: Path, train_tiny: Trainer, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "model"
    assert train_tiny(out, "--max-val-mse", "0.001") == train.EXIT_GATE
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: quality gate: validation MSE ")
    assert "above --max-val-mse 0.001; nothing written" in error
    assert "\n" not in error
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [tmp_path / "data"]


def test_quality_gate_passes_a_good_enough_model(tmp_path: Path, train_tiny: Trainer) -> None:
    assert train_tiny(tmp_path / "model", "--max-val-mse", "1e9") == 0
    card = json.loads((tmp_path / "model" / CARD_FILE).read_text())
    assert card["hyperparameters"]["max_val_mse"] == 1e9


def test_separate_validation_and_test_files_are_recorded(
    tmp_path: Path, book_csv: Path, train_tiny: Trainer
) -> None:
    out = tmp_path / "model"
    extra = ("--validation-data", str(book_csv), "--test-data", str(book_csv))
    assert train_tiny(out, *extra) == 0
    card = json.loads((out / CARD_FILE).read_text())
    # The same file for everything: no split, so all 80 rows train.
    assert card["data"]["rows"] == {"total": 80, "train": 80, "validation": 80, "test": 80}
    assert card["hyperparameters"]["validation_fraction"] is None


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--epochs", "0"], "argument --epochs: expected a positive integer, got '0'"),
        (["--epochs", "1.5"], "argument --epochs: expected a positive integer, got '1.5'"),
        (["--lr", "-1"], "argument --lr: expected a positive number, got '-1'"),
        (["--lr", "nan"], "argument --lr: expected a positive number, got 'nan'"),
        (["--validation-fraction", "1"], "expected a number between 0 and 1, got '1'"),
        (["--device", "tpu"], "argument --device: invalid choice: 'tpu'"),
        (["--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_bad_arguments_are_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        train.main(["--data", "d.csv", "--out", "o", *argv])
    assert caught.value.code == train.EXIT_USAGE
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert message in error
    assert error.endswith("(see python -m training.train --help)\n")


def test_missing_required_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        train.main([])
    assert "the following arguments are required: --data, --out" in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_a_device_is_a_usage_error(
    tmp_path: Path, train_tiny: Trainer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert train_tiny(tmp_path / "m", "--device", "cuda") == train.EXIT_USAGE
    assert "--device cuda: no CUDA device is available" in capsys.readouterr().err
    assert train.resolve_device("auto").type == "cpu"


def test_bad_data_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("1,2\n" * 5)
    out = tmp_path / "model"
    assert train.main(["--data", str(bad), "--out", str(out)]) == train.EXIT_DATA
    assert capsys.readouterr().err == f"error: {bad}: 5 data rows; at least 20 are needed\n"
    assert not out.exists()


def test_progress_is_plain_lines_in_a_log() -> None:
    stream = io.StringIO()
    progress = Progress(stream, total_epochs=250)
    for epoch in range(1, 251):
        progress.epoch(epoch, 2.0, 1.0, epoch)
    progress.finish("done")
    lines = stream.getvalue().splitlines()
    assert [line.split()[1] for line in lines[:-1]] == ["1/250", "100/250", "200/250"]
    assert lines[-1] == "done"
    assert "\r" not in stream.getvalue()


def test_progress_redraws_one_line_on_a_terminal() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    progress = Progress(stream, total_epochs=3)
    for epoch in (1, 2, 3):
        progress.epoch(epoch, 2.0, 1.0, epoch)
    progress.finish("done")
    text = stream.getvalue()
    assert text.startswith("\r\x1b[2Kepoch 1/3")
    assert text.endswith(
        "\r\x1b[2Kepoch 3/3  train MSE 2.0000  validation MSE 1.0000  best epoch 3\ndone\n"
    )
    assert text.count("\n") == 2


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        # 1e39 is finite as a float64 and infinite as float32: it used to train to NaN and win.
        (["1e39,1.0", *["1,2", "3,4"] * 20], (train.EXIT_DATA, "line 1: '1e39' is beyond float32")),
        # Finite float32 targets whose squared error overflows: the fit diverges.
        ([f"{3e38 * (-1) ** i},{i}" for i in range(40)], (train.EXIT_GATE, "training diverged")),
        (["5,2"] * 40, (train.EXIT_DATA, "every training row has x = 2")),
        # Two x values in float64, one in the float32 the network sees.
        (["5,1.0", "6,1.00000001"] * 20, (train.EXIT_DATA, "every training row has x = 1")),
        # Distinct x in the file, but the one odd row (the first) lands in the test split (seed 0).
        (["6,5"] + ["5,0"] * 39, (train.EXIT_DATA, "every training row has x = 0")),
    ],
    ids=["float32 overflow", "diverged fit", "constant x", "constant in float32", "constant split"],
)
def test_data_that_cannot_give_a_servable_model_keeps_the_current_one(
    tmp_path: Path,
    train_tiny: Trainer,
    capsys: pytest.CaptureFixture[str],
    rows: list[str],
    expected: tuple[int, str],
) -> None:
    out = tmp_path / "model"
    assert train_tiny(out) == 0
    before = {path.name: path.read_bytes() for path in out.iterdir()}
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(rows) + "\n")
    capsys.readouterr()
    args = ["--data", str(bad), "--out", str(out), "--epochs", "5", "--device", "cpu"]
    code, message = expected
    assert train.main(args) == code
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and message in error, error
    assert {path.name: path.read_bytes() for path in out.iterdir()} == before


def test_a_model_that_would_not_serve_is_never_written(
    tmp_path: Path, train_tiny: Trainer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Whatever the metrics say, the staged artifact must load as the image loads it.
    def poisoned(*args: object, **kwargs: object) -> object:
        result = fit(*args, **kwargs)  # type: ignore[arg-type]
        result.state_dict["9.bias"].fill_(float("nan"))
        return result

    out = tmp_path / "model"
    monkeypatch.setattr(train, "fit", poisoned)
    monkeypatch.setattr(train, "check_finite", lambda metrics: None)
    assert train_tiny(out) == train.EXIT_GATE
    assert not out.exists()

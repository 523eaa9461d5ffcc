"""Init loads the model once, from the card's architecture, verified; or stops with the reason."""

from __future__ import annotations

import io
import json
import logging
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from lambda_image.local.function import LocalContext
from tests.lambda_image.conftest import assert_init_refuses, http_event, load_handler
from tests.lambda_image.lambda_models import reference_prediction, write_model
from torchlambda.contract import CARD_FILE, WEIGHTS_FILE
from torchlambda.predictor.architecture import ArchitectureSpec
from torchlambda.predictor.artifact import load_artifact, model_identity, sha256_file


def predict(model_dir: Path, x: float = 3.0, **env: str) -> float:
    module = load_handler(model_dir, **env)
    response = module(http_event("GET", f"/predict?x={x}"), LocalContext())
    assert response["statusCode"] == 200, response
    return float(json.loads(response["body"])["y"])


def test_architecture_comes_from_the_card(tmp_path: Path) -> None:
    spec = ArchitectureSpec(hidden_sizes=(16, 8), activation="tanh", dropout=0.0)
    model = write_model(tmp_path, spec=spec)
    assert predict(model) == pytest.approx(reference_prediction(model, [3.0], spec)[0], rel=1e-6)


def test_a_bare_model_pth_from_the_book_serves_with_the_default_architecture(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    model = write_model(tmp_path, card=False)
    assert predict(model) == pytest.approx(reference_prediction(model, [3.0])[0], rel=1e-6)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("no model card" in message for message in warnings)


def rewrite_weights(model: Path, name: str, value: float) -> None:
    state = torch.load(model / WEIGHTS_FILE, weights_only=True)
    state[name].fill_(value)
    torch.save(state, model / WEIGHTS_FILE)


def edit_card(
    model: Path, edit: Callable[[dict[str, Any]], object] | None, *, honest: bool
) -> None:
    """Apply `edit` to the card; an honest card then records the identity of what it describes."""
    card = json.loads((model / CARD_FILE).read_text())
    if edit is not None:
        edit(card)
    if honest:
        card["sha256"] = sha256_file(model / WEIGHTS_FILE)
        spec = ArchitectureSpec.from_dict(card["architecture"])
        card["model_id"] = model_identity(spec, card["sha256"])
    (model / CARD_FILE).write_text(json.dumps(card))


def test_missing_weights_stop_init(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    model = write_model(tmp_path)
    (model / WEIGHTS_FILE).unlink()
    assert_init_refuses(model, "model weights not found", caplog)


def test_an_unreadable_card_stops_init(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    model = write_model(tmp_path)
    (model / CARD_FILE).write_text("{")
    assert_init_refuses(model, "unreadable model card", caplog)


def _set(path: str, value: object) -> Callable[[dict[str, Any]], None]:
    """An edit that sets card[a][b]... for the dotted `path`."""

    def edit(card: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        for key in parents:
            card = card[key]
        card[last] = value

    return edit


def _before_model_id(card: dict[str, Any]) -> None:
    card["schema_version"] = 1
    del card["model_id"]


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (_set("sha256", "f" * 64), "does not match the model card"),
        # Same weights, every prediction changes: the identity must cover the architecture.
        (_set("architecture.activation", "tanh"), "the card was edited after training"),
        (_set("model_id", "0" * 64), "the card was edited after training"),
        (_before_model_id, "schema_version 1 is not 2"),
        (_set("architecture", ["input_size"]), "architecture must be an object, got list"),
        (_set("architecture.input_size", 2), "input_size and output_size must be 1"),
        (
            _set("architecture.hidden_sizes", [1_000_000, 1_000_000]),
            "at most 16 hidden layers of at most 4096 units",
        ),
    ],
    ids=[
        "sha mismatch",
        "architecture edited",
        "model_id edited",
        "card from before model_id",
        "architecture not an object",
        "two inputs",
        "terabytes of layers",
    ],
)
def test_a_card_that_lies_or_is_malformed_stops_init(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    edit: Callable[[dict[str, Any]], None],
    reason: str,
) -> None:
    model = write_model(tmp_path)
    edit_card(model, edit, honest=False)
    assert_init_refuses(model, reason, caplog)


def _corrupt(model: Path) -> None:
    size = (model / WEIGHTS_FILE).stat().st_size
    (model / WEIGHTS_FILE).write_bytes(b"not a zip archive".ljust(size, b"!"))


@pytest.mark.parametrize(
    ("damage", "edit", "reason"),
    [
        (_corrupt, None, "cannot load state_dict"),
        (None, _set("architecture.hidden_sizes", [10]), "cannot load state_dict"),
        (
            None,
            _set("architecture.hidden_sizes", [1000, 1000]),
            "bytes cannot hold the 1,004,001 float32 parameters",
        ),
        (
            lambda model: rewrite_weights(model, "0.bias", math.nan),
            None,
            "weight 0.bias is NaN or infinite",
        ),
        (
            # Finite weights and finite outputs near 0, but x = 1e6 times 1e33 overflows float32.
            lambda model: rewrite_weights(model, "0.weight", 1e33),
            None,
            "float32 holds with a margin for rounding",
        ),
    ],
    ids=[
        "weights corrupt",
        "architecture differs from weights",
        "more layers than the file holds",
        "weights hold NaN",
        "outputs overflow at the domain's edge",
    ],
)
def test_an_honestly_recorded_bad_model_stops_init(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    damage: Callable[[Path], None] | None,
    edit: Callable[[dict[str, Any]], None] | None,
    reason: str,
) -> None:
    model = write_model(tmp_path)
    if damage is not None:
        damage(model)
    edit_card(model, edit, honest=True)
    assert_init_refuses(model, reason, caplog)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TORCH_NUM_THREADS", "0"),
        ("TORCH_NUM_THREADS", "two"),
        ("MAX_ABS_X", "inf"),
        ("MAX_ABS_X", "-1"),
    ],
)
def test_bad_settings_stop_init(model_dir: Path, name: str, value: str) -> None:
    with pytest.raises(Exception, match=name):
        load_handler(model_dir, **{name: value})


def test_the_domain_proof_uses_the_configured_bound(tmp_path: Path) -> None:
    model = write_model(tmp_path)
    rewrite_weights(model, "0.weight", 1e33)
    edit_card(model, None, honest=True)
    with pytest.raises(Exception, match="values for \\|x\\| <= 1e\\+06 may reach"):
        load_handler(model)
    # Over |x| <= 1e-3 the same weights stay finite: the model starts and serves.
    assert math.isfinite(predict(model, 0.0005, MAX_ABS_X="1e-3"))


def test_model_version_changes_with_the_architecture_and_with_the_weights(
    tmp_path: Path,
) -> None:
    base = write_model(tmp_path / "base")
    other_architecture = write_model(
        tmp_path / "tanh", spec=ArchitectureSpec(activation="tanh")
    )  # the same seed gives the very same weights
    other_weights = write_model(tmp_path / "seed", seed=1)
    assert (base / WEIGHTS_FILE).read_bytes() == (other_architecture / WEIGHTS_FILE).read_bytes()
    versions = {
        json.loads(load_handler(model)(http_event("GET", "/health"), LocalContext())["body"])[
            "model_version"
        ]
        for model in (base, other_architecture, other_weights)
    }
    assert len(versions) == 3


def test_threads_and_domain_come_from_the_environment(model_dir: Path) -> None:
    module = load_handler(model_dir, TORCH_NUM_THREADS="1", MAX_ABS_X="10")
    assert torch.get_num_threads() == 1
    response = module(http_event("GET", "/predict?x=11"), LocalContext())
    assert response["statusCode"] == 400
    assert "10" in json.loads(response["body"])["error"]["message"]


def test_the_model_loads_once_not_per_request(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = load_handler(model_dir)
    calls: list[object] = []
    monkeypatch.setattr(torch, "load", lambda *a, **k: calls.append(a))
    for _ in range(3):
        module(http_event("GET", "/predict?x=1"), LocalContext())
    assert calls == []


def test_logging_is_not_left_at_debug(model_dir: Path) -> None:
    module = load_handler(model_dir)
    assert module.logger.log_level >= logging.INFO


def test_a_pinned_image_model_serves_only_with_its_weights(
    model_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pin = sha256_file(model_dir / WEIGHTS_FILE)
    assert predict(model_dir, MODEL_SHA256=pin) == predict(model_dir)
    line = assert_init_refuses(
        model_dir,
        "refusing to serve a model other than the pinned one",
        caplog,
        MODEL_SHA256="f" * 64,
    )
    assert f"sha256 {pin[:12]} is not the pinned ffffffffffff (MODEL_SHA256)" in line


def test_the_weights_are_loaded_from_the_open_file_that_was_hashed(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources: list[object] = []
    load = torch.load

    def recorded(source: object, *args: Any, **kwargs: Any) -> Any:
        sources.append(source)
        return load(source, *args, **kwargs)

    monkeypatch.setattr(torch, "load", recorded)
    loaded = load_artifact(model_dir)
    # Not a copy in memory (BytesIO): the file itself, read once more from its start.
    (source,) = sources
    assert isinstance(source, io.BufferedReader) and source.name == str(model_dir / WEIGHTS_FILE)
    assert loaded.weights_bytes == (model_dir / WEIGHTS_FILE).stat().st_size


def test_the_init_line_names_the_source_the_size_and_the_init_type(
    model_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    load_handler(model_dir, AWS_LAMBDA_INITIALIZATION_TYPE="on-demand")
    (line,) = [r for r in caplog.records if r.getMessage().startswith("model loaded")]
    assert vars(line)["model_source"] == "image"
    assert vars(line)["weights_bytes"] == (model_dir / WEIGHTS_FILE).stat().st_size
    assert vars(line)["initialization_type"] == "on-demand"
    assert "download_ms" not in vars(line)

"""Init loads the model once, from the card's architecture, verified; or stops with the reason."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import torch
from predictor.architecture import ArchitectureSpec
from predictor.artifact import CARD_FILE, WEIGHTS_FILE, sha256_file

from lambda_image.local.function import LocalContext
from tests.lambda_image.conftest import http_event, import_handler
from tests.lambda_image.lambda_models import reference_prediction, write_model


def predict(model_dir: Path, x: float = 3.0, **env: str) -> float:
    module = import_handler(model_dir, **env)
    response = module.handler(http_event("GET", f"/predict?x={x}"), LocalContext())
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


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        ("sha mismatch", "does not match the model card"),
        ("weights missing", "model weights not found"),
        ("weights corrupt", "cannot load state_dict"),
        ("card unreadable", "unreadable model card"),
        ("architecture differs from weights", "cannot load state_dict"),
    ],
)
def test_a_wrong_artifact_stops_init_with_one_clear_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: str, reason: str
) -> None:
    model = write_model(tmp_path)
    card = json.loads((model / CARD_FILE).read_text())
    if damage == "sha mismatch":
        card["sha256"] = "f" * 64
    elif damage == "weights missing":
        (model / WEIGHTS_FILE).unlink()
    elif damage == "weights corrupt":
        (model / WEIGHTS_FILE).write_bytes(b"not a zip archive")
    elif damage == "card unreadable":
        (model / CARD_FILE).write_text("{")
    elif damage == "architecture differs from weights":
        card["architecture"]["hidden_sizes"] = [10]
    if damage == "weights corrupt":
        card["sha256"] = sha256_file(model / WEIGHTS_FILE)
    if damage != "card unreadable":
        (model / CARD_FILE).write_text(json.dumps(card))
    with pytest.raises(Exception, match=reason) as raised:
        import_handler(model)
    assert type(raised.value).__name__ == "InitError"
    init_lines = [r.getMessage() for r in caplog.records if "init failed" in r.getMessage()]
    assert len(init_lines) == 1 and reason in init_lines[0]


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
        import_handler(model_dir, **{name: value})


def test_threads_and_domain_come_from_the_environment(model_dir: Path) -> None:
    module = import_handler(model_dir, TORCH_NUM_THREADS="1", MAX_ABS_X="10")
    assert torch.get_num_threads() == 1
    response = module.handler(http_event("GET", "/predict?x=11"), LocalContext())
    assert response["statusCode"] == 400
    assert "10" in json.loads(response["body"])["error"]["message"]


def test_the_model_loads_once_not_per_request(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = import_handler(model_dir)
    calls: list[object] = []
    monkeypatch.setattr(torch, "load", lambda *a, **k: calls.append(a))
    for _ in range(3):
        module.handler(http_event("GET", "/predict?x=1"), LocalContext())
    assert calls == []


def test_logging_is_not_left_at_debug(model_dir: Path) -> None:
    module = import_handler(model_dir)
    assert module.logger.log_level >= logging.INFO

"""Shadow and split through the whole function: what callers get, what is logged and counted."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from lambda_image.local.function import LocalContext
from tests.lambda_image.conftest import (
    assert_init_refuses,
    experiment_env,
    http_event,
    load_handler,
)
from tests.lambda_image.lambda_models import reference_prediction
from tests.lambda_image.test_observability import emf_documents
from torchlambda.contract import CHALLENGER, CHAMPION, ENV_CHALLENGER_SHA256
from torchlambda.experiment.assignment import Assignment
from torchlambda.function import Function
from torchlambda.inference import ModelOutputError

TARGETS = ["/predict?x=42", "/predict?x=-1.5", "/predict?x=0"]
BODIES = [b'{"x": 3}', b'{"x": [1, 2.5, 3]}', json.dumps({"x": list(range(500))}).encode()]


def requests() -> Iterator[dict[str, Any]]:
    for target in TARGETS:
        yield http_event("GET", target)
    for body in BODIES:
        yield http_event("POST", "/predict", body)


def call(function: Function, event: dict[str, Any]) -> dict[str, Any]:
    return function(event, LocalContext())


@pytest.fixture(scope="module")
def plain(model_dir: Path) -> Function:
    return load_handler(model_dir)


@pytest.fixture
def shadow(model_dir: Path, challenger_dir: Path) -> Function:
    return load_handler(model_dir, **experiment_env("shadow", challenger_dir))


@pytest.fixture
def split(model_dir: Path, challenger_dir: Path) -> Function:
    return load_handler(model_dir, **experiment_env("split", challenger_dir, split_weight=0.5))


def caller_of(function: Function, variant: str) -> dict[str, str]:
    """A sticky header that the split function assigns to `variant`."""
    assert function.variants.challenger is not None
    assignment = Assignment(0.5, function.variants.challenger.version)
    key = next(f"user-{i}" for i in range(1000) if assignment.variant(f"user-{i}") == variant)
    return {"x-user-id": key}


def with_headers(event: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    return {**event, "headers": {**event["headers"], **headers}}


def break_challenger(function: Function, monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    challenger = function.variants.challenger
    assert challenger is not None

    def raises(batch: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("challenger exploded")

    def non_finite(batch: torch.Tensor) -> torch.Tensor:
        return torch.full((batch.shape[0],), float("nan"))

    monkeypatch.setattr(challenger.predictor, "forward", raises if how == "raises" else non_finite)


def test_shadow_answers_exactly_as_the_champion_alone(plain: Function, shadow: Function) -> None:
    for event in requests():
        alone, shadowed = call(plain, event), call(shadow, event)
        assert shadowed == alone  # status, headers and body, byte for byte


def test_shadow_logs_both_outputs_and_versions(
    shadow: Function, challenger_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    event = http_event("POST", "/predict", b'{"x": [1, 2]}')
    call(shadow, event)
    (line,) = [r.__dict__ for r in caplog.records if r.getMessage() == "request served"]
    assert line["request_id"] == event["requestContext"]["requestId"]
    assert (line["variant"], line["experiment"]) == (CHAMPION, "shadow")
    assert line["champion_version"] == shadow.variants.champion.version
    assert line["challenger_version"] == shadow.variants.challenger_version
    assert line["challenger_y"] == pytest.approx(
        reference_prediction(challenger_dir, [1.0, 2.0]), rel=1e-5, abs=1e-6
    )
    assert len(line["champion_y"]) == 2 and line["shadow_failure"] is None
    expected_gap = max(
        abs(a - b) for a, b in zip(line["champion_y"], line["challenger_y"], strict=True)
    )
    assert line["shadow_max_abs_diff"] == pytest.approx(expected_gap, rel=1e-5, abs=1e-6)


def test_shadow_counts_each_variant_under_its_own_version(
    model_dir: Path, challenger_dir: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    function = load_handler(
        model_dir, POWERTOOLS_METRICS_DISABLED="false", **experiment_env("shadow", challenger_dir)
    )
    capfd.readouterr()
    call(function, http_event("POST", "/predict", b'{"x": [1, 2, 3]}'))
    documents = [d for d in emf_documents(capfd.readouterr().out) if "predictions" in d]
    by_variant = {d["variant"]: d for d in documents}
    assert set(by_variant) == {CHAMPION, CHALLENGER}
    for variant, document in by_variant.items():
        assert document["model_version"] == function.variants.version_of(variant)  # type: ignore[arg-type]
        assert document["predictions"] == [3.0] and document["model_latency"][0] > 0


@pytest.mark.parametrize("how", ["raises", "non-finite"])
def test_a_failing_shadow_never_fails_the_request(
    plain: Function,
    shadow: Function,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    how: str,
) -> None:
    break_challenger(shadow, monkeypatch, how)
    for event in requests():
        assert call(shadow, event) == call(plain, event)
    warnings = [r.__dict__ for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == len(TARGETS) + len(BODIES)
    expected = "RuntimeError" if how == "raises" else ModelOutputError.__name__
    assert all(w["shadow_failure"].startswith(expected) for w in warnings)


def test_split_answers_each_caller_with_their_variant_every_time(
    split: Function, model_dir: Path, challenger_dir: Path
) -> None:
    for variant, directory in ((CHAMPION, model_dir), (CHALLENGER, challenger_dir)):
        event = with_headers(http_event("GET", "/predict?x=42"), caller_of(split, variant))
        answers = [json.loads(call(split, event)["body"]) for _ in range(5)]
        assert all(a == answers[0] for a in answers)
        assert answers[0]["variant"] == variant
        assert answers[0]["model_version"] == split.variants.version_of(variant)
        expected = reference_prediction(directory, [42.0])[0]
        assert answers[0]["y"] == pytest.approx(expected, rel=1e-5, abs=1e-6)


def test_without_the_sticky_header_split_assigns_by_request_id(split: Function) -> None:
    variants = {
        json.loads(call(split, http_event("GET", "/predict?x=1"))["body"])["variant"]
        for _ in range(64)
    }
    assert variants == {CHAMPION, CHALLENGER}  # 64 fresh request ids: both, all but surely


@pytest.mark.parametrize("how", ["raises", "non-finite"])
def test_a_failing_split_challenger_is_covered_by_the_champion(
    plain: Function,
    split: Function,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    how: str,
) -> None:
    break_challenger(split, monkeypatch, how)
    caller = caller_of(split, CHALLENGER)
    for event in requests():
        response = call(split, with_headers(event, caller))
        assert response == call(plain, event)
        assert response["headers"]["x-model-variant"] == CHAMPION
    warnings = [r.__dict__ for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == len(TARGETS) + len(BODIES)
    assert all(w["challenger_failure"] and w["variant"] == CHAMPION for w in warnings)


def test_init_refuses_a_challenger_other_than_the_pinned_one(
    model_dir: Path, challenger_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    env = {**experiment_env("shadow", challenger_dir), ENV_CHALLENGER_SHA256: "0" * 64}
    assert_init_refuses(model_dir, "sha256", caplog, **env)


def test_init_refuses_an_experiment_without_a_challenger(
    model_dir: Path, challenger_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    env = {**experiment_env("split", challenger_dir), "CHALLENGER_DIR": str(tmp_path / "none")}
    assert_init_refuses(model_dir, str(tmp_path / "none"), caplog, **env)

"""The promote function as Lambda runs it: init at import from its environment, then the
champion moved to each event's evaluated candidate."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from lambda_image.local.function import LocalContext
from tests.lambda_image.lifecycle.conftest import Evaluate, read
from tests.lambda_image.model_sources.conftest import BUCKET, ENVIRONMENT
from torchlambda import contract
from torchlambda.lifecycle import events
from torchlambda.lifecycle.errors import ChampionMoved, InvalidEvent
from torchlambda.lifecycle.promote_function import PromoteFunction
from torchlambda.startup import InitError

MODULE, ATTRIBUTE = contract.PROMOTE_HANDLER.rsplit(".", 1)
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:Retrain-test:run-1"
Load = Callable[..., PromoteFunction]


@pytest.fixture
def load_handler(aws_env: pytest.MonkeyPatch) -> Iterator[Load]:
    def load(**changed: str | None) -> PromoteFunction:
        variables = {
            contract.ENV_ARTIFACTS_BUCKET: BUCKET,
            contract.ENV_ENVIRONMENT_NAME: ENVIRONMENT,
        }
        for name, value in (variables | changed).items():
            if value is None:
                aws_env.delenv(name, raising=False)
            else:
                aws_env.setenv(name, value)
        sys.modules.pop(MODULE, None)
        handler: PromoteFunction = getattr(importlib.import_module(MODULE), ATTRIBUTE)
        return handler

    aws_env.delenv(contract.ENV_SERVICE_NAME, raising=False)
    yield load
    sys.modules.pop(MODULE, None)


@pytest.fixture
def evaluation(evaluate_build: Evaluate, builds: Any, with_holdout: bytes) -> dict[str, Any]:
    return evaluate_build("build-good")


def test_an_evaluation_is_promoted(s3: Any, load_handler: Load, evaluation: dict[str, Any]) -> None:
    handler = load_handler()
    assert handler.logger.service == contract.LIFECYCLE_SERVICE_NAME
    event = {events.EVALUATION: evaluation, events.PROMOTED_BY: EXECUTION}
    champion = handler(event, LocalContext())
    assert champion[events.BUILD_ID] == "build-good"
    assert champion[events.PROMOTED_BY] == EXECUTION and champion[events.FORCED] is None
    assert json.loads(read(s3, contract.champion_key(ENVIRONMENT))) == champion
    # A retry of the same step (or a second execution from this evaluation) moves nothing.
    with pytest.raises(ChampionMoved):
        handler(event, LocalContext())


@pytest.mark.parametrize(
    "event",
    [
        {},
        {events.EVALUATION: {}},
        {events.EVALUATION: {}, events.PROMOTED_BY: 3},
        {events.EVALUATION: {}, events.PROMOTED_BY: EXECUTION, events.FORCED: "why"},
        [],
    ],
)
def test_an_event_that_is_not_a_promote_event_is_invalid(
    load_handler: Load, moto: str, event: Any
) -> None:
    with pytest.raises(InvalidEvent, match=r'^the event must be \{"evaluation": '):
        load_handler()(event, LocalContext())


def test_an_evaluation_that_is_no_evaluation_is_invalid(load_handler: Load, moto: str) -> None:
    event = {events.EVALUATION: {"environment": ENVIRONMENT}, events.PROMOTED_BY: EXECUTION}
    with pytest.raises(InvalidEvent, match=r"^evaluation\.champion is missing"):
        load_handler()(event, LocalContext())


def test_a_missing_setting_fails_init(load_handler: Load) -> None:
    with pytest.raises(InitError, match="ENVIRONMENT_NAME is not set"):
        load_handler(**{contract.ENV_ENVIRONMENT_NAME: None})

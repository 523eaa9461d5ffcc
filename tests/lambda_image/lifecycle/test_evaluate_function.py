"""The evaluate function as Lambda runs it: init at import from its environment, then one
candidate per event, its evaluation answered and written beside it."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from lambda_image.local.function import LocalContext
from tests.lambda_image.lifecycle.conftest import HOLDOUT, Builds, crown, read
from tests.lambda_image.model_sources.conftest import BUCKET, ENVIRONMENT
from torchlambda import contract
from torchlambda.lifecycle import events
from torchlambda.lifecycle.errors import InvalidEvent
from torchlambda.lifecycle.evaluate_function import EvaluateFunction
from torchlambda.startup import InitError

MODULE, ATTRIBUTE = contract.EVALUATE_HANDLER.rsplit(".", 1)
ENVIRONMENT_VARIABLES = {
    contract.ENV_ARTIFACTS_BUCKET: BUCKET,
    contract.ENV_ENVIRONMENT_NAME: ENVIRONMENT,
    contract.ENV_EVALUATION_SET: HOLDOUT,
}
Load = Callable[..., EvaluateFunction]


@pytest.fixture
def load_handler(aws_env: pytest.MonkeyPatch) -> Iterator[Load]:
    """The handler module imported afresh, as a new sandbox would, with the CDK's variables
    (and any changed)."""

    def load(**changed: str | None) -> EvaluateFunction:
        for name, value in (ENVIRONMENT_VARIABLES | changed).items():
            if value is None:
                aws_env.delenv(name, raising=False)
            else:
                aws_env.setenv(name, value)
        sys.modules.pop(MODULE, None)
        handler: EvaluateFunction = getattr(importlib.import_module(MODULE), ATTRIBUTE)
        return handler

    aws_env.delenv(contract.ENV_SERVICE_NAME, raising=False)
    yield load
    sys.modules.pop(MODULE, None)


@pytest.mark.usefixtures("with_holdout")
def test_an_event_is_evaluated_and_written(
    s3: Any, load_handler: Load, builds: Builds, capsys: pytest.CaptureFixture[str]
) -> None:
    crown(s3, builds.poor)
    handler = load_handler()
    assert handler.logger.service == contract.LIFECYCLE_SERVICE_NAME
    evaluation = handler({events.BUILD_ID: "torchlambda-training-test:build-good"}, LocalContext())
    assert evaluation[events.CANDIDATE][events.BUILD_ID] == "build-good"
    assert evaluation[events.CHAMPION][events.BUILD_ID] == "build-poor"
    stored = read(s3, contract.evaluation_key(ENVIRONMENT, "build-good"))
    assert json.loads(stored) == evaluation
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    assert [entry["message"] for entry in logged] == [evaluation[events.SUMMARY]]


@pytest.mark.parametrize(
    "event",
    [
        {},
        {events.BUILD_ID: 3},
        {events.BUILD_ID: "b1", "extra": 1},
        "b1",
        None,
    ],
)
def test_an_event_without_one_build_id_is_invalid(
    load_handler: Load, moto: str, event: Any
) -> None:
    with pytest.raises(InvalidEvent, match=r'^the event must be \{"build_id": '):
        load_handler()(event, LocalContext())


def test_the_serving_domain_comes_from_max_abs_x(load_handler: Load) -> None:
    assert load_handler().max_abs_x == contract.DEFAULT_MAX_ABS_X
    assert load_handler(**{contract.ENV_MAX_ABS_X: "50"}).max_abs_x == 50.0


def test_an_evaluation_set_outside_data_fails_init(load_handler: Load) -> None:
    with pytest.raises(InitError, match=r"EVALUATION_SET='models/x\.csv': expected a key under"):
        load_handler(**{contract.ENV_EVALUATION_SET: "models/x.csv"})


@pytest.mark.parametrize(
    ("changed", "message"),
    [
        ({contract.ENV_ARTIFACTS_BUCKET: None}, "ARTIFACTS_BUCKET is not set"),
        ({contract.ENV_ENVIRONMENT_NAME: None}, "ENVIRONMENT_NAME is not set"),
        ({contract.ENV_ENVIRONMENT_NAME: "a/b"}, "ENVIRONMENT_NAME='a/b': expected an environment"),
        ({contract.ENV_EVALUATION_SET: None}, "EVALUATION_SET is not set"),
        ({contract.ENV_MAX_ABS_X: "-1"}, "MAX_ABS_X='-1': expected a positive finite number"),
    ],
)
def test_a_missing_or_bad_setting_fails_init(
    load_handler: Load, changed: dict[str, str | None], message: str
) -> None:
    with pytest.raises(InitError, match=message):
        load_handler(**changed)

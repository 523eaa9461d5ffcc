"""Fixtures: dev with its batch stack on the session's moto server, and a Step Functions stand-in
(tests/ops/aws_stand_ins.py) whose executions the test's runner carries out."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import ops.batch.follow
from infra.config import EnvironmentConfig
from ops.aws import AwsClients
from tests.ops.aws_stand_ins import (
    STATE_MACHINE_ARN,
    RunnerContext,
    RunResult,
    StepFunctionsStandIn,
    deploy_stacks,
    step_functions,
)
from tests.ops.conftest import BUCKET

MODEL_VERSION = "e05f2e21f808"


@pytest.fixture
def batch_model_version() -> str:
    """The model the batch stack says its worker holds (a module may override it)."""
    return MODEL_VERSION


@pytest.fixture
def batch_deployed(
    clients: AwsClients, dev: EnvironmentConfig, batch_model_version: str
) -> dict[str, str]:
    """dev's artifacts bucket and the stacks publishing what `make batch` reads."""
    clients.s3.create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": dev.region}
    )
    values = {
        "ArtifactsBucketName": BUCKET,
        "BatchStateMachineArn": STATE_MACHINE_ARN,
        "BatchModelVersion": batch_model_version,
    }
    deploy_stacks(clients.cloudformation, dev, values)
    return values


def no_runner(context: RunnerContext) -> RunResult:
    raise AssertionError("this test starts no execution")


@pytest.fixture
def sfn(
    batch_deployed: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[StepFunctionsStandIn]:
    """dev deployed, and the stand-in behind AWS_ENDPOINT_URL_SFN; set its `runner` before the
    job starts."""
    with step_functions(no_runner) as stand_in:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SFN", stand_in.url)
        yield stand_in


@pytest.fixture
def stepped(sfn: StepFunctionsStandIn, monkeypatch: pytest.MonkeyPatch) -> StepFunctionsStandIn:
    """The follower's pause between polls lets the job take exactly one step (RunnerContext.step):
    each status line shows one step's effect, whatever the machine's speed."""

    def one_step(seconds: float) -> None:
        sfn.advance()

    monkeypatch.setattr(ops.batch.follow, "pause", one_step)
    return sfn

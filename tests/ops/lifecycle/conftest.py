"""Fixtures: dev deployed on the session's moto server with its artifacts bucket and its Lifecycle
stack, the retrain workflow's shape executed by moto (workflow.py), and builds published as
training publishes them, each with the test split it is evaluated on."""

from __future__ import annotations

import io
import json
import logging
import tempfile
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import torch

import ops.lifecycle.follow
from infra.config import EnvironmentConfig
from infra.outputs import ArtifactsOutput, LifecycleOutput
from ops.aws import AwsClients
from tests.ops.aws_stand_ins import deploy_stacks
from tests.ops.conftest import BUCKET
from tests.ops.lifecycle.workflow import ROLE_ARN, Steps, definition
from tests.ops.model_files import model_files
from torchlambda.contract import WEIGHTS_FILE
from torchlambda.predictor.architecture import DEFAULT_SPEC, build_model
from training.publish import publish

RETRAIN_MACHINE = "torchlambda-retrain-dev"
# Two different networks; each build below pairs one with a test split.
FIRST = model_files(seed=21, validation_mse=0.2)
SECOND = model_files(seed=22, validation_mse=0.3)
XS = [-2 + 4 * i / 199 for i in range(200)]


def predictions(files: dict[str, bytes]) -> list[float]:
    """What the network predicts over XS: a test split of these rows is its own, MSE 0."""
    module = build_model(DEFAULT_SPEC)
    module.load_state_dict(torch.load(io.BytesIO(files[WEIGHTS_FILE]), weights_only=True))
    module.eval()
    with torch.no_grad():
        ys = module(torch.tensor(XS).reshape(-1, 1)).reshape(-1).tolist()
    return [float(y) for y in ys]


def split_fitting(files: dict[str, bytes]) -> bytes:
    """A test split (book CSV, y,x) that `files`' network fits exactly."""
    return "".join(f"{y!r},{x!r}\n" for y, x in zip(predictions(files), XS, strict=True)).encode()


Publish = Callable[[str, dict[str, bytes], bytes], dict[str, Any]]


@pytest.fixture
def artifacts(clients: AwsClients, dev: EnvironmentConfig) -> dict[str, str]:
    """dev's artifacts bucket and the stack naming it."""
    clients.s3.create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": dev.region}
    )
    values = {ArtifactsOutput.BUCKET_NAME: BUCKET}
    deploy_stacks(clients.cloudformation, dev, values)
    return values


@pytest.fixture
def publish_build(clients: AwsClients, artifacts: dict[str, str]) -> Publish:
    """Publish a build as a training build does: its model, its test split, then latest.json."""

    def publish_one(build_id: str, files: dict[str, bytes], test_split: bytes) -> dict[str, Any]:
        with tempfile.TemporaryDirectory() as directory:
            model_dir = Path(directory) / "model"
            model_dir.mkdir()
            for name, content in files.items():
                (model_dir / name).write_bytes(content)
            split = Path(directory) / "test.csv"
            split.write_bytes(test_split)
            return publish(
                clients.s3,
                model_dir=model_dir,
                bucket=BUCKET,
                environment="dev",
                build_id=build_id,
                test_split=split,
            )

    return publish_one


def set_moto_config(endpoint: str, execute: bool) -> None:
    body = json.dumps({"stepfunctions": {"execute_state_machine": execute}}).encode()
    request = urllib.request.Request(f"{endpoint}/moto-api/config", data=body, method="POST")
    urllib.request.urlopen(request, timeout=10).close()


@pytest.fixture
def executing(moto: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto runs the state machines it is given, calling SQS on itself for their tasks."""
    # The interpreter's service clients find the server through MOTO_PORT (on localhost).
    monkeypatch.setenv("MOTO_PORT", str(urlsplit(moto).port))
    # It logs every caught task failure as an error: the tests assert on the history instead.
    parser_log = logging.getLogger("moto.stepfunctions.parser")
    level = parser_log.level
    parser_log.setLevel(logging.CRITICAL)
    set_moto_config(moto, execute=True)
    try:
        yield
    finally:
        set_moto_config(moto, execute=False)
        parser_log.setLevel(level)


DeployWorkflow = Callable[..., Steps]


@pytest.fixture
def deploy_workflow(
    clients: AwsClients,
    dev: EnvironmentConfig,
    executing: None,
    artifacts: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[DeployWorkflow]:
    """Deploy the Lifecycle stack with the workflow's shape (timeout_seconds: the execution's
    limit); its Steps answer the waiting states as the follower's pause."""
    created: list[Steps] = []

    def deploy(timeout_seconds: int = 60) -> Steps:
        sqs, sfn = clients.client("sqs"), clients.client("stepfunctions")
        queue = sqs.create_queue(QueueName="retrain-steps")["QueueUrl"]
        body = definition(queue, dev.lifecycle.gate, timeout_seconds)
        machine = sfn.create_state_machine(
            name=RETRAIN_MACHINE, definition=json.dumps(body), roleArn=ROLE_ARN
        )["stateMachineArn"]
        deploy_stacks(clients.cloudformation, dev, {LifecycleOutput.STATE_MACHINE_ARN: machine})
        steps = Steps(sfn, sqs, queue, machine)
        monkeypatch.setattr(ops.lifecycle.follow, "pause", steps)
        created.append(steps)
        return steps

    yield deploy
    for steps in created:
        steps.release()

"""Fixtures: a moto server on 127.0.0.1 standing in for AWS, and the environment pointing at it."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from infra.config import EnvironmentConfig, get_environment
from ops.aws import AwsClients
from tests.ops.aws_stand_ins import deploy_stacks, reset_moto

BUCKET = "torchlambda-artifacts-dev"
PROJECT = "torchlambda-training-dev"


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request is noise here
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """Dummy credentials only, no profile or config files, fast retries: nothing reaches AWS."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    return monkeypatch


@pytest.fixture
def moto(aws_env: pytest.MonkeyPatch, moto_endpoint: str) -> str:
    """A fresh, empty moto behind AWS_ENDPOINT_URL (which every boto3 client honours)."""
    reset_moto(moto_endpoint)
    aws_env.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    return moto_endpoint


@pytest.fixture
def dev() -> EnvironmentConfig:
    return get_environment("dev")


@pytest.fixture
def clients(moto: str, dev: EnvironmentConfig) -> AwsClients:
    return AwsClients(dev, boto3.Session())


@pytest.fixture
def deployed(clients: AwsClients, dev: EnvironmentConfig) -> dict[str, Any]:
    """dev deployed: bucket, training project and the stacks publishing their names."""
    clients.s3.create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": dev.region}
    )
    clients.codebuild.create_project(
        name=PROJECT,
        source={"type": "S3", "location": f"{BUCKET}/source/training.zip"},
        artifacts={"type": "NO_ARTIFACTS"},
        environment={
            "type": "LINUX_CONTAINER",
            "image": "public.ecr.aws/deep-learning-containers/pytorch:2.13.0-cpu-amzn2023",
            "computeType": "BUILD_GENERAL1_SMALL",
        },
        serviceRole=f"arn:aws:iam::123456789012:role/{PROJECT}",
    )
    values = {
        "ArtifactsBucketName": BUCKET,
        "TrainingProjectName": PROJECT,
        "ApiUrl": "https://example.execute-api.us-west-2.amazonaws.com/",
        "FunctionName": "torchlambda-dev",
        "AliasArn": "arn:aws:lambda:us-west-2:123456789012:function:torchlambda-dev:live",
        "DashboardUrl": "https://console.aws.amazon.com/cloudwatch/home#dashboards",
    }
    deploy_stacks(clients.cloudformation, dev, values)
    return values

"""Fixtures: a deployed dev environment on the session's moto server (tests/conftest.py)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from infra.config import EnvironmentConfig, get_environment
from ops.aws import AwsClients
from tests.ops.aws_stand_ins import deploy_stacks

BUCKET = "torchlambda-artifacts-dev"
PROJECT = "torchlambda-training-dev"


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

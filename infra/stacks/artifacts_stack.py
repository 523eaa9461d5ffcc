"""Stateful stack: the model artifacts bucket, kept apart so other stacks can be replaced freely."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from constructs import Construct

from infra.config import EnvironmentConfig
from infra.constructs.model_artifacts import ModelArtifacts, artifacts_bucket_name
from infra.outputs import ArtifactsOutput
from infra.stacks.publishing import publish_outputs


class ArtifactsStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.artifacts = ModelArtifacts(
            self,
            "ModelArtifacts",
            bucket_name=artifacts_bucket_name(config.name),
            retention=config.retention,
            events_to_eventbridge=config.lifecycle.retrain_on_new_data,
        )
        self.outputs = publish_outputs(
            self,
            {
                ArtifactsOutput.BUCKET_NAME: (
                    self.artifacts.bucket.bucket_name,
                    "S3 bucket holding training data (data/) and models (models/<env>/)",
                ),
            },
        )

"""Stateful stack: the model artifacts bucket, kept apart so other stacks can be replaced freely."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from infra.config import EnvironmentConfig
from infra.constructs.model_artifacts import ModelArtifacts


class ArtifactsStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.artifacts = ModelArtifacts(self, "ModelArtifacts", config=config)
        CfnOutput(
            self,
            "ArtifactsBucketName",
            value=self.artifacts.bucket.bucket_name,
            description="S3 bucket holding training data (data/) and models (models/<env>/)",
        )

"""Cloud training for one environment: the CodeBuild project and its permissions."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.config import EnvironmentConfig
from infra.constructs.model_artifacts import artifacts_bucket_name
from infra.constructs.training_project import TrainingProject


class TrainingStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        bucket = s3.Bucket.from_bucket_name(self, "Artifacts", artifacts_bucket_name(config))
        self.training = TrainingProject(self, "Training", config=config, bucket=bucket)
        CfnOutput(
            self,
            "TrainingProjectName",
            value=self.training.project.project_name,
            description="CodeBuild project that trains and publishes the model",
        )

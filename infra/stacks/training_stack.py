"""Cloud training for one environment: the CodeBuild project and its permissions."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.config import EnvironmentConfig
from infra.constructs.model_artifacts import artifacts_bucket_name
from infra.constructs.training_project import TrainingProject
from infra.outputs import TrainingOutput
from infra.stacks.publishing import publish_outputs


class TrainingStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        bucket = s3.Bucket.from_bucket_name(self, "Artifacts", artifacts_bucket_name(config.name))
        self.training = TrainingProject(
            self,
            "Training",
            environment_name=config.name,
            training=config.training,
            retention=config.retention,
            bucket=bucket,
        )
        self.outputs = publish_outputs(
            self,
            {
                TrainingOutput.PROJECT_NAME: (
                    self.training.project.project_name,
                    "CodeBuild project that trains and publishes the model",
                ),
            },
        )

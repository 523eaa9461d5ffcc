"""Serving for one environment: function + alias, HTTP API, rollout and monitoring."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.challenger import served_experiment
from infra.config import EnvironmentConfig
from infra.constructs.http_api import HttpApi
from infra.constructs.inference_function import InferenceFunction
from infra.constructs.model_artifacts import artifacts_bucket_name
from infra.constructs.model_binding import ModelBinding, ModelMount
from infra.constructs.monitoring import MonitoredResources, Monitoring
from infra.constructs.rollout import Rollout
from infra.outputs import ServingOutput
from infra.settings.model_source import S3Source
from infra.stacks.publishing import publish_outputs


class ServingStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        model_mount: ModelMount | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        # The bucket only where the model is downloaded from it at init.
        bucket = (
            s3.Bucket.from_bucket_name(self, "Artifacts", artifacts_bucket_name(config.name))
            if isinstance(config.model_source, S3Source)
            else None
        )
        self.inference = InferenceFunction(
            self,
            "Inference",
            environment_name=config.name,
            function=config.function,
            provisioned=config.provisioned,
            retention=config.retention,
            base_image_uri=config.function.image.uri(config.region),
            model=ModelBinding(
                environment_name=config.name,
                function=config.function,
                source=config.model_source,
                bucket=bucket,
                mount=model_mount,
            ),
            experiment=served_experiment(config),
        )
        self.http_api = HttpApi(
            self,
            "Http",
            environment_name=config.name,
            api=config.api,
            retention=config.retention,
            alias=self.inference.alias,
            function_timeout=self.inference.timeout,
        )
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            environment_name=config.name,
            alerting=config.alerting,
            provisioned=config.provisioned,
            resources=MonitoredResources(
                alias=self.inference.alias,
                api=self.http_api.api,
                function_logs=self.inference.log_group,
            ),
        )
        self.rollout = Rollout(
            self,
            "Rollout",
            strategy=config.rollout,
            alias=self.inference.alias,
            alarms=self.monitoring.rollback_alarms,
        )
        self.outputs = publish_outputs(
            self,
            {
                ServingOutput.API_URL: (self.http_api.url, "Base URL of the HTTP API"),
                ServingOutput.FUNCTION_NAME: (
                    self.inference.function.function_name,
                    "Inference function",
                ),
                ServingOutput.ALIAS_ARN: (
                    self.inference.alias.function_arn,
                    "The `live` alias the API invokes",
                ),
                ServingOutput.DASHBOARD_URL: (
                    self.monitoring.dashboard_url,
                    "CloudWatch dashboard",
                ),
            },
        )

"""Serving for one environment: function + alias, HTTP API, rollout and monitoring."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from infra.config import EnvironmentConfig
from infra.constructs.http_api import HttpApi
from infra.constructs.inference_function import InferenceFunction
from infra.constructs.monitoring import MonitoredResources, Monitoring
from infra.constructs.rollout import Rollout


class ServingStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.inference = InferenceFunction(self, "Inference", config=config)
        self.http_api = HttpApi(self, "Http", config=config, alias=self.inference.alias)
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            config=config,
            resources=MonitoredResources(
                alias=self.inference.alias,
                api=self.http_api.api,
                function_logs=self.inference.log_group,
                provisioned=config.provisioned_floor > 0,
            ),
        )
        self.rollout = Rollout(
            self,
            "Rollout",
            config=config,
            alias=self.inference.alias,
            alarms=self.monitoring.rollback_alarms,
        )
        outputs = {
            "ApiUrl": (self.http_api.url, "Base URL of the HTTP API"),
            "FunctionName": (self.inference.function.function_name, "Inference function"),
            "AliasArn": (self.inference.alias.function_arn, "The `live` alias the API invokes"),
            "DashboardUrl": (self.monitoring.dashboard_url, "CloudWatch dashboard"),
        }
        for name, (value, description) in outputs.items():
            CfnOutput(self, name, value=value, description=description)

"""The public face: an HTTP API (payload 2.0) whose routes invoke the function's alias."""

from __future__ import annotations

import json

import jsii
from aws_cdk import Acknowledgment, Duration, Validations
from aws_cdk import aws_apigateway as apigw_v1
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.constructs.retention import log_group
from infra.settings.api import ApiSettings
from infra.settings.retention import RetentionSettings
from torchlambda.contract import ROUTES

# Only variables HTTP APIs support; one JSON object per request.
ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "time": "$context.requestTime",
    "ip": "$context.identity.sourceIp",
    "caller": "$context.identity.caller",
    "method": "$context.httpMethod",
    "route": "$context.routeKey",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationLatency": "$context.integrationLatency",
    "integrationStatus": "$context.integration.status",
    "integrationError": "$context.integrationErrorMessage",
}


@jsii.implements(apigwv2.IAccessLogSettings)
class JsonAccessLogs:
    """Access log settings; the Python binding needs a class implementing the jsii interface."""

    def __init__(self, log_group: logs.ILogGroup) -> None:
        self._destination = apigwv2.LogGroupLogDestination(log_group)

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigw_v1.AccessLogFormat:
        return apigw_v1.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FIELDS))


class HttpApi(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment_name: str,
        api: ApiSettings,
        retention: RetentionSettings,
        alias: lambda_.IAlias,
        function_timeout: Duration,
    ) -> None:
        super().__init__(scope, construct_id)
        self.api = apigwv2.HttpApi(
            self,
            "Api",
            description=f"Model predictions ({environment_name})",
            create_default_stage=False,
            cors_preflight=self._cors(api.cors_origins),
        )
        self.access_logs = log_group(self, "AccessLogs", retention)
        self.stage = apigwv2.HttpStage(
            self,
            "DefaultStage",
            http_api=self.api,
            stage_name="$default",
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(
                rate_limit=api.throttling.rate_limit,
                burst_limit=api.throttling.burst_limit,
            ),
            access_log_settings=JsonAccessLogs(self.access_logs),
        )
        # The gateway must outlast the function so a slow request gets the function's answer.
        integration = integrations.HttpLambdaIntegration(
            "Alias",
            alias,
            payload_format_version=apigwv2.PayloadFormatVersion.VERSION_2_0,
            timeout=function_timeout.plus(Duration.seconds(1)),
        )
        authorizer = authorizers.HttpIamAuthorizer() if api.auth == "iam" else None
        self.routes = [
            route
            for table_route in ROUTES
            for route in self.api.add_routes(
                path=table_route.path,
                methods=[apigwv2.HttpMethod(table_route.method)],
                integration=integration,
                authorizer=authorizer,
            )
        ]
        if authorizer is None:
            for route in self.routes:
                Validations.of(route).acknowledge(
                    Acknowledgment(
                        id="AwsSolutions-APIG4",
                        reason=f"{environment_name} is deliberately public (api auth 'none' "
                        "in infra/config.py); the stage throttles it and prod requires IAM.",
                    )
                )

    @property
    def url(self) -> str:
        return self.stage.url

    @staticmethod
    def _cors(origins: tuple[str, ...]) -> apigwv2.CorsPreflightOptions | None:
        if not origins:
            return None
        return apigwv2.CorsPreflightOptions(
            allow_origins=list(origins),
            allow_methods=[
                apigwv2.CorsHttpMethod.GET,
                apigwv2.CorsHttpMethod.POST,
                apigwv2.CorsHttpMethod.OPTIONS,
            ],
            allow_headers=["content-type", "authorization", "x-amz-date", "x-amz-security-token"],
            expose_headers=["x-model-version"],
            max_age=Duration.hours(1),
        )

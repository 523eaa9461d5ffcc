"""The serving path, per environment, from the synthesized templates."""

from __future__ import annotations

import json
import re
from typing import Any

from infra.settings.function import MAX_FUNCTION_TIMEOUT_S
from tests.infra.conftest import ROOT, SynthesizedEnvironment


def only(resources: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    assert len(resources) == 1, list(resources)
    return next(iter(resources.items()))


def function(env: SynthesizedEnvironment) -> tuple[str, dict[str, Any]]:
    return only(env.resources("Serving", "AWS::Lambda::Function"))


def alias(env: SynthesizedEnvironment) -> tuple[str, dict[str, Any]]:
    return only(env.resources("Serving", "AWS::Lambda::Alias"))


def test_function_is_a_container_image_built_on_the_dlc(
    environment: SynthesizedEnvironment,
) -> None:
    config = environment.config
    _, fn = function(environment)
    assert fn["Properties"]["PackageType"] == "Image"
    images = environment.assets_manifest("Serving")["dockerImages"]
    (image,) = images.values()
    assert image["source"]["dockerBuildArgs"] == {
        "BASE_IMAGE": config.function.image.uri(config.region)
    }
    assert image["source"]["platform"] == "linux/amd64"
    # Relative to the stage's assembly; the build context is a staged copy of lambda_image/.
    context = environment.template_files["Serving"].parent / image["source"]["directory"]
    assert context.name.startswith("asset.")
    assert (context / "Dockerfile").is_file()


def test_function_sizing_comes_from_config(environment: SynthesizedEnvironment) -> None:
    settings = environment.config.function
    props = function(environment)[1]["Properties"]
    assert props["MemorySize"] == settings.memory_mb
    assert props["Architectures"] == [settings.architecture]
    assert props.get("ReservedConcurrentExecutions") == settings.reserved_concurrency
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert props["LoggingConfig"]["LogFormat"] == "JSON"


def test_function_environment_matches_the_image(environment: SynthesizedEnvironment) -> None:
    variables = function(environment)[1]["Properties"]["Environment"]["Variables"]
    dockerfile = (ROOT / "lambda_image" / "Dockerfile").read_text()
    assert f"MODEL_DIR={variables['MODEL_DIR']}" in dockerfile
    threads = str(environment.config.function.torch_threads)
    assert {variables[k] for k in ("TORCH_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")} == {
        threads
    }
    assert "POWERTOOLS_TRACE_DISABLED" not in variables  # no X-Ray SDK in the image to switch
    assert variables["POWERTOOLS_SERVICE_NAME"] and variables["POWERTOOLS_METRICS_NAMESPACE"]


def test_timeout_is_below_the_integration_timeout(environment: SynthesizedEnvironment) -> None:
    timeout_s = function(environment)[1]["Properties"]["Timeout"]
    assert timeout_s <= MAX_FUNCTION_TIMEOUT_S
    for integration in environment.resources("Serving", "AWS::ApiGatewayV2::Integration").values():
        integration_ms = integration["Properties"]["TimeoutInMillis"]
        assert timeout_s * 1000 < integration_ms <= 29_000
        assert integration["Properties"]["PayloadFormatVersion"] == "2.0"


def test_alias_is_live_on_the_current_version(environment: SynthesizedEnvironment) -> None:
    _, resource = alias(environment)
    props = resource["Properties"]
    assert props["Name"] == "live"
    (version_id,) = environment.resources("Serving", "AWS::Lambda::Version")
    assert props["FunctionVersion"] == {"Fn::GetAtt": [version_id, "Version"]}


def test_provisioned_concurrency_on_the_alias(environment: SynthesizedEnvironment) -> None:
    props = alias(environment)[1]["Properties"]
    floor = environment.config.provisioned.floor
    if floor == 0:
        assert "ProvisionedConcurrencyConfig" not in props
    else:
        assert props["ProvisionedConcurrencyConfig"] == {"ProvisionedConcurrentExecutions": floor}


def test_auto_scaling_tracks_provisioned_concurrency_utilization(
    environment: SynthesizedEnvironment,
) -> None:
    pc = environment.config.provisioned
    targets = environment.resources("Serving", "AWS::ApplicationAutoScaling::ScalableTarget")
    policies = environment.resources("Serving", "AWS::ApplicationAutoScaling::ScalingPolicy")
    if pc.target_utilization is None:  # nothing to track: none, or a fixed count
        assert targets == {} and policies == {}
        return
    target_id, target = only(targets)
    alias_id, _ = alias(environment)
    assert target["Properties"]["ScalableDimension"] == "lambda:function:ProvisionedConcurrency"
    assert target["Properties"]["MinCapacity"] == pc.floor
    assert target["Properties"]["MaxCapacity"] == pc.ceiling
    assert alias_id in json.dumps(target["Properties"]["ResourceId"])
    _, policy = only(policies)
    tracking = policy["Properties"]["TargetTrackingScalingPolicyConfiguration"]
    assert policy["Properties"]["ScalingTargetId"] == {"Ref": target_id}
    assert tracking["PredefinedMetricSpecification"] == {
        "PredefinedMetricType": "LambdaProvisionedConcurrencyUtilization"
    }
    assert tracking["TargetValue"] == pc.target_utilization


def test_every_integration_and_permission_targets_the_alias(
    environment: SynthesizedEnvironment,
) -> None:
    alias_id, _ = alias(environment)
    function_id, _ = function(environment)
    integrations = environment.resources("Serving", "AWS::ApiGatewayV2::Integration")
    assert integrations
    for integration in integrations.values():
        assert integration["Properties"]["IntegrationUri"] == {"Ref": alias_id}
    permissions = environment.resources("Serving", "AWS::Lambda::Permission")
    assert len(permissions) == 4  # one per route
    for permission in permissions.values():
        assert permission["Properties"]["FunctionName"] == {"Ref": alias_id}
        assert permission["Properties"]["Principal"] == "apigateway.amazonaws.com"
    # Nothing in the API path may name the bare function ($LATEST).
    api_path = json.dumps([*integrations.values(), *permissions.values()])
    assert function_id not in api_path


def test_routes_and_auth(environment: SynthesizedEnvironment) -> None:
    routes = environment.resources("Serving", "AWS::ApiGatewayV2::Route").values()
    assert sorted(r["Properties"]["RouteKey"] for r in routes) == [
        "GET /health",
        "GET /predict",
        "POST /feedback",
        "POST /predict",
    ]
    expected = "AWS_IAM" if environment.config.api.auth == "iam" else "NONE"
    assert {r["Properties"]["AuthorizationType"] for r in routes} == {expected}


def test_stage_throttles_and_writes_json_access_logs(environment: SynthesizedEnvironment) -> None:
    _, stage = only(environment.resources("Serving", "AWS::ApiGatewayV2::Stage"))
    props = stage["Properties"]
    throttling = environment.config.api.throttling
    assert props["StageName"] == "$default"
    assert props["DefaultRouteSettings"] == {
        "ThrottlingBurstLimit": throttling.burst_limit,
        "ThrottlingRateLimit": throttling.rate_limit,
    }
    log_format = json.loads(props["AccessLogSettings"]["Format"])
    assert log_format["requestId"] == "$context.requestId"
    assert log_format["status"] == "$context.status"
    assert "Fn::GetAtt" in props["AccessLogSettings"]["DestinationArn"]


def test_cors_from_config(environment: SynthesizedEnvironment) -> None:
    _, api = only(environment.resources("Serving", "AWS::ApiGatewayV2::Api"))
    origins = environment.config.api.cors_origins
    cors = api["Properties"].get("CorsConfiguration")
    if not origins:
        assert cors is None
    else:
        assert cors["AllowOrigins"] == list(origins)
        assert "x-model-version" in cors["ExposeHeaders"]


def test_rollout_strategy_alarms_and_auto_rollback(environment: SynthesizedEnvironment) -> None:
    _, group = only(environment.resources("Serving", "AWS::CodeDeploy::DeploymentGroup"))
    props = group["Properties"]
    assert set(props["AutoRollbackConfiguration"]["Events"]) == {
        "DEPLOYMENT_FAILURE",
        "DEPLOYMENT_STOP_ON_ALARM",
        "DEPLOYMENT_STOP_ON_REQUEST",
    }
    alarm_ids = {
        logical_id
        for logical_id, alarm in environment.resources("Serving", "AWS::CloudWatch::Alarm").items()
        if re.search(r"Errors|DurationP99|Api5xx", logical_id)
    }
    assert props["AlarmConfiguration"]["Enabled"] is True
    assert {a["Name"]["Ref"] for a in props["AlarmConfiguration"]["Alarms"]} == alarm_ids
    assert len(alarm_ids) == 3
    routing = environment.config.rollout.build(ExpectedTrafficRouting())
    configs = environment.resources("Serving", "AWS::CodeDeploy::DeploymentConfig")
    if routing is None:
        assert configs == {}
        assert props["DeploymentConfigName"] == "CodeDeployDefault.LambdaAllAtOnce"
    else:
        config_id, config = only(configs)
        assert props["DeploymentConfigName"] == {"Ref": config_id}
        assert config["Properties"]["TrafficRoutingConfig"] == routing


class ExpectedTrafficRouting:
    """The custom deployment config's routing a strategy needs; None for CodeDeploy's own."""

    def all_at_once(self) -> dict[str, Any] | None:
        return None

    def canary(self, *, percentage: int, minutes: int) -> dict[str, Any] | None:
        return {
            "Type": "TimeBasedCanary",
            "TimeBasedCanary": {"CanaryInterval": minutes, "CanaryPercentage": percentage},
        }


def test_alarms_publish_to_an_encrypted_topic(environment: SynthesizedEnvironment) -> None:
    topic_id, topic = only(environment.resources("Serving", "AWS::SNS::Topic"))
    key_id, key = only(environment.resources("Serving", "AWS::KMS::Key"))
    assert topic["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert key["Properties"]["EnableKeyRotation"] is True
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    assert any(
        s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}
        and set(s["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey"}
        for s in statements
    )
    alarms = environment.resources("Serving", "AWS::CloudWatch::Alarm").values()
    for alarm in alarms:
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic_id}]
    names = " ".join(environment.resources("Serving", "AWS::CloudWatch::Alarm"))
    assert ("Spillover" in names) == (environment.config.provisioned.floor > 0)
    subscriptions = environment.resources("Serving", "AWS::SNS::Subscription")
    assert len(subscriptions) == (1 if environment.config.alerting.alarm_email else 0)


def test_dashboard_shows_the_signals_that_matter(environment: SynthesizedEnvironment) -> None:
    _, dashboard = only(environment.resources("Serving", "AWS::CloudWatch::Dashboard"))
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for signal in (
        "Invocations",
        "Errors",
        "Throttles",
        "Duration",
        "ProvisionedConcurrencyUtilization",
        "ProvisionedConcurrencySpilloverInvocations",
        "initDurationMs",
        "5xx",
        "4xx",
        "Latency",
    ):
        assert signal in body, signal


def test_outputs_name_the_alias_and_the_dashboard(environment: SynthesizedEnvironment) -> None:
    serving = environment.template("Serving").to_json()["Outputs"]
    alias_id, _ = alias(environment)
    assert serving["AliasArn"]["Value"] == {"Ref": alias_id}
    assert "dashboards:name=" in json.dumps(serving["DashboardUrl"]["Value"])

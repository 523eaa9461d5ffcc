"""How long things are kept: log retention and the removal policy of stateful resources."""

from __future__ import annotations

from aws_cdk import CfnResource, RemovalPolicy, Stack
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.settings.retention import RetentionSettings

# Stack-wide singletons of aws-cdk-lib's own custom resources: behind a bucket's
# `auto_delete_objects=True`, and behind a VPC's restricted default security group.
AUTO_DELETE_PROVIDER_ID = "Custom::S3AutoDeleteObjectsCustomResourceProvider"
RESTRICT_DEFAULT_SG_PROVIDER_ID = "Custom::VpcRestrictDefaultSGCustomResourceProvider"

_RETENTION_BY_DAYS: dict[int, logs.RetentionDays] = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    120: logs.RetentionDays.FOUR_MONTHS,
    150: logs.RetentionDays.FIVE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS,
    545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS,
    1096: logs.RetentionDays.THREE_YEARS,
    1827: logs.RetentionDays.FIVE_YEARS,
    2192: logs.RetentionDays.SIX_YEARS,
    2557: logs.RetentionDays.SEVEN_YEARS,
    2922: logs.RetentionDays.EIGHT_YEARS,
    3288: logs.RetentionDays.NINE_YEARS,
    3653: logs.RetentionDays.TEN_YEARS,
}


def log_retention(retention: RetentionSettings) -> logs.RetentionDays:
    return _RETENTION_BY_DAYS[retention.log_retention_days]


def removal_policy(retention: RetentionSettings) -> RemovalPolicy:
    """Keep stateful resources (logs, data) where the environment says so; else clean up."""
    return RemovalPolicy.RETAIN if retention.retain_stateful_resources else RemovalPolicy.DESTROY


def log_group(scope: Construct, construct_id: str, retention: RetentionSettings) -> logs.LogGroup:
    return logs.LogGroup(
        scope,
        construct_id,
        retention=log_retention(retention),
        removal_policy=removal_policy(retention),
    )


def retain_provider_logs(
    scope: Construct, retention: RetentionSettings, provider_id: str, construct_id: str
) -> None:
    """Send one of the CDK's own custom resource functions to a log group with retention.

    Its provider offers no logging option, and without one Lambda creates
    /aws/lambda/<function> on first run, kept forever. LoggingConfig on its function (the same
    property `lambda.Function(log_group=...)` sets) points it at a group this stack owns.
    """
    provider = Stack.of(scope).node.try_find_child(provider_id)
    if provider is None:
        return
    handler = provider.node.find_child("Handler")
    assert isinstance(handler, CfnResource)
    group = log_group(scope, construct_id, retention)
    handler.add_property_override("LoggingConfig", {"LogGroup": group.log_group_name})

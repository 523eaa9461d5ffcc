"""Dashboard and alarms for the inference path, published to an encrypted SNS topic.

Hand-written rather than cdk-monitoring-constructs: the signals that matter here (provisioned
concurrency spillover, init duration from the JSON platform logs, alias-level metrics) need custom
widgets there too, and one more jsii dependency would cost every synth more than these lines do.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, Stack
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from infra.settings.alerting import AlertingSettings
from infra.settings.provisioned import ProvisionedConcurrency

PERIOD = Duration.minutes(1)
# A warm prediction takes well under 10 ms; a p99 near a second means cold starts or overload.
P99_DURATION_THRESHOLD_MS = 1000
INIT_DURATION_QUERY = (
    'filter type = "platform.report" and ispresent(record.metrics.initDurationMs)\n'
    "| stats count() as coldStarts, avg(record.metrics.initDurationMs) as avgInitMs, "
    "max(record.metrics.initDurationMs) as maxInitMs by bin(5m)"
)


def alarm(
    scope: Construct,
    alarm_id: str,
    metric: cw.IMetric,
    *,
    topic: sns.ITopic,
    threshold: float,
    description: str,
    evaluation_periods: int = 1,
    datapoints_to_alarm: int = 1,
) -> cw.Alarm:
    """An alarm at `metric >= threshold` (no data is fine) that tells `topic` when it fires and
    when it clears."""
    created = cw.Alarm(
        scope,
        alarm_id,
        metric=metric,
        threshold=threshold,
        evaluation_periods=evaluation_periods,
        datapoints_to_alarm=datapoints_to_alarm,
        comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
        alarm_description=description,
    )
    created.add_alarm_action(cw_actions.SnsAction(topic))
    created.add_ok_action(cw_actions.SnsAction(topic))
    return created


def dashboard_url(scope: Construct, dashboard_name: str) -> str:
    """The console address of a dashboard in the scope's region."""
    region = Stack.of(scope).region
    return (
        f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
        f"#dashboards:name={dashboard_name}"
    )


@dataclass(frozen=True)
class MonitoredResources:
    alias: lambda_.Alias
    api: apigwv2.HttpApi
    function_logs: logs.ILogGroup


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment_name: str,
        alerting: AlertingSettings,
        provisioned: ProvisionedConcurrency,
        resources: MonitoredResources,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = self._alarm_topic(environment_name, alerting)
        alias, api = resources.alias, resources.api

        self.errors_alarm = self._alarm(
            "Errors",
            alias.metric_errors(period=PERIOD, statistic="Sum"),
            threshold=1,
            description="The function raised or timed out (a 5xx the handler did not choose).",
        )
        self.duration_alarm = self._alarm(
            "DurationP99",
            alias.metric_duration(period=PERIOD, statistic="p99"),
            threshold=P99_DURATION_THRESHOLD_MS,
            evaluation_periods=3,
            datapoints_to_alarm=2,
            description="p99 duration is far above a warm prediction's.",
        )
        self.api_5xx_alarm = self._alarm(
            "Api5xx",
            api.metric_server_error(period=PERIOD, statistic="Sum"),
            threshold=1,
            description="The HTTP API answered 5xx.",
        )
        self.rollback_alarms = [self.errors_alarm, self.duration_alarm, self.api_5xx_alarm]
        self.spillover_alarm = (
            self._alarm(
                "Spillover",
                self._alias_metric(alias, "ProvisionedConcurrencySpilloverInvocations"),
                threshold=1,
                evaluation_periods=5,
                datapoints_to_alarm=3,
                description="Requests exceed provisioned concurrency and start cold.",
            )
            if provisioned.floor
            else None
        )

        self.dashboard_name = f"{Stack.of(self).stack_name}-dashboard"
        self.dashboard = cw.Dashboard(
            self,
            "Dashboard",
            dashboard_name=self.dashboard_name,
            default_interval=Duration.hours(3),
        )
        self._add_widgets(resources)

    @property
    def dashboard_url(self) -> str:
        return dashboard_url(self, self.dashboard_name)

    def _alarm_topic(self, environment_name: str, alerting: AlertingSettings) -> sns.Topic:
        key = kms.Key(
            self,
            "TopicKey",
            description=f"Encrypts the alarm topic ({environment_name})",
            enable_key_rotation=True,
        )
        # CloudWatch publishes to the encrypted topic, so it must be able to use the key.
        key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=["*"],  # in a key policy, "*" means this key
                conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}},
            )
        )
        topic = sns.Topic(self, "Alarms", master_key=key, enforce_ssl=True)
        if alerting.alarm_email:
            topic.add_subscription(subscriptions.EmailSubscription(alerting.alarm_email))
        return topic

    def _alarm(
        self,
        alarm_id: str,
        metric: cw.IMetric,
        *,
        threshold: float,
        description: str,
        evaluation_periods: int = 1,
        datapoints_to_alarm: int = 1,
    ) -> cw.Alarm:
        return alarm(
            self,
            alarm_id,
            metric,
            topic=self.topic,
            threshold=threshold,
            description=description,
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=datapoints_to_alarm,
        )

    @staticmethod
    def _alias_metric(alias: lambda_.Alias, name: str, statistic: str = "Sum") -> cw.Metric:
        return alias.metric(name, period=PERIOD, statistic=statistic)

    def _add_widgets(self, r: MonitoredResources) -> None:
        alias, api = r.alias, r.api
        self.dashboard.add_widgets(
            cw.GraphWidget(
                title="Invocations, errors, throttles",
                left=[
                    alias.metric_invocations(period=PERIOD),
                    alias.metric_errors(period=PERIOD),
                    alias.metric_throttles(period=PERIOD),
                ],
                width=12,
            ),
            cw.GraphWidget(
                title="Duration (ms)",
                left=[
                    alias.metric_duration(period=PERIOD, statistic="p50", label="p50"),
                    alias.metric_duration(period=PERIOD, statistic="p99", label="p99"),
                ],
                width=12,
            ),
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(
                title="Provisioned concurrency",
                left=[
                    self._alias_metric(
                        alias, "ProvisionedConcurrencyUtilization", statistic="Maximum"
                    )
                ],
                right=[
                    self._alias_metric(alias, "ProvisionedConcurrencyInvocations"),
                    self._alias_metric(alias, "ProvisionedConcurrencySpilloverInvocations"),
                ],
                width=12,
            ),
            cw.LogQueryWidget(
                title="Cold starts and init duration (ms)",
                log_group_names=[r.function_logs.log_group_name],
                query_string=INIT_DURATION_QUERY,
                view=cw.LogQueryVisualizationType.LINE,
                width=12,
            ),
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(
                title="API requests and errors",
                left=[
                    api.metric_count(period=PERIOD),
                    api.metric_client_error(period=PERIOD),
                    api.metric_server_error(period=PERIOD),
                ],
                width=12,
            ),
            cw.GraphWidget(
                title="API latency (ms)",
                left=[
                    api.metric_latency(period=PERIOD, statistic="p50", label="p50"),
                    api.metric_latency(period=PERIOD, statistic="p99", label="p99"),
                    api.metric_integration_latency(
                        period=PERIOD, statistic="p99", label="integ p99"
                    ),
                ],
                width=12,
            ),
            cw.AlarmStatusWidget(
                title="Alarms",
                alarms=[a for a in (*self.rollback_alarms, self.spillover_alarm) if a],
                width=24,
            ),
        )

"""Alarms and a dashboard for batch scoring, on the environment's alarm topic.

A failed execution is a failed job; a worker error is a failed item batch (the Map records it and
the job may still pass within its tolerance); a throttled worker means the Map asked for more
workers than reserved. The dashboard adds the worker's own EMF metrics: rows and objects scored.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.constructs.monitoring import alarm, dashboard_url
from torchlambda import contract

PERIOD = Duration.minutes(5)
# The worker's EMF metrics (docs/batch.md), dimension service = the batch service name.
ROW_METRICS = ("rows_read", "rows_predicted", "rows_rejected")
OBJECT_METRICS = ("objects_scored",)


@dataclass(frozen=True)
class BatchResources:
    state_machine: sfn.StateMachine
    worker: lambda_.Function


class BatchMonitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        topic: sns.ITopic,
        resources: BatchResources,
    ) -> None:
        super().__init__(scope, construct_id)
        machine, worker = resources.state_machine, resources.worker
        self.failed_executions_alarm = alarm(
            self,
            "ExecutionsFailed",
            machine.metric_failed(period=PERIOD, statistic="Sum"),
            topic=topic,
            threshold=1,
            description="A batch job failed: its summary.json (if written) says why.",
        )
        self.failed_items_alarm = alarm(
            self,
            "WorkerErrors",
            worker.metric_errors(period=PERIOD, statistic="Sum"),
            topic=topic,
            threshold=1,
            description="A batch worker invocation failed: its item batch is a failed Map item.",
        )
        self.throttles_alarm = alarm(
            self,
            "WorkerThrottles",
            worker.metric_throttles(period=PERIOD, statistic="Sum"),
            topic=topic,
            threshold=1,
            description="Batch workers were throttled: the Map outran the workers' reservation.",
        )
        self.alarms = [self.failed_executions_alarm, self.failed_items_alarm, self.throttles_alarm]

        self.dashboard_name = f"{Stack.of(self).stack_name}-dashboard"
        self.dashboard = cw.Dashboard(
            self,
            "Dashboard",
            dashboard_name=self.dashboard_name,
            default_interval=Duration.hours(24),
        )
        self._add_widgets(machine, worker)

    @property
    def dashboard_url(self) -> str:
        return dashboard_url(self, self.dashboard_name)

    def _add_widgets(self, machine: sfn.StateMachine, worker: lambda_.Function) -> None:
        self.dashboard.add_widgets(
            cw.GraphWidget(
                title="Jobs (executions)",
                left=[
                    machine.metric_started(period=PERIOD, statistic="Sum"),
                    machine.metric_succeeded(period=PERIOD, statistic="Sum"),
                    machine.metric_failed(period=PERIOD, statistic="Sum"),
                ],
                width=12,
            ),
            cw.GraphWidget(
                title="Worker invocations, errors, throttles",
                left=[
                    worker.metric_invocations(period=PERIOD, statistic="Sum"),
                    worker.metric_errors(period=PERIOD, statistic="Sum"),
                    worker.metric_throttles(period=PERIOD, statistic="Sum"),
                ],
                width=12,
            ),
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(
                title="Worker duration (ms)",
                left=[
                    worker.metric_duration(period=PERIOD, statistic="p50", label="p50"),
                    worker.metric_duration(period=PERIOD, statistic="Maximum", label="max"),
                ],
                width=12,
            ),
            cw.GraphWidget(
                title="Worker concurrent executions",
                left=[worker.metric("ConcurrentExecutions", period=PERIOD, statistic="Maximum")],
                width=12,
            ),
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(
                title="Rows and objects scored",
                left=[self._worker_metric(name) for name in ROW_METRICS],
                right=[self._worker_metric(name) for name in OBJECT_METRICS],
                width=12,
            ),
            cw.AlarmStatusWidget(title="Alarms", alarms=self.alarms, width=12),
        )

    @staticmethod
    def _worker_metric(name: str) -> cw.Metric:
        return cw.Metric(
            namespace=contract.METRIC_NAMESPACE,
            metric_name=name,
            dimensions_map={"service": contract.BATCH_SERVICE_NAME},
            statistic="Sum",
            period=PERIOD,
        )

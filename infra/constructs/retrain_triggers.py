"""What starts a retrain besides a person: a schedule, and new data under data/ (config).

Both are EventBridge rules on the default bus that start the workflow with a retrain request
(``torchlambda.lifecycle.events``) naming the trigger. S3 sends the artifacts bucket's events to
EventBridge only where the data trigger is on (the Artifacts stack turns that on from the same
setting).

A start that fails (throttled, say) is retried by EventBridge for a day; one that still fails
raises the FailedInvocations alarm. No dead-letter queue: a retrain request carries nothing a
person needs to replay it, `make retrain` starts the same work.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Duration, Validations
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_events as events_
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.constructs.monitoring import alarm
from infra.settings.lifecycle import LifecycleSettings
from torchlambda import contract
from torchlambda.lifecycle import events


class RetrainTriggers(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment_name: str,
        lifecycle: LifecycleSettings,
        bucket: s3.IBucket,
        state_machine: sfn.IStateMachine,
        topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        self.rules: list[events_.Rule] = []
        if lifecycle.schedule is not None:
            self.rules.append(
                events_.Rule(
                    self,
                    "Schedule",
                    description=f"Retrains the model on a schedule ({environment_name})",
                    schedule=events_.Schedule.expression(lifecycle.schedule),
                    targets=[
                        targets.SfnStateMachine(
                            state_machine,
                            input=events_.RuleTargetInput.from_object(
                                {events.TRIGGER: events.SCHEDULE}
                            ),
                        )
                    ],
                )
            )
        if lifecycle.retrain_on_new_data:
            self.rules.append(
                events_.Rule(
                    self,
                    "NewData",
                    description=f"Retrains the model when training data lands ({environment_name})",
                    event_pattern=events_.EventPattern(
                        source=["aws.s3"],
                        detail_type=["Object Created"],
                        detail={
                            "bucket": {"name": [bucket.bucket_name]},
                            "object": {"key": [{"prefix": contract.DATA_PREFIX}]},
                        },
                    ),
                    targets=[
                        targets.SfnStateMachine(
                            state_machine,
                            input=events_.RuleTargetInput.from_object(
                                {
                                    events.TRIGGER: events.DATA,
                                    events.KEY: events_.EventField.from_path("$.detail.object.key"),
                                }
                            ),
                        )
                    ],
                )
            )
        for rule in self.rules:
            Validations.of(rule).acknowledge(
                Acknowledgment(
                    id="Serverless-EventBusDLQ",
                    reason="A retrain request carries nothing to replay: a start EventBridge "
                    "cannot deliver within its day of retries raises the FailedInvocations "
                    "alarm, and `make retrain` starts the same work.",
                )
            )
            alarm(
                self,
                f"{rule.node.id}FailedInvocations",
                cw.Metric(
                    namespace="AWS/Events",
                    metric_name="FailedInvocations",
                    dimensions_map={"RuleName": rule.rule_name},
                    period=Duration.minutes(5),
                    statistic="Sum",
                ),
                topic=topic,
                threshold=1,
                description=f"EventBridge could not start a retrain ({rule.node.id} trigger).",
            )

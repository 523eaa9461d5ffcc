"""The model lifecycle of one environment: the retrain workflow, its two functions, its triggers.

The functions run the image the Serving stack builds (one asset, other CMDs); Train runs the
Training stack's project; notifications go to the Serving stack's alarm topic.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, Stack
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.config import EnvironmentConfig
from infra.constructs.lifecycle_functions import Evaluator, Promoter
from infra.constructs.model_artifacts import artifacts_bucket_name
from infra.constructs.monitoring import alarm
from infra.constructs.retrain_triggers import RetrainTriggers
from infra.constructs.retrain_workflow import RetrainWorkflow
from infra.outputs import LifecycleOutput
from infra.stacks.publishing import publish_outputs


class LifecycleStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        training_project: codebuild.IProject,
        alarm_topic: sns.ITopic,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        bucket = s3.Bucket.from_bucket_name(self, "Artifacts", artifacts_bucket_name(config.name))
        base_image_uri = config.function.image.uri(config.region)
        self.evaluator = Evaluator(
            self,
            "Evaluator",
            environment_name=config.name,
            function=config.function,
            lifecycle=config.lifecycle,
            retention=config.retention,
            base_image_uri=base_image_uri,
            bucket=bucket,
        )
        self.promoter = Promoter(
            self,
            "Promoter",
            environment_name=config.name,
            function=config.function,
            retention=config.retention,
            base_image_uri=base_image_uri,
            bucket=bucket,
        )
        self.workflow = RetrainWorkflow(
            self,
            "Retrain",
            environment_name=config.name,
            lifecycle=config.lifecycle,
            retention=config.retention,
            training_project=training_project,
            evaluator=self.evaluator.function,
            promoter=self.promoter.function,
            topic=alarm_topic,
        )
        self.triggers = RetrainTriggers(
            self,
            "Triggers",
            environment_name=config.name,
            lifecycle=config.lifecycle,
            bucket=bucket,
            state_machine=self.workflow.state_machine,
            topic=alarm_topic,
        )
        # The workflow notifies its own failures; these end without a word from it.
        machine = self.workflow.state_machine
        self.alarms = [
            alarm(
                self,
                name,
                metric,
                topic=alarm_topic,
                threshold=1,
                description=description,
            )
            for name, metric, description in (
                (
                    "RetrainTimedOut",
                    machine.metric_timed_out(period=Duration.minutes(5), statistic="Sum"),
                    "A retrain execution timed out (its build ran past the workflow's timeout).",
                ),
                (
                    "RetrainAborted",
                    machine.metric_aborted(period=Duration.minutes(5), statistic="Sum"),
                    "A retrain execution was stopped before it decided.",
                ),
            )
        ]
        self.outputs = publish_outputs(
            self,
            {
                LifecycleOutput.STATE_MACHINE_ARN: (
                    machine.state_machine_arn,
                    "Retrain workflow: train, evaluate, gate, promote (make retrain)",
                ),
            },
        )

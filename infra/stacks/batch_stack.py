"""Batch scoring for one environment: the worker and job functions, the state machine, monitoring.

The workers run the image the Serving stack builds (one asset, another CMD) and read and write the
artifacts bucket's batch/ prefixes; alarms go to the Serving stack's alarm topic.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.config import EnvironmentConfig
from infra.constructs.batch_functions import BatchJobFunction, BatchWorker
from infra.constructs.batch_job import BatchJob
from infra.constructs.batch_monitoring import BatchMonitoring, BatchResources
from infra.constructs.model_artifacts import artifacts_bucket_name
from infra.constructs.model_binding import ModelBinding, ModelMount
from infra.model_version import source_model_version
from infra.outputs import BatchOutput
from infra.stacks.publishing import publish_outputs


class BatchStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        alarm_topic: sns.ITopic,
        model_mount: ModelMount | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        bucket = s3.Bucket.from_bucket_name(self, "Artifacts", artifacts_bucket_name(config.name))
        base_image_uri = config.function.image.uri(config.region)
        self.worker = BatchWorker(
            self,
            "Worker",
            environment_name=config.name,
            function=config.function,
            batch=config.batch,
            retention=config.retention,
            base_image_uri=base_image_uri,
            bucket=bucket,
            model=ModelBinding(
                environment_name=config.name,
                function=config.function,
                source=config.model_source,
                bucket=bucket,
                mount=model_mount,
            ),
        )
        self.job_function = BatchJobFunction(
            self,
            "JobFunction",
            environment_name=config.name,
            function=config.function,
            batch=config.batch,
            retention=config.retention,
            base_image_uri=base_image_uri,
            bucket=bucket,
        )
        self.job = BatchJob(
            self,
            "Job",
            environment_name=config.name,
            batch=config.batch,
            retention=config.retention,
            bucket=bucket,
            job_function=self.job_function.function,
            worker_function=self.worker.function,
        )
        self.monitoring = BatchMonitoring(
            self,
            "Monitoring",
            topic=alarm_topic,
            resources=BatchResources(
                state_machine=self.job.state_machine, worker=self.worker.function
            ),
        )
        self.outputs = publish_outputs(
            self,
            {
                BatchOutput.STATE_MACHINE_ARN: (
                    self.job.state_machine.state_machine_arn,
                    "Batch scoring state machine: start one execution per job",
                ),
                BatchOutput.MODEL_VERSION: (
                    source_model_version(config.model_source),
                    "Version of the model the batch workers load",
                ),
                BatchOutput.WORKER_FUNCTION_NAME: (
                    self.worker.function.function_name,
                    "Batch scoring worker function",
                ),
                BatchOutput.DASHBOARD_URL: (
                    self.monitoring.dashboard_url,
                    "CloudWatch dashboard for batch scoring",
                ),
            },
        )

"""The batch job's two functions, both the inference image with another CMD (docs/batch.md).

The worker scores the objects of one Map item batch: its own reservation, no alias and no
provisioned concurrency (nothing waits on a cold start here, and the online alias's warm capacity
stays with the API). The job function validates a job (writes its manifest) and summarizes it.
Each role is written out by hand: the objects each one reads and writes, its own log group.
"""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.constructs.image_function import ImageFunction
from infra.constructs.model_artifacts import bucket_arn_text
from infra.constructs.model_binding import ModelBinding
from infra.settings.batch import BatchSettings
from infra.settings.function import FunctionSettings
from infra.settings.retention import RetentionSettings
from torchlambda import contract

# What the functions may touch below the bucket (docs/batch.md): the inputs, and the jobs' own
# prefix batch/out/<job id>/ (`*` for the job id, which exists only at run time).
INPUT_OBJECTS = f"{contract.BATCH_INPUT_PREFIX}*"
JOB_OBJECTS = f"{contract.BATCH_OUTPUT_PREFIX}*"
SYNCHRONOUS_ONLY = (
    "Invoked synchronously by the batch state machine only, which retries and records every "
    "failure (the Map's failed items, the execution's error); there is no asynchronous event to "
    "park in a queue."
)


class BatchWorker(ImageFunction):
    """Scores the objects of one item batch: reads batch/in/, writes predictions and errors."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment_name: str,
        function: FunctionSettings,
        batch: BatchSettings,
        retention: RetentionSettings,
        base_image_uri: str,
        bucket: s3.IBucket,
        model: ModelBinding,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            description=f"batch scoring worker ({environment_name})",
            cmd=contract.BATCH_WORKER_HANDLER,
            function=function,
            base_image_uri=base_image_uri,
            memory_mb=batch.worker_memory_mb,
            timeout_seconds=batch.worker_timeout_seconds,
            reserved_concurrency=batch.worker_reserved_concurrency,
            retention=retention,
            environment={
                **model.environment(),
                contract.ENV_SERVICE_NAME: contract.BATCH_SERVICE_NAME,
                contract.ENV_METRIC_NAMESPACE: contract.METRIC_NAMESPACE,
                contract.ENV_ARTIFACTS_BUCKET: bucket.bucket_name,
            },
            dlq_reason=SYNCHRONOUS_ONLY,
            props_for_role=model.function_props,
        )
        model.grant_read(self.role)
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject"], resources=[bucket.arn_for_objects(INPUT_OBJECTS)]
            )
        )
        # Predictions, rejected rows and reports, streamed (multipart): an upload that fails must
        # be aborted, so it stops costing storage at once.
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject", "s3:AbortMultipartUpload"],
                resources=[bucket.arn_for_objects(JOB_OBJECTS)],
            )
        )
        arn = bucket_arn_text(self, environment_name)
        self.acknowledge_findings(
            {
                f"Resource::{arn}/{INPUT_OBJECTS}": "Reads the objects to score: any key under "
                "batch/in/, named by whoever uploads it (the job's manifest lists which).",
                f"Resource::{arn}/{JOB_OBJECTS}": "Writes each object's predictions, rejected "
                "rows and report under its job's prefix batch/out/<job id>/; job ids exist only "
                "at run time.",
            }
        )


class BatchJobFunction(ImageFunction):
    """Validates a job (lists its input, writes the manifest) and summarizes it."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment_name: str,
        function: FunctionSettings,
        batch: BatchSettings,
        retention: RetentionSettings,
        base_image_uri: str,
        bucket: s3.IBucket,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            description=f"batch job validation and summary ({environment_name})",
            cmd=contract.BATCH_JOB_HANDLER,
            function=function,
            base_image_uri=base_image_uri,
            memory_mb=batch.job_memory_mb,
            timeout_seconds=batch.job_timeout_seconds,
            reserved_concurrency=None,
            retention=retention,
            environment={
                contract.ENV_SERVICE_NAME: contract.BATCH_SERVICE_NAME,
                contract.ENV_ARTIFACTS_BUCKET: bucket.bucket_name,
                contract.ENV_TOLERATED_FAILURE_PERCENTAGE: str(batch.tolerated_failure_percentage),
            },
            dlq_reason=SYNCHRONOUS_ONLY,
        )
        # Lists a job's input (validate) and its Map results (summarize), nothing else.
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [INPUT_OBJECTS, JOB_OBJECTS]}},
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:PutObject"],
                resources=[bucket.arn_for_objects(JOB_OBJECTS)],
            )
        )
        arn = bucket_arn_text(self, environment_name)
        self.acknowledge_findings(
            {
                f"Resource::{arn}/{JOB_OBJECTS}": "Writes a job's manifest and summary, reads "
                "its Map results and object reports, all under batch/out/<job id>/; job ids "
                "exist only at run time.",
            }
        )

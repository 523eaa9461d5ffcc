"""The retrain workflow's two functions, both the inference image with another CMD
(docs/lifecycle.md).

The evaluator scores a candidate and the champion on the same rows and writes the candidate's
evaluation.json; the promoter moves champion.json. Each role is written out by hand: what each
reads and writes below the environment's models/<env>/ prefix (and the holdout, when the
evaluation set is one), with S3's conditional-write keys, so neither can overwrite anything but
the one pointer it owns.
"""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.constructs.image_function import ImageFunction
from infra.constructs.model_artifacts import bucket_arn_text
from infra.settings.function import FunctionSettings
from infra.settings.lifecycle import LifecycleSettings
from infra.settings.retention import RetentionSettings
from torchlambda import contract

SYNCHRONOUS_ONLY = (
    "Invoked synchronously by the retrain state machine only, which catches every failure, "
    "notifies the alarm topic with its cause and fails the execution; there is no asynchronous "
    "event to park in a queue."
)
PROMOTER_MEMORY_MB = 512  # reads a card and writes a pointer: no model is loaded
PROMOTER_TIMEOUT_S = 60


def _builds(environment_name: str) -> str:
    """Every object below the environment's models/<env>/: builds exist only at run time."""
    return contract.environment_models_prefix(environment_name) + "*"


class _LifecycleFunction(ImageFunction):
    """An image function reading this environment's models: the two share this much."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        description: str,
        cmd: str,
        environment_name: str,
        function: FunctionSettings,
        base_image_uri: str,
        memory_mb: int,
        timeout_seconds: int,
        retention: RetentionSettings,
        bucket: s3.IBucket,
        extra_environment: dict[str, str],
        readable_keys: list[str],
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            description=f"{description} ({environment_name})",
            cmd=cmd,
            function=function,
            base_image_uri=base_image_uri,
            memory_mb=memory_mb,
            timeout_seconds=timeout_seconds,
            reserved_concurrency=None,
            retention=retention,
            environment={
                contract.ENV_SERVICE_NAME: contract.LIFECYCLE_SERVICE_NAME,
                contract.ENV_ARTIFACTS_BUCKET: bucket.bucket_name,
                contract.ENV_ENVIRONMENT_NAME: environment_name,
                **extra_environment,
            },
            dlq_reason=SYNCHRONOUS_ONLY,
        )
        self.builds = _builds(environment_name)
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject"],
                resources=[bucket.arn_for_objects(self.builds)]
                + [bucket.arn_for_objects(key) for key in readable_keys],
            )
        )
        # Listing tells a missing object (an error that says what to do) from a forbidden one.
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [self.builds, *readable_keys]}},
            )
        )
        self.bucket_arn = bucket_arn_text(self, environment_name)


class Evaluator(_LifecycleFunction):
    """Scores the candidate and the champion on the evaluation set; writes evaluation.json."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment_name: str,
        function: FunctionSettings,
        lifecycle: LifecycleSettings,
        retention: RetentionSettings,
        base_image_uri: str,
        bucket: s3.IBucket,
    ) -> None:
        holdout = [lifecycle.evaluation_set] if lifecycle.evaluates_on_holdout else []
        super().__init__(
            scope,
            construct_id,
            description="candidate evaluator of the retrain workflow",
            cmd=contract.EVALUATE_HANDLER,
            environment_name=environment_name,
            function=function,
            base_image_uri=base_image_uri,
            memory_mb=lifecycle.evaluator_memory_mb,
            timeout_seconds=lifecycle.evaluator_timeout_seconds,
            retention=retention,
            bucket=bucket,
            extra_environment={contract.ENV_EVALUATION_SET: lifecycle.evaluation_set},
            readable_keys=holdout,
        )
        evaluations = contract.evaluation_key(environment_name, "*")
        # Create-only: an evaluation, once written, is the record of that decision.
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject"],
                resources=[bucket.arn_for_objects(evaluations)],
                conditions={"StringEquals": {"s3:if-none-match": "*"}},
            )
        )
        self.acknowledge_findings(
            {
                f"Resource::{self.bucket_arn}/{self.builds}": "Reads the candidate's and the "
                "champion's files and champion.json below this environment's models/<env>/ "
                "prefix; build ids exist only at run time.",
                f"Resource::{self.bucket_arn}/{evaluations}": "Creates (If-None-Match: never "
                "replaces) the candidate's evaluation.json; build ids exist only at run time.",
            }
        )


class Promoter(_LifecycleFunction):
    """Moves champion.json to the evaluated candidate, only if it is still what was evaluated."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment_name: str,
        function: FunctionSettings,
        retention: RetentionSettings,
        base_image_uri: str,
        bucket: s3.IBucket,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            description="champion promoter of the retrain workflow",
            cmd=contract.PROMOTE_HANDLER,
            environment_name=environment_name,
            function=function,
            base_image_uri=base_image_uri,
            memory_mb=PROMOTER_MEMORY_MB,
            timeout_seconds=PROMOTER_TIMEOUT_S,
            retention=retention,
            bucket=bucket,
            extra_environment={},
            readable_keys=[],
        )
        champion = bucket.arn_for_objects(contract.champion_key(environment_name))
        # The first champion is created (If-None-Match: *); every later one replaces exactly the
        # version that was evaluated against (If-Match): two promotions cannot both win.
        for condition in (
            {"StringEquals": {"s3:if-none-match": "*"}},
            {"Null": {"s3:if-match": "false"}},
        ):
            self.role.add_to_policy(
                iam.PolicyStatement(
                    actions=["s3:PutObject"], resources=[champion], conditions=condition
                )
            )
        self.acknowledge_findings(
            {
                f"Resource::{self.bucket_arn}/{self.builds}": "Reads the candidate's card and "
                "champion.json below this environment's models/<env>/ prefix; build ids exist "
                "only at run time.",
            }
        )

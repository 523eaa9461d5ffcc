"""The batch job: a Standard state machine that validates, fans out over workers, and summarizes.

    Prepare -> Validate -> ScoreObjects -> Summarize -> Verdict -> JobSucceeded | JobFailed
                  |            |  (any error, as map_error)
               InvalidJob      +-----------> Summarize

Every payload is built from the field names in ``torchlambda.batch.events``, which the functions
parse, and the S3 keys from ``torchlambda.contract`` (docs/batch.md). The Map reads the manifest
validate wrote (one JSON line per object), hands the workers item batches with the job's id, and
writes its results below the job's ``map/`` prefix. Its children are Standard executions: a
worker may run the full 15 minutes Lambda allows, while an Express child stops at 5 and may run
an item more than once.

The role is written out by hand (the CDK's own grants for the reader and the writer cover the
whole bucket): the two functions, the manifests, the result prefixes, the child executions of its
own Map, log delivery and X-Ray.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Arn, ArnComponents, ArnFormat, Aws, Duration, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra.constructs.model_artifacts import bucket_arn_text
from infra.constructs.retention import log_group
from infra.constructs.state_machines import (
    LAMBDA_TRANSIENT_ERRORS,
    LOG_DELIVERY_ACTIONS,
    XRAY_ACTIONS,
)
from infra.settings.batch import BatchSettings
from infra.settings.retention import RetentionSettings
from torchlambda import contract
from torchlambda.batch import events

DISTRIBUTED_MAP_POLICY = "DistributedMapPolicy"  # the CDK's child of a state machine with a Map
MAP_LABEL = "ScoreObjects"  # the Map state's name and label: its child executions carry it
MANIFESTS = contract.batch_manifest_key("*")
MAP_RESULTS = contract.batch_results_prefix("*") + "*"


def field(*names: str) -> str:
    """The JSONPath of a field of the state's input: field("job", "job_id") is $.job.job_id."""
    return "$." + ".".join(names)


class BatchJob(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment_name: str,
        batch: BatchSettings,
        retention: RetentionSettings,
        bucket: s3.IBucket,
        job_function: lambda_.IFunction,
        worker_function: lambda_.IFunction,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = log_group(self, "Logs", retention)
        # A fixed name: the role names the Map's child executions without referring to the state
        # machine itself (which depends on the role).
        self.state_machine_name = Stack.of(self).stack_name
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("states.amazonaws.com"),
            description=f"Execution role of the batch job state machine ({environment_name})",
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=self.state_machine_name,
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_chainable(
                self._definition(batch, bucket, job_function, worker_function)
            ),
            comment=f"Batch scoring: validate, score every object, summarize ({environment_name})",
            logs=sfn.LogOptions(
                destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=False
            ),
            tracing_enabled=True,
            # The CDK's grants are dropped; _grant writes out each statement the role gets.
            role=self.role.without_policy_updates(),
        )
        # The CDK's own Distributed Map policy (StartExecution on this state machine, its
        # executions) cannot attach to a role without policy updates and never deploys; _grant
        # gives the role the same, narrowed to the Map's children.
        self.state_machine.node.try_remove_child(DISTRIBUTED_MAP_POLICY)
        self._grant(bucket, [job_function, worker_function])
        self._acknowledge_findings(environment_name)

    def _definition(
        self,
        batch: BatchSettings,
        bucket: s3.IBucket,
        job_function: lambda_.IFunction,
        worker_function: lambda_.IFunction,
    ) -> sfn.IChainable:
        prepare = sfn.Pass(
            self,
            "Prepare",
            comment="Keep the request; no Map error until one is caught",
            parameters={events.REQUEST: sfn.JsonPath.entire_payload, events.MAP_ERROR: {}},
        )
        validate = tasks.LambdaInvoke(
            self,
            "Validate",
            comment="List the input, write the manifest; answers the job",
            lambda_function=job_function,
            payload=sfn.TaskInput.from_object(
                {
                    events.STEP: events.VALIDATE,
                    events.REQUEST: sfn.JsonPath.object_at(field(events.REQUEST)),
                    events.JOB_ID: sfn.JsonPath.execution_name,
                }
            ),
            payload_response_only=True,
            result_path=field(events.JOB),
        )
        invalid = sfn.Fail(
            self,
            "InvalidJob",
            comment="Validate refused the request (or could not run)",
            error_path=field("validate_error", "Error"),
            cause_path=field("validate_error", "Cause"),
        )
        validate.add_catch(invalid, errors=[sfn.Errors.ALL], result_path=field("validate_error"))

        score = sfn.DistributedMap(
            self,
            MAP_LABEL,
            comment="Score each object of the manifest on a worker",
            label=MAP_LABEL,
            map_execution_type=sfn.StateMachineType.STANDARD,
            item_reader=sfn.S3JsonLItemReader(
                bucket=bucket, key=sfn.JsonPath.string_at(field(events.JOB, events.MANIFEST_KEY))
            ),
            item_batcher=sfn.ItemBatcher(
                max_items_per_batch=batch.max_items_per_batch,
                # Rendered as given (no JsonPath tokens here): the `.$` key makes it a path.
                batch_input={f"{events.JOB_ID}.$": field(events.JOB, events.JOB_ID)},
            ),
            max_concurrency=batch.max_concurrency,
            tolerated_failure_percentage=batch.tolerated_failure_percentage,
            result_writer_v2=sfn.ResultWriterV2(
                bucket=bucket,
                # A reference path (validate answers it): ResultWriter's Parameters take paths.
                prefix=sfn.JsonPath.string_at(field(events.JOB, events.RESULTS_PREFIX)),
            ),
            result_path="$.map",
        )
        worker = tasks.LambdaInvoke(
            self,
            "ScoreBatch",
            comment="Score the batch's objects; answers one report per object",
            lambda_function=worker_function,
            payload_response_only=True,
            retry_on_service_exceptions=False,
        )
        worker.add_retry(
            errors=LAMBDA_TRANSIENT_ERRORS,
            interval=Duration.seconds(2),
            max_attempts=6,
            backoff_rate=2,
            max_delay=Duration.seconds(60),
            jitter_strategy=sfn.JitterType.FULL,
        )
        score.item_processor(worker)

        summarize = tasks.LambdaInvoke(
            self,
            "Summarize",
            comment="Count the job's objects and rows, write summary.json; answers the verdict",
            lambda_function=job_function,
            payload=sfn.TaskInput.from_object(
                {
                    events.STEP: events.SUMMARIZE,
                    events.JOB: sfn.JsonPath.object_at(field(events.JOB)),
                    events.STARTED_AT: sfn.JsonPath.string_at("$$.Execution.StartTime"),
                    events.MAP_ERROR: sfn.JsonPath.object_at(field(events.MAP_ERROR)),
                }
            ),
            payload_response_only=True,
            result_path="$.verdict",
        )
        score.add_catch(summarize, errors=[sfn.Errors.ALL], result_path=field(events.MAP_ERROR))

        verdict = (
            sfn.Choice(self, "Verdict")
            .when(
                sfn.Condition.string_equals(field("verdict", events.STATUS), events.SUCCEEDED),
                sfn.Succeed(self, "JobSucceeded"),
            )
            .otherwise(
                sfn.Fail(
                    self,
                    "JobFailed",
                    comment="The summary is written; it says why",
                    error_path=field("verdict", events.ERROR),
                    cause_path=field("verdict", events.CAUSE),
                )
            )
        )
        return prepare.next(validate).next(score).next(summarize).next(verdict)

    def _execution_arn(self, name: str) -> str:
        stack = Stack.of(self)
        return Arn.format(
            ArnComponents(
                service="states",
                resource="execution",
                resource_name=name,
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
                account=Aws.ACCOUNT_ID,
                region=Aws.REGION,
                partition=stack.partition,
            ),
            stack,
        )

    def _grant(self, bucket: s3.IBucket, functions: list[lambda_.IFunction]) -> None:
        statements = [
            # Unqualified invocations only: no versions, no aliases.
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"],
                resources=[function.function_arn for function in functions],
            ),
            # The item reader reads each job's manifest, nothing else.
            iam.PolicyStatement(
                actions=["s3:GetObject"], resources=[bucket.arn_for_objects(MANIFESTS)]
            ),
            # The result writer (multipart) below each job's map/ prefix only.
            iam.PolicyStatement(
                actions=[
                    "s3:PutObject",
                    "s3:GetObject",
                    "s3:ListMultipartUploadParts",
                    "s3:AbortMultipartUpload",
                ],
                resources=[bucket.arn_for_objects(MAP_RESULTS)],
            ),
            # The Distributed Map runs its children as executions of this state machine.
            iam.PolicyStatement(
                actions=["states:StartExecution"],
                resources=[
                    Stack.of(self).format_arn(
                        service="states",
                        resource="stateMachine",
                        resource_name=self.state_machine_name,
                        arn_format=ArnFormat.COLON_RESOURCE_NAME,
                        account=Aws.ACCOUNT_ID,
                        region=Aws.REGION,
                    )
                ],
            ),
            iam.PolicyStatement(
                actions=[
                    "states:DescribeExecution",
                    "states:StopExecution",
                    "states:RedriveExecution",
                ],
                resources=[self._execution_arn(f"{self.state_machine_name}/{MAP_LABEL}:*")],
            ),
            iam.PolicyStatement(actions=LOG_DELIVERY_ACTIONS, resources=["*"]),
            iam.PolicyStatement(actions=XRAY_ACTIONS, resources=["*"]),
        ]
        for statement in statements:
            self.role.add_to_principal_policy(statement)

    def _acknowledge_findings(self, environment_name: str) -> None:
        bucket = bucket_arn_text(self, environment_name)
        partition = Stack.of(self).partition
        child_executions = (
            f"arn:{partition}:states:<AWS::Region>:<AWS::AccountId>:execution:"
            f"{self.state_machine_name}/{MAP_LABEL}:*"
        )
        findings = {
            "Resource::*": "CloudWatch Logs' log delivery actions (the execution log) and X-Ray's "
            "trace and sampling actions support no resource-level permissions.",
            f"Resource::{bucket}/{MANIFESTS}": "The Map's item reader reads the manifest of the "
            "running job; job ids (execution names) exist only at run time.",
            f"Resource::{bucket}/{MAP_RESULTS}": "The Map's result writer writes below the "
            "running job's map/ prefix only; job ids exist only at run time.",
            f"Resource::{child_executions}": "Describes, stops and redrives the child executions "
            "of this state machine's own Map, whose ids exist only at run time.",
        }
        policy = self.role.node.find_child("DefaultPolicy")
        for finding, reason in findings.items():
            Validations.of(policy).acknowledge(
                Acknowledgment(id=f"AwsSolutions-IAM5[{finding}]", reason=reason)
            )

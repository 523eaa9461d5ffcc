"""The retrain workflow: a Standard state machine that trains, evaluates, gates and promotes.

    Train -> Evaluate -> Gate -+-> Promote -> Announce -> NotifyPromoted -> Promoted
                               +-> RejectAboveMax ------+-> NotifyRejected -> Rejected
                               +-> RejectNoImprovement -+
    (a failure of any task) -> NotifyFailure -> RetrainFailed

Every payload is built from the field names in ``torchlambda.lifecycle.events`` and the Gate from
the environment's ``Gate`` (``torchlambda.lifecycle.gate``), whose ``judge`` makes the same
comparisons in the same order for `make promote` (docs/lifecycle.md). Train runs the environment's
training project to completion; the build publishes the candidate as every build does, and its
id names it. Promotion is a conditional write by the promoter, then an event on the default bus
(the delivery pipeline starts on dev's) and a notification on the alarm topic with both models'
metrics; a rejection notifies too.

The role is written out by hand (the CDK's Lambda grants add every version and alias of each
function): the training project, the rule Step Functions keeps for a build's completion, the two
functions unqualified, the default bus, the alarm topic and its key, log delivery and X-Ray.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Duration, Stack, Validations
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra.constructs.retention import log_group
from infra.constructs.state_machines import (
    LAMBDA_TRANSIENT_ERRORS,
    LOG_DELIVERY_ACTIONS,
    XRAY_ACTIONS,
)
from infra.settings.lifecycle import LifecycleSettings
from infra.settings.retention import RetentionSettings
from torchlambda import contract
from torchlambda.lifecycle import events
from torchlambda.lifecycle.gate import Gate

# Transient errors of the two services the workflow calls, retried with jittered backoff. A
# failed build is not among them: training is deterministic, a second run would fail the same.
CODEBUILD_TRANSIENT_ERRORS = [
    "CodeBuild.AccountLimitExceededException",  # too many concurrent builds
    "CodeBuild.AWSCodeBuildException",  # CodeBuild's own throttling and service errors
]
# After Train: evaluating, promoting and notifying take minutes at most.
AFTER_TRAINING = Duration.hours(1)
# The managed rule through which Step Functions learns that a build it started has ended.
CODEBUILD_SYNC_RULE = "StepFunctionsGetEventForCodeBuildStartBuildRule"


def path(*names: str) -> str:
    """The JSONPath of a field of the state: path("evaluation", "summary")."""
    return "$." + ".".join(names)


class RetrainWorkflow(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment_name: str,
        lifecycle: LifecycleSettings,
        retention: RetentionSettings,
        training_project: codebuild.IProject,
        evaluator: lambda_.IFunction,
        promoter: lambda_.IFunction,
        topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        self.environment_name = environment_name
        self.topic = topic
        self.log_group = log_group(self, "Logs", retention)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("states.amazonaws.com"),
            description=f"Execution role of the retrain state machine ({environment_name})",
        )
        training_timeout = Duration.minutes(lifecycle.training_timeout_minutes)
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_chainable(
                self._definition(
                    lifecycle.gate, training_project, training_timeout, evaluator, promoter
                )
            ),
            comment=f"Retrain, evaluate, gate and promote the model ({environment_name})",
            timeout=training_timeout.plus(AFTER_TRAINING),
            logs=sfn.LogOptions(
                destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=False
            ),
            tracing_enabled=True,
            # The CDK's grants are dropped; _grant writes out each statement the role gets.
            role=self.role.without_policy_updates(),
        )
        self._grant(training_project, [evaluator, promoter], topic)
        self._acknowledge_findings()

    def _definition(
        self,
        gate: Gate,
        training_project: codebuild.IProject,
        training_timeout: Duration,
        evaluator: lambda_.IFunction,
        promoter: lambda_.IFunction,
    ) -> sfn.IChainable:
        failure = self._notify(
            "NotifyFailure",
            "retrain failed: {} ({})",
            path(events.ERROR, "Error"),
            path(events.ERROR, "Cause"),
        ).next(
            sfn.Fail(
                self,
                "RetrainFailed",
                comment="Notified; the error and cause are the failed state's",
                error_path=path(events.ERROR, "Error"),
                cause_path=path(events.ERROR, "Cause"),
            )
        )

        train = tasks.CodeBuildStartBuild(
            self,
            "Train",
            comment="Train and publish a candidate in the training project; wait for the build",
            project=training_project,
            integration_pattern=sfn.IntegrationPattern.RUN_JOB,
            result_selector={events.BUILD_ID: sfn.JsonPath.string_at("$.Build.Id")},
            result_path=path(events.TRAINING),
            task_timeout=sfn.Timeout.duration(training_timeout),
        )
        train.add_retry(
            errors=CODEBUILD_TRANSIENT_ERRORS,
            interval=Duration.seconds(30),
            max_attempts=4,
            backoff_rate=2,
            jitter_strategy=sfn.JitterType.FULL,
        )
        evaluate = self._invoke(
            "Evaluate",
            "Score the candidate and the champion on the same rows; write evaluation.json",
            evaluator,
            {events.BUILD_ID: sfn.JsonPath.string_at(path(events.TRAINING, events.BUILD_ID))},
            result_path=path(events.EVALUATION),
        )
        promote = self._invoke(
            "Promote",
            "Move champion.json to the candidate if it is still what was evaluated against",
            promoter,
            {
                events.EVALUATION: sfn.JsonPath.object_at(path(events.EVALUATION)),
                events.PROMOTED_BY: sfn.JsonPath.execution_id,
            },
            result_path=path(events.CHAMPION),
        )
        announce = tasks.EventBridgePutEvents(
            self,
            "Announce",
            comment="Tell the default event bus (the delivery pipeline listens for dev's)",
            entries=[
                tasks.EventBridgePutEventsEntry(
                    source=contract.LIFECYCLE_EVENT_SOURCE,
                    detail_type=contract.CHAMPION_PROMOTED,
                    detail=sfn.TaskInput.from_object(
                        {
                            **{
                                name: sfn.JsonPath.string_at(path(events.CHAMPION, name))
                                for name in events.ANNOUNCED_CHAMPION_FIELDS
                            },
                            events.SUMMARY: sfn.JsonPath.string_at(
                                path(events.EVALUATION, events.SUMMARY)
                            ),
                        }
                    ),
                )
            ],
            result_path=sfn.JsonPath.DISCARD,
        )
        promoted = (
            sfn.Pass(
                self,
                "RecordPromotion",
                parameters={
                    events.STATUS: events.PROMOTED,
                    events.REASON: sfn.JsonPath.format(
                        "promoted build {}",
                        sfn.JsonPath.string_at(path(events.CHAMPION, events.BUILD_ID)),
                    ),
                },
                result_path=path(events.VERDICT),
            )
            .next(
                self._notify(
                    "NotifyPromoted",
                    "candidate promoted: {}",
                    path(events.EVALUATION, events.SUMMARY),
                )
            )
            .next(sfn.Succeed(self, "Promoted"))
        )
        notify_rejected = self._notify(
            "NotifyRejected",
            "candidate rejected, {}: {}",
            path(events.VERDICT, events.REASON),
            path(events.EVALUATION, events.SUMMARY),
        ).next(sfn.Succeed(self, "Rejected", comment="The champion is unchanged"))

        candidate_mse = path(events.EVALUATION, events.CANDIDATE, events.MSE)
        gate_state = (
            sfn.Choice(self, "Gate", comment="Gate.judge's comparisons, in its order")
            .when(
                sfn.Condition.number_greater_than(candidate_mse, gate.max_mse),
                self._reject(
                    "RejectAboveMax",
                    f"candidate MSE {{}} is above the gate's {gate.max_mse:g}",
                    candidate_mse,
                ).next(notify_rejected),
            )
            .when(sfn.Condition.is_null(path(events.EVALUATION, events.CHAMPION)), promote)
            .when(
                sfn.Condition.number_less_than(
                    path(events.EVALUATION, events.IMPROVEMENT), gate.min_relative_improvement
                ),
                self._reject(
                    "RejectNoImprovement",
                    "relative improvement {} is below the gate's "
                    f"{gate.min_relative_improvement:g}",
                    path(events.EVALUATION, events.IMPROVEMENT),
                ).next(notify_rejected),
            )
            .otherwise(promote)
        )
        promote.next(announce).next(promoted)
        for task in (train, evaluate, promote, announce):
            task.add_catch(failure, errors=[sfn.Errors.ALL], result_path=path(events.ERROR))
        return train.next(evaluate).next(gate_state)

    def _grant(
        self,
        training_project: codebuild.IProject,
        functions: list[lambda_.IFunction],
        topic: sns.ITopic,
    ) -> None:
        stack = Stack.of(self)
        statements = [
            iam.PolicyStatement(
                actions=["codebuild:StartBuild", "codebuild:StopBuild", "codebuild:BatchGetBuilds"],
                resources=[training_project.project_arn],
            ),
            iam.PolicyStatement(
                actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                resources=[
                    stack.format_arn(
                        service="events", resource="rule", resource_name=CODEBUILD_SYNC_RULE
                    )
                ],
            ),
            # Unqualified invocations only: no versions, no aliases.
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"],
                resources=[function.function_arn for function in functions],
            ),
            iam.PolicyStatement(
                actions=["events:PutEvents"],
                resources=[
                    stack.format_arn(
                        service="events", resource="event-bus", resource_name="default"
                    )
                ],
            ),
            iam.PolicyStatement(actions=["sns:Publish"], resources=[topic.topic_arn]),
            iam.PolicyStatement(actions=LOG_DELIVERY_ACTIONS, resources=["*"]),
            iam.PolicyStatement(actions=XRAY_ACTIONS, resources=["*"]),
        ]
        if topic.master_key is not None:  # publishing to an encrypted topic uses its key
            statements.append(
                iam.PolicyStatement(
                    actions=["kms:Decrypt", "kms:GenerateDataKey"],
                    resources=[topic.master_key.key_arn],
                )
            )
        for statement in statements:
            self.role.add_to_principal_policy(statement)

    def _acknowledge_findings(self) -> None:
        Validations.of(self.role.node.find_child("DefaultPolicy")).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="CloudWatch Logs' log delivery actions (the execution log) and X-Ray's "
                "trace and sampling actions support no resource-level permissions.",
            )
        )

    def _invoke(
        self,
        state_id: str,
        comment: str,
        function: lambda_.IFunction,
        payload: dict[str, object],
        *,
        result_path: str,
    ) -> tasks.LambdaInvoke:
        task = tasks.LambdaInvoke(
            self,
            state_id,
            comment=comment,
            lambda_function=function,
            payload=sfn.TaskInput.from_object(payload),
            payload_response_only=True,
            retry_on_service_exceptions=False,
            result_path=result_path,
        )
        task.add_retry(
            errors=LAMBDA_TRANSIENT_ERRORS,
            interval=Duration.seconds(2),
            max_attempts=4,
            backoff_rate=2,
            jitter_strategy=sfn.JitterType.FULL,
        )
        return task

    def _reject(self, state_id: str, reason: str, value_path: str) -> sfn.Pass:
        return sfn.Pass(
            self,
            state_id,
            parameters={
                events.STATUS: events.REJECTED,
                events.REASON: sfn.JsonPath.format(reason, sfn.JsonPath.string_at(value_path)),
            },
            result_path=path(events.VERDICT),
        )

    def _notify(self, state_id: str, message: str, *value_paths: str) -> tasks.SnsPublish:
        """One line to the alarm topic, prefixed with the environment."""
        outcome = state_id.removeprefix("Notify").lower()
        return tasks.SnsPublish(
            self,
            state_id,
            topic=self.topic,
            subject=f"TorchLambda {self.environment_name}: retrain {outcome}",
            message=sfn.TaskInput.from_text(
                sfn.JsonPath.format(
                    f"{self.environment_name}: {message}",
                    *(sfn.JsonPath.string_at(value) for value in value_paths),
                )
            ),
            result_path=sfn.JsonPath.DISCARD,
        )

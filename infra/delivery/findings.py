"""cdk-nag's findings on the roles CDK Pipelines makes, each acknowledged on the one policy it
arises in, with its reason.

CDK Pipelines creates these roles and grants inside `build_pipeline()`, and they cannot be
narrowed from outside: a role without policy updates would also lose the artifact grants every
action needs. What they reach is the pipeline's own artifact bucket and key, CodeBuild's log and
report groups, and the CDK bootstrap roles of the pipeline's account. Grants the steps add
themselves (synth, smoke) come with the reasons their own module gives.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Acknowledgment, CfnResource, Stack, Validations, pipelines
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_s3 as s3
from constructs import IConstruct

# The stages CDK Pipelines names itself, before the waves (named after their cdk.Stage).
SOURCE_STAGE, SYNTH_STAGE, SELF_UPDATE_STAGE, ASSETS_STAGE = (
    "Source",
    "Build",
    "UpdatePipeline",
    "Assets",
)

ARTIFACT_READS = (
    "CDK Pipelines' grant on the pipeline's own artifact bucket: the action reads its input "
    "artifacts there."
)
ARTIFACT_WRITES = (
    "CDK Pipelines' grant on the pipeline's own artifact bucket: the action writes its output "
    "artifact there (the source zip, the cloud assembly)."
)
KEY_USE = "CDK grant on the artifact bucket's own key only: the action encrypts what it writes."
PROJECT_LOGS = (
    "CodeBuild's default grant to this project's own log streams and report groups, named after "
    "the project (its logs go to the pipeline's build log group)."
)
SHARED_ASSET_ROLE = (
    "CDK Pipelines' one role for every asset-publishing project of a kind (one project per "
    "asset): their log and report groups are named after projects made as the pipeline is "
    "built, and the role also starts and watches their builds as the actions' role "
    "(codebuild:StartBuild, BatchGetBuilds, StopBuild); ecr:GetAuthorizationToken has no "
    "resource-level permission."
)
SELF_UPDATE_READS = (
    "`cdk deploy` of the pipeline's own stack: cloudformation:DescribeStacks and s3:ListBucket "
    "(CDK Pipelines' statement for its self-update)."
)
SELF_UPDATE_ROLES = (
    "sts:AssumeRole only on the CDK bootstrap roles of the pipeline's account (conditioned on "
    "their aws-cdk:bootstrap-role tag), as `cdk deploy` of the pipeline's own stack needs."
)


def acknowledge(construct: IConstruct, findings: Mapping[str, str]) -> None:
    """AwsSolutions-IAM5 findings (`Action::...`, `Resource::...`) on this policy, with reasons."""
    for finding, reason in findings.items():
        Validations.of(construct).acknowledge(
            Acknowledgment(id=f"AwsSolutions-IAM5[{finding}]", reason=reason)
        )


def default_policy(role: IConstruct | None) -> IConstruct:
    assert role is not None, "every role acknowledged here is one CDK Pipelines made"
    return role.node.find_child("DefaultPolicy")


def logical_id(construct: IConstruct) -> str:
    resource = construct.node.default_child
    assert isinstance(resource, CfnResource)
    return Stack.of(construct).get_logical_id(resource)


class PipelineFindings:
    """The finding ids of CDK Pipelines' grants, as cdk-nag writes them."""

    def __init__(self, pipeline: pipelines.CodePipeline, bucket: s3.IBucket) -> None:
        stack = Stack.of(pipeline)
        self.account = stack.account
        self.arn_head = f"arn:{stack.partition}"
        self.place = f"{stack.region}:{stack.account}"
        self.bucket_objects = f"Resource::<{logical_id(bucket)}.Arn>/*"

    def artifacts(self, *, writes: bool, key: bool) -> dict[str, str]:
        found = {
            "Action::s3:GetObject*": ARTIFACT_READS,
            "Action::s3:GetBucket*": ARTIFACT_READS,
            "Action::s3:List*": ARTIFACT_READS,
            self.bucket_objects: ARTIFACT_WRITES if writes else ARTIFACT_READS,
        }
        if writes:
            found["Action::s3:DeleteObject*"] = ARTIFACT_WRITES
            found["Action::s3:Abort*"] = ARTIFACT_WRITES
        if key:
            found["Action::kms:GenerateDataKey*"] = KEY_USE
            found["Action::kms:ReEncrypt*"] = KEY_USE
        return found

    def project_logs(self, project: codebuild.IProject) -> dict[str, str]:
        name = f"<{logical_id(project)}>"
        return {
            f"Resource::{self.arn_head}:logs:{self.place}:log-group:/aws/codebuild/{name}:*": (
                PROJECT_LOGS
            ),
            f"Resource::{self.arn_head}:codebuild:{self.place}:report-group/{name}-*": (
                PROJECT_LOGS
            ),
        }

    def shared_asset_role(self) -> dict[str, str]:
        return {
            f"Resource::{self.arn_head}:logs:{self.place}:log-group:/aws/codebuild/*": (
                SHARED_ASSET_ROLE
            ),
            f"Resource::{self.arn_head}:codebuild:{self.place}:report-group/*": SHARED_ASSET_ROLE,
            "Resource::*": SHARED_ASSET_ROLE,
        }

    def self_update(self) -> dict[str, str]:
        return {
            f"Resource::arn:*:iam::{self.account}:role/*": SELF_UPDATE_ROLES,
            "Resource::*": SELF_UPDATE_READS,
        }


def acknowledge_pipeline_findings(
    pipeline: pipelines.CodePipeline,
    bucket: s3.IBucket,
    step_findings: Mapping[str, Mapping[str, str]],
) -> None:
    """Every role of the built pipeline: its own, the source action's, and each CodeBuild
    project's. `step_findings`: the findings of a step's own grants, by its pipeline stage."""
    found = PipelineFindings(pipeline, bucket)
    codepipeline = pipeline.pipeline
    acknowledge(default_policy(codepipeline.role), found.artifacts(writes=True, key=True))
    shared_asset_policies: dict[str, IConstruct] = {}
    for stage in codepipeline.stages:
        for action in stage.actions:
            properties = action.action_properties
            if stage.stage_name == SOURCE_STAGE:
                # The pipeline made the action's role in the stage's scope.
                action_role = (
                    codepipeline.node.find_child(SOURCE_STAGE)
                    .node.find_child(properties.action_name)
                    .node.find_child("CodePipelineActionRole")
                )
                acknowledge(default_policy(action_role), found.artifacts(writes=True, key=True))
            project = properties.resource
            if not isinstance(project, codebuild.Project):
                continue  # deployments run with the bootstrap roles; approvals have none
            if stage.stage_name == ASSETS_STAGE:
                policy = default_policy(project.role)
                shared_asset_policies[policy.node.path] = policy
                continue
            findings = found.artifacts(writes=stage.stage_name == SYNTH_STAGE, key=True)
            findings |= found.project_logs(project)
            if stage.stage_name == SELF_UPDATE_STAGE:
                findings |= found.self_update()
            findings |= step_findings.get(stage.stage_name, {})
            acknowledge(default_policy(project.role), findings)
    for policy in shared_asset_policies.values():
        acknowledge(policy, found.artifacts(writes=False, key=False) | found.shared_asset_role())

"""The pipeline's own build steps: the synth (the champion, and any experiment's challenger, in;
the cloud assembly out) and each wave's smoke test. Both run the Makefile's targets, the one front
door, as a person would."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Stack, pipelines
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.constructs.model_artifacts import artifacts_bucket_name
from infra.outputs import Component, ServingOutput
from infra.stage import EnvironmentStage
from torchlambda import contract

SYNTH_OUTPUT = "cdk.out"
API_URL_VARIABLE = "API_URL"


@dataclass(frozen=True)
class Grant:
    """One statement of a step's role, and why any wildcard in its resources is needed."""

    actions: tuple[str, ...]
    resources: tuple[str, ...]
    reason: str = ""

    def statement(self) -> iam.PolicyStatement:
        return iam.PolicyStatement(actions=list(self.actions), resources=list(self.resources))

    def findings(self) -> dict[str, str]:
        """cdk-nag's AwsSolutions-IAM5 finding ids for the wildcards, with the reason."""
        wildcards = [r for r in self.resources if "*" in r]
        assert self.reason or not wildcards, f"say why {self.actions} needs {wildcards}"
        return {f"Resource::{r}": self.reason for r in wildcards}


def findings_of(grants: Sequence[Grant]) -> dict[str, str]:
    return {finding: reason for grant in grants for finding, reason in grant.findings().items()}


def synth_commands(environment: str, experiment_environment: str | None = None) -> list[str]:
    """The champion into lambda_image/model (sha256-verified, as `make fetch-model` does for a
    person), the challenger of the environment running an experiment (if one does) into
    lambda_image/challenger, then the delivery app's synthesis, which bakes both into the one
    image every wave deploys (and pins the challenger it finds)."""
    fetches = [f"make fetch-model ENV={environment} FROM=champion"]
    if experiment_environment is not None:
        # Its config's challenger_build, else its newest build: what `cdk synth` checks for.
        fetches.append(f"make fetch-model ENV={experiment_environment} AS=challenger")
    return [*fetches, "make synth-delivery"]


def experiment_stage(stages: Sequence[EnvironmentStage]) -> EnvironmentStage | None:
    """The environment whose challenger the one image holds (the delivery settings allow one)."""
    return next((stage for stage in stages if stage.config.experiment.enabled), None)


def smoke_command(environment: str) -> str:
    """The contract checks against the URL the wave's stack just published: ENV gives the smoke
    test the environment's region and whether to sign (SigV4 where the API uses IAM auth)."""
    return f'make smoke ENV={environment} URL="${API_URL_VARIABLE}"'


def placement(stage: EnvironmentStage) -> tuple[str, str]:
    """The stage's account and region: both known, as the delivery app gives every stage the
    pipeline's account where its environment names none."""
    assert stage.account and stage.region, f"{stage.stage_name} has no account or region"
    return stage.account, stage.region


def synth_grants(scope: Construct, stages: Sequence[EnvironmentStage]) -> list[Grant]:
    """What the synth step's fetches read: the first environment's champion, and the challenger
    of the environment running an experiment."""
    first, experiment = stages[0], experiment_stage(stages)
    grants = fetch_grants(scope, first)
    if experiment is not None and experiment is not first:
        grants += fetch_grants(scope, experiment)
    return grants


def fetch_grants(scope: Construct, stage: EnvironmentStage) -> list[Grant]:
    """What `make fetch-model ENV=<stage>` reads, in that environment."""
    config = stage.config
    account, region = placement(stage)
    stack = Stack.of(scope)
    bucket = f"arn:{stack.partition}:s3:::" + artifacts_bucket_name(config.name, account, region)
    artifacts_stack = stack.format_arn(
        service="cloudformation",
        account=account,
        region=region,
        resource="stack",
        resource_name=f"{config.stack_name(Component.ARTIFACTS)}/*",
    )
    return [
        Grant(
            ("cloudformation:DescribeStacks",),
            (artifacts_stack,),
            "fetch-model reads the bucket's name from this one stack's outputs; a stack's ARN "
            "ends in an id CloudFormation assigns.",
        ),
        Grant(
            ("s3:GetObject",),
            (f"{bucket}/{contract.environment_models_prefix(config.name)}*",),
            "fetch-model reads a pointer (champion, latest) and the build it names, under this "
            "environment's models/ prefix only: build ids exist only at run time.",
        ),
        # Without it S3 answers a missing key (no champion yet) with 403, not 404, and
        # fetch-model could not say what to do.
        Grant(("s3:ListBucket",), (bucket,)),
    ]


def invoke_grants(scope: Construct, stage: EnvironmentStage) -> list[Grant]:
    """Calls to each contract route of the environment's APIs, where they authorize with IAM."""
    if stage.config.api.auth != "iam":
        return []
    partition = Stack.of(scope).partition
    account, region = placement(stage)
    routes = tuple(
        f"arn:{partition}:execute-api:{region}:{account}:*/*/{r.method}{r.path}"
        for r in contract.ROUTES
    )
    return [
        Grant(
            ("execute-api:Invoke",),
            routes,
            "The smoke test calls each contract route: the API's id (and so its ARN) exists "
            "only once the environment's Serving stack is deployed, and a policy cannot read a "
            "stack output.",
        )
    ]


def synth_step(
    source: pipelines.CodePipelineSource,
    *,
    stages: Sequence[EnvironmentStage],
    grants: Sequence[Grant],
) -> pipelines.CodeBuildStep:
    """Synthesizes the delivery app with the first environment's champion (and the experimenting
    environment's challenger) baked into the image."""
    experiment = experiment_stage(stages)
    return pipelines.CodeBuildStep(
        "Synth",
        input=source,
        commands=synth_commands(
            stages[0].config.name, experiment.config.name if experiment else None
        ),
        primary_output_directory=SYNTH_OUTPUT,
        role_policy_statements=[grant.statement() for grant in grants],
    )


def smoke_step(
    source: pipelines.CodePipelineSource, *, stage: EnvironmentStage, grants: Sequence[Grant]
) -> pipelines.CodeBuildStep:
    """`make smoke` against the URL the wave's Serving stack just published."""
    return pipelines.CodeBuildStep(
        "Smoke",
        input=source,
        commands=[smoke_command(stage.config.name)],
        env_from_cfn_outputs={API_URL_VARIABLE: stage.outputs[ServingOutput.API_URL]},
        role_policy_statements=[grant.statement() for grant in grants],
    )

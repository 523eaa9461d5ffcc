"""The delivery stack: a CDK Pipeline that ships every environment in order, the same image to
each, with the smoke test after every wave and a person's approval before production.

The waves deploy the very `EnvironmentStage`s `cdk deploy` builds from a laptop, stack names
included, so either way updates the same CloudFormation stacks. CDK Pipelines publishes each
asset once per hash: the image, built with the first environment's champion baked in, is the one
every wave deploys.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import pipelines
from constructs import Construct

from infra.config import APP_NAME
from infra.delivery.artifact_store import PipelineArtifacts
from infra.delivery.findings import SYNTH_STAGE, acknowledge_pipeline_findings
from infra.delivery.registry import dlc_docker_credentials
from infra.delivery.steps import (
    findings_of,
    invoke_grants,
    smoke_step,
    synth_grants,
    synth_step,
)
from infra.delivery.trigger import ChampionTrigger
from infra.settings.delivery import DeliverySettings
from infra.stage import EnvironmentStage

DELIVERY_STACK_NAME = f"{APP_NAME}-Delivery"
PACKAGE_JSON = Path(__file__).resolve().parents[2] / "package.json"
# The Makefile's floor (Python 3.11+, Node 20+), pinned on CodeBuild's standard image.
RUNTIME_VERSIONS = {"python": "3.11", "nodejs": "20"}


def pinned_cli_version() -> str:
    """The CDK CLI the repository pins: the pipeline's self-update runs the same one."""
    return str(json.loads(PACKAGE_JSON.read_text())["devDependencies"]["aws-cdk"])


class DeliveryStack(cdk.Stack):
    def __init__(
        self, scope: Construct, *, delivery: DeliverySettings, stages: Sequence[EnvironmentStage]
    ) -> None:
        super().__init__(
            scope,
            DELIVERY_STACK_NAME,
            stack_name=DELIVERY_STACK_NAME,
            description="Delivery pipeline: ships the promoted model dev -> staging -> prod",
            env=cdk.Environment(account=delivery.account, region=delivery.region),
        )
        self.stages = list(stages)
        first = stages[0]  # its champion is what ships; its promotions start the pipeline
        # Deployments into other accounts read artifacts with their own roles: CodePipeline must
        # grant them the artifact key.
        self.cross_account = any(stage.account != self.account for stage in stages)
        self.artifacts = PipelineArtifacts(self, "Artifacts", retention=delivery.retention)
        self.source = pipelines.CodePipelineSource.connection(
            delivery.repository,
            delivery.branch,
            connection_arn=delivery.connection_arn,
            trigger_on_push=True,
        )
        fetch_grants = synth_grants(self, stages)
        self.pipeline = pipelines.CodePipeline(
            self,
            "Pipeline",
            pipeline_name=DELIVERY_STACK_NAME,
            synth=synth_step(self.source, stages=stages, grants=fetch_grants),
            artifact_bucket=self.artifacts.bucket,
            # The artifact bucket's key is customer managed either way, and CodePipeline grants it
            # to the other accounts' roles; the flag also keys any support stack it adds.
            cross_account_keys=self.cross_account,
            docker_credentials=dlc_docker_credentials(self, [stage.config for stage in stages]),
            cli_version=pinned_cli_version(),
            code_build_defaults=pipelines.CodeBuildOptions(
                build_environment=codebuild.BuildEnvironment(
                    build_image=codebuild.LinuxBuildImage.STANDARD_7_0
                ),
                partial_build_spec=codebuild.BuildSpec.from_object(
                    {
                        "version": "0.2",
                        "phases": {"install": {"runtime-versions": RUNTIME_VERSIONS}},
                    }
                ),
                logging=codebuild.LoggingOptions(
                    cloud_watch=codebuild.CloudWatchLoggingOptions(
                        log_group=self.artifacts.build_logs
                    )
                ),
            ),
        )
        step_findings = {SYNTH_STAGE: findings_of(fetch_grants)}
        for stage in stages:
            smoke_grants = invoke_grants(self, stage)
            step_findings[stage.stage_name] = findings_of(smoke_grants)
            self.pipeline.add_stage(
                stage,
                pre=[approval(stage)] if stage.config.is_production else [],
                post=[smoke_step(self.source, stage=stage, grants=smoke_grants)],
            )
        # Built here rather than at synthesis: the trigger targets it, and the acknowledgments
        # need the roles it makes.
        self.pipeline.build_pipeline()
        acknowledge_pipeline_findings(self.pipeline, self.artifacts.bucket, step_findings)
        self.trigger = ChampionTrigger(
            self, "ChampionPromoted", environment=first.config.name, pipeline=self.pipeline.pipeline
        )
        cdk.Tags.of(self).add("project", APP_NAME)


def approval(stage: EnvironmentStage) -> pipelines.ManualApprovalStep:
    return pipelines.ManualApprovalStep(
        "Approve",
        comment=f"Ship to {stage.config.name} the image and model the earlier waves deployed and "
        "smoke-tested.",
    )

"""One environment as a cdk.Stage: its stacks, their tags, and the outputs they publish.

The stage is what a CDK Pipelines wave deploys; `outputs` hands a post-deployment step the
CfnOutputs it needs (``ShellStep(env_from_cfn_outputs=...)``). Stack names are given explicitly,
so the CloudFormation stacks keep their names (`TorchLambda-<Component>-<env>`) whatever the
stage is called, and a deployed environment updates in place.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from constructs import Construct

from infra.config import APP_NAME, EnvironmentConfig
from infra.outputs import Component
from infra.settings.model_source import EfsSource, ImageSource
from infra.stacks.artifacts_stack import ArtifactsStack
from infra.stacks.batch_stack import BatchStack
from infra.stacks.lifecycle_stack import LifecycleStack
from infra.stacks.model_store_stack import ModelStoreStack
from infra.stacks.serving_stack import ServingStack
from infra.stacks.training_stack import TrainingStack

EnvironmentStack = (
    ArtifactsStack | TrainingStack | ServingStack | BatchStack | LifecycleStack | ModelStoreStack
)


class EnvironmentStage(cdk.Stage):
    def __init__(
        self, scope: Construct, *, config: EnvironmentConfig, default_account: str | None
    ) -> None:
        super().__init__(
            scope,
            config.stage_id,
            env=cdk.Environment(account=config.account or default_account, region=config.region),
        )
        self.config = config

        def stack_props(component: Component, description: str) -> dict[str, Any]:
            # The name is given, not derived from the stage: a deployed stack keeps its name.
            return {
                "stack_name": config.stack_name(component),
                "description": f"{description} ({config.name})",
                "termination_protection": config.is_production,
                "config": config,
            }

        self.artifacts = ArtifactsStack(
            self, Component.ARTIFACTS, **stack_props(Component.ARTIFACTS, "Model artifacts bucket")
        )
        self.training = TrainingStack(
            self,
            Component.TRAINING,
            **stack_props(Component.TRAINING, "Model training on CodeBuild in a PyTorch DLC"),
        )
        source = config.model_source
        self.model_store = (
            ModelStoreStack(
                self,
                Component.MODEL_STORE,
                source=source,
                **stack_props(Component.MODEL_STORE, "EFS model store and its copy function"),
            )
            if isinstance(source, EfsSource)
            else None
        )
        model_mount = self.model_store.store.mount if self.model_store else None
        self.serving = ServingStack(
            self,
            Component.SERVING,
            model_mount=model_mount,
            **stack_props(Component.SERVING, "Model inference: Lambda alias behind an HTTP API"),
        )
        self.batch = BatchStack(
            self,
            Component.BATCH,
            alarm_topic=self.serving.monitoring.topic,
            model_mount=model_mount,
            **stack_props(
                Component.BATCH, "Batch scoring: Step Functions Distributed Map over Lambda workers"
            ),
        )
        self.lifecycle = LifecycleStack(
            self,
            Component.LIFECYCLE,
            training_project=self.training.training.project,
            alarm_topic=self.serving.monitoring.topic,
            **stack_props(Component.LIFECYCLE, "Model lifecycle: retrain, evaluate, gate, promote"),
        )
        self.training.add_stack_dependency(
            self.artifacts, "trains from and publishes to the artifacts bucket"
        )
        self.batch.add_stack_dependency(
            self.artifacts, "scores from and writes to the artifacts bucket's batch/ prefixes"
        )
        self.batch.add_stack_dependency(self.serving, "alarms publish to the serving alarm topic")
        self.lifecycle.add_stack_dependency(
            self.artifacts, "evaluates and promotes builds in the artifacts bucket"
        )
        if not isinstance(source, ImageSource):
            self.serving.add_stack_dependency(
                self.artifacts, "the function reads its model from the artifacts bucket"
            )
        if self.model_store is not None:
            self.model_store.add_stack_dependency(
                self.artifacts, "the copy function reads builds from the artifacts bucket"
            )
        cdk.Tags.of(self).add("project", APP_NAME)
        cdk.Tags.of(self).add("environment", config.name)

    @property
    def stacks(self) -> dict[Component, EnvironmentStack]:
        stacks: dict[Component, EnvironmentStack] = {
            Component.ARTIFACTS: self.artifacts,
            Component.TRAINING: self.training,
            Component.SERVING: self.serving,
            Component.BATCH: self.batch,
            Component.LIFECYCLE: self.lifecycle,
        }
        if self.model_store is not None:
            stacks[Component.MODEL_STORE] = self.model_store
        return stacks

    @property
    def outputs(self) -> dict[str, cdk.CfnOutput]:
        """Every stack's outputs by name (the names are unique across the environment)."""
        return {
            name: output for stack in self.stacks.values() for name, output in stack.outputs.items()
        }

"""An environment's stacks and the outputs each publishes: the contract between infra/ and ops/.

Named once here. The stage creates its stacks and their CfnOutputs from these names, and a test
compares every synthesized stage with ``STACK_OUTPUTS`` both ways; the ops tools, which must not
import aws_cdk, read a value by stack name (``EnvironmentConfig.stack_name``) and output name.
"""

from __future__ import annotations

from enum import StrEnum


class Component(StrEnum):
    """One stack of an environment: its id in the stage and the middle of its name."""

    ARTIFACTS = "Artifacts"
    TRAINING = "Training"
    SERVING = "Serving"
    BATCH = "Batch"
    MODEL_STORE = "ModelStore"  # only where the model source is EFS
    LIFECYCLE = "Lifecycle"


class ArtifactsOutput(StrEnum):
    BUCKET_NAME = "ArtifactsBucketName"


class TrainingOutput(StrEnum):
    PROJECT_NAME = "TrainingProjectName"


class ServingOutput(StrEnum):
    API_URL = "ApiUrl"
    FUNCTION_NAME = "FunctionName"
    ALIAS_ARN = "AliasArn"
    DASHBOARD_URL = "DashboardUrl"


class BatchOutput(StrEnum):
    STATE_MACHINE_ARN = "BatchStateMachineArn"
    # The model the batch worker's image holds: part of a job's id, so a new model scores anew.
    MODEL_VERSION = "BatchModelVersion"
    WORKER_FUNCTION_NAME = "BatchWorkerFunctionName"
    DASHBOARD_URL = "BatchDashboardUrl"


class ModelStoreOutput(StrEnum):
    FILE_SYSTEM_ID = "ModelFileSystemId"
    COPY_FUNCTION_NAME = "ModelCopyFunctionName"


class LifecycleOutput(StrEnum):
    STATE_MACHINE_ARN = "RetrainStateMachineArn"


STACK_OUTPUTS: dict[str, tuple[str, ...]] = {
    Component.ARTIFACTS: tuple(ArtifactsOutput),
    Component.TRAINING: tuple(TrainingOutput),
    Component.SERVING: tuple(ServingOutput),
    Component.BATCH: tuple(BatchOutput),
    Component.MODEL_STORE: tuple(ModelStoreOutput),
    Component.LIFECYCLE: tuple(LifecycleOutput),
}
# Stacks an environment has only when its settings call for them.
OPTIONAL_COMPONENTS = frozenset({Component.MODEL_STORE})

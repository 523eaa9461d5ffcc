"""The EFS model store of an environment whose model source is EFS (docs/model-sources.md).

Stateful (the file system is retained where the environment retains its data) and deployed before
the stacks whose functions mount it.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from constructs import Construct

from infra.config import EnvironmentConfig
from infra.constructs.model_store import ModelStore
from infra.outputs import ModelStoreOutput
from infra.settings.model_source import EfsSource
from infra.stacks.publishing import publish_outputs


class ModelStoreStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        source: EfsSource,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.store = ModelStore(
            self,
            "Store",
            environment_name=config.name,
            source=source,
            function=config.function,
            retention=config.retention,
            base_image_uri=config.function.image.uri(config.region),
        )
        self.outputs = publish_outputs(
            self,
            {
                ModelStoreOutput.FILE_SYSTEM_ID: (
                    self.store.file_system.file_system_id,
                    "EFS file system holding the model builds",
                ),
                ModelStoreOutput.COPY_FUNCTION_NAME: (
                    self.store.copy_function.function_name,
                    "Copies a published build from S3 into EFS: make copy-model",
                ),
            },
        )

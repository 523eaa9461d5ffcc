"""Example environments whose functions load a published build from S3 or from EFS.

Each is a shipped environment with only what its model source needs changed: the source, and
memory and /tmp sized for the model (the config's sizing rules refuse less).
"""

from __future__ import annotations

import dataclasses

from infra.config import DEV, PROD, STAGING, EnvironmentConfig
from infra.settings.function import MIN_EPHEMERAL_MB
from infra.settings.model_source import EfsSource, ExistingVpc, ModelSource, NewVpc, S3Source
from infra.settings.provisioned import ProvisionedConcurrency

BUILD_ID = "6c1f1a52-53c4-4d0c-9e47-3e5a1b2c0d9e"  # training publishes under the uuid
WEIGHTS_SHA256 = "3f" * 32


def with_model(
    config: EnvironmentConfig,
    source: ModelSource,
    *,
    memory_mb: int,
    ephemeral_storage_mb: int = MIN_EPHEMERAL_MB,
    provisioned: ProvisionedConcurrency | None = None,
) -> EnvironmentConfig:
    """`config` serving `source`, with memory for the inference function and the batch workers
    (both load the model) and /tmp for a download."""
    return dataclasses.replace(
        config,
        model_source=source,
        function=dataclasses.replace(
            config.function, memory_mb=memory_mb, ephemeral_storage_mb=ephemeral_storage_mb
        ),
        batch=dataclasses.replace(config.batch, worker_memory_mb=memory_mb),
        provisioned=provisioned or config.provisioned,
    )


# A 900 MB model from S3 at init: /tmp holds it; on demand it would miss the 10 s init limit
# at the assumed download rate, so provisioned concurrency keeps dev warm.
S3_EXAMPLE = with_model(
    DEV,
    S3Source(build_id=BUILD_ID, sha256=WEIGHTS_SHA256, size_mb=900),
    memory_mb=3008,
    ephemeral_storage_mb=1024,
    provisioned=STAGING.provisioned,
)
# A 4 GB model on EFS, in an existing VPC whose route tables get the S3 endpoint.
EFS_EXISTING_VPC_EXAMPLE = with_model(
    STAGING,
    EfsSource(
        build_id=BUILD_ID,
        sha256=WEIGHTS_SHA256,
        size_mb=4000,
        network=ExistingVpc(
            vpc_id="vpc-0a1b2c3d4e5f60718",
            availability_zones=("us-west-2a", "us-west-2b"),
            private_subnet_ids=("subnet-0a1b2c3d4e5f60718", "subnet-1a1b2c3d4e5f60718"),
            route_table_ids=("rtb-0a1b2c3d4e5f60718", "rtb-1a1b2c3d4e5f60718"),
        ),
        throughput="bursting",
    ),
    memory_mb=6144,
)
# The same model on EFS in a VPC of its own (isolated subnets, no NAT).
EFS_NEW_VPC_EXAMPLE = with_model(
    PROD,
    EfsSource(build_id=BUILD_ID, sha256=WEIGHTS_SHA256, size_mb=4000, network=NewVpc()),
    memory_mb=6144,
)
MODEL_SOURCE_EXAMPLES = (S3_EXAMPLE, EFS_EXISTING_VPC_EXAMPLE, EFS_NEW_VPC_EXAMPLE)

"""Example delivery settings, and environments the pipeline's tests ship besides the shipped ones.

`DELIVERY` puts the pipeline in the environments' own account and region. The cross-account
example moves staging and prod to another account and builds every environment's image from the
private DLC registry: what needs cross-account keys and a registry login.
"""

from __future__ import annotations

import dataclasses

from infra.config import DEV, PROD, STAGING, EnvironmentConfig
from infra.settings.delivery import DeliverySettings
from infra.settings.images import ImageChoice

PIPELINE_ACCOUNT = "123456789012"  # tests.infra.conftest.TEST_ACCOUNT, without importing aws_cdk
OTHER_ACCOUNT = "210987654321"
REGION = "us-west-2"
CONNECTION_ARN = (
    f"arn:aws:codeconnections:{REGION}:{PIPELINE_ACCOUNT}:"
    "connection/0a1b2c3d-4e5f-4607-8293-a4b5c6d7e8f9"
)

DELIVERY = DeliverySettings(
    account=PIPELINE_ACCOUNT,
    region=REGION,
    connection_arn=CONNECTION_ARN,
    repository="example-org/torchlambda",
)

PRIVATE_DLC = ImageChoice(
    name="pytorch-inference:2.6.0-cpu-py312-ubuntu22.04-ec2",
    registry="private",
    allow_past_end_of_patch="a test example of a base image from the private DLC registry",
)


def from_private_dlc(config: EnvironmentConfig, account: str | None = None) -> EnvironmentConfig:
    return dataclasses.replace(
        config,
        account=account,
        function=dataclasses.replace(config.function, image=PRIVATE_DLC),
    )


CROSS_ACCOUNT_PRIVATE_DLC = (
    from_private_dlc(DEV),
    from_private_dlc(STAGING, OTHER_ACCOUNT),
    from_private_dlc(PROD, OTHER_ACCOUNT),
)

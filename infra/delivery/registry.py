"""Registry logins for the image asset's build: the private DLC repositories its base comes from.

CDK Pipelines builds the image in its asset-publishing CodeBuild project, whose Docker must pull
the `FROM` image. Public ECR needs no login; the private DLC registry (an AWS account per region)
does, through `DockerCredential.ecr`, which grants the publishing role pull on the repository and
writes a `cdk-assets` credential config naming the registry (aws/aws-cdk#17268).
"""

from __future__ import annotations

from collections.abc import Iterable

from aws_cdk import Stack, pipelines
from aws_cdk import aws_ecr as ecr
from constructs import Construct

from infra import dlc
from infra.config import EnvironmentConfig


def private_base_repositories(
    environments: Iterable[EnvironmentConfig],
) -> dict[str, tuple[str, ...]]:
    """Region -> the private DLC repositories the environments' function images start from."""
    found: dict[str, set[str]] = {}
    for config in environments:
        image = config.function.image
        if image.registry == "private":
            found.setdefault(config.region, set()).add(image.spec.repository)
    return {region: tuple(sorted(names)) for region, names in sorted(found.items())}


def dlc_docker_credentials(
    scope: Construct, environments: Iterable[EnvironmentConfig]
) -> list[pipelines.DockerCredential]:
    """One credential per registry (a credential logs in to its first repository's registry):
    each covers that region's DLC repositories, for asset publishing only (synth and the
    pipeline's self-update build no image)."""
    stack = Stack.of(scope)
    credentials = []
    for region, names in private_base_repositories(environments).items():
        account = dlc.dlc_registry_account(region)
        repositories = [
            ecr.Repository.from_repository_attributes(
                scope,
                f"Dlc-{region}-{name}",
                repository_arn=stack.format_arn(
                    service="ecr",
                    account=account,
                    region=region,
                    resource="repository",
                    resource_name=name,
                ),
                repository_name=name,
            )
            for name in names
        ]
        credentials.append(
            pipelines.DockerCredential.ecr(
                repositories, usages=[pipelines.DockerCredentialUsage.ASSET_PUBLISHING]
            )
        )
    return credentials

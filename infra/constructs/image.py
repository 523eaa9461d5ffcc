"""The inference image as Lambda code: one Docker build per environment, whoever runs it.

Every function built from it (the inference function, the batch worker, the batch job) passes the
same directory, build arguments and platform, so the CDK stages one image asset and builds it
once; a function that runs another entry point overrides the image's CMD (Lambda's ImageConfig),
which does not enter the asset's hash.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_lambda as lambda_

from infra.settings.function import FunctionSettings

IMAGE_CONTEXT = Path(__file__).resolve().parents[2] / "lambda_image"


def architecture(function: FunctionSettings) -> lambda_.Architecture:
    return (
        lambda_.Architecture.ARM_64
        if function.architecture == "arm64"
        else lambda_.Architecture.X86_64
    )


def image_code(
    function: FunctionSettings, *, base_image_uri: str, cmd: Sequence[str] | None = None
) -> lambda_.DockerImageCode:
    """The image built on `base_image_uri` for the function's architecture; `cmd` overrides the
    image's CMD (the handler) without changing what is built."""
    return lambda_.DockerImageCode.from_image_asset(
        str(IMAGE_CONTEXT),
        build_args={"BASE_IMAGE": base_image_uri},
        platform=ecr_assets.Platform.LINUX_ARM64
        if function.architecture == "arm64"
        else ecr_assets.Platform.LINUX_AMD64,
        cmd=list(cmd) if cmd is not None else None,
    )

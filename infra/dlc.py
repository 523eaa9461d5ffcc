"""Catalog of the AWS Deep Learning Container (DLC) images this project knows how to use.

Each entry records what the CDK and the config validation need to decide at synth time: which
architectures the image exists for, whether it is a CPU or GPU image, where its Python lives, and
the end of its patch window (after which AWS ships no more security fixes for it).

The module imports no ``aws_cdk`` at load time so that ``infra.config`` (and the ops tools that
read it) stay cheap; only resolving a private-registry URI needs ``aws_cdk.region_info``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

Accelerator = Literal["cpu", "gpu"]
Architecture = Literal["x86_64", "arm64"]
Registry = Literal["private", "public"]

PUBLIC_REGISTRY = "public.ecr.aws/deep-learning-containers"


class UnknownImageError(ValueError):
    """The requested repository:tag is not in the catalog."""


@dataclass(frozen=True)
class DlcImageSpec:
    repository: str
    tag: str
    framework_version: str
    accelerator: Accelerator
    architectures: tuple[Architecture, ...]
    python: str
    end_of_patch: dt.date
    public: bool

    @property
    def name(self) -> str:
        return f"{self.repository}:{self.tag}"

    def past_end_of_patch(self, today: dt.date) -> bool:
        return today > self.end_of_patch


# Dates from the DLC release notes and available_images list. Add an entry (with its end-of-patch
# date) before pointing an environment at a new image: unknown images are refused, not guessed at.
CATALOG: tuple[DlcImageSpec, ...] = (
    DlcImageSpec(
        repository="pytorch",
        tag="2.13.0-cpu-amzn2023",
        framework_version="2.13.0",
        accelerator="cpu",
        architectures=("x86_64",),
        python="/opt/venv/bin/python",
        end_of_patch=dt.date(2027, 7, 20),
        public=True,
    ),
    DlcImageSpec(
        repository="pytorch",
        tag="2.13-cu133-amzn2023",
        framework_version="2.13.0",
        accelerator="gpu",
        architectures=("x86_64",),
        python="/opt/venv/bin/python",
        end_of_patch=dt.date(2027, 7, 20),
        public=True,
    ),
    DlcImageSpec(
        repository="pytorch-inference",
        tag="2.6.0-cpu-py312-ubuntu22.04-ec2",
        framework_version="2.6.0",
        accelerator="cpu",
        architectures=("x86_64",),
        python="/usr/local/bin/python",
        end_of_patch=dt.date(2026, 6, 30),
        public=False,
    ),
    DlcImageSpec(
        repository="pytorch-inference-arm64",
        tag="2.6.0-cpu-py312-ubuntu22.04-ec2",
        framework_version="2.6.0",
        accelerator="cpu",
        architectures=("arm64",),
        python="/usr/local/bin/python",
        end_of_patch=dt.date(2026, 6, 30),
        public=False,
    ),
)

DEFAULT_CPU_IMAGE = "pytorch:2.13.0-cpu-amzn2023"
DEFAULT_GPU_IMAGE = "pytorch:2.13-cu133-amzn2023"


def lookup(name: str) -> DlcImageSpec:
    """Find ``repository:tag`` in the catalog, or fail naming the known images."""
    for spec in CATALOG:
        if spec.name == name:
            return spec
    known = ", ".join(spec.name for spec in CATALOG)
    raise UnknownImageError(
        f"unknown DLC image {name!r}; known images: {known} (add new ones to infra/dlc.py)"
    )


def dlc_registry_account(region: str) -> str:
    """Account of the regional private DLC registry, from the CDK's region facts."""
    # Imported here, not at module level: see the module docstring.
    from aws_cdk.region_info import RegionInfo

    account = RegionInfo.get(region).dlc_repository_account
    if not account:
        raise ValueError(
            f"region {region} has no private DLC registry; use registry='public' there"
        )
    return account


def registry_host(region: str) -> str:
    """Host name of the regional private DLC registry (what `docker login` must target)."""
    return f"{dlc_registry_account(region)}.dkr.ecr.{region}.amazonaws.com"


def image_uri(name: str, registry: Registry, region: str) -> str:
    """Full pullable URI of a catalog image in the chosen registry."""
    spec = lookup(name)
    if registry == "public":
        if not spec.public:
            raise ValueError(f"{name} is not published on public ECR; use registry='private'")
        return f"{PUBLIC_REGISTRY}/{spec.name}"
    return f"{registry_host(region)}/{spec.name}"

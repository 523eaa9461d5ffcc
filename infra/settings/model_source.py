"""Where an environment's functions find the model: baked into the image, S3 at init, or EFS.

``ImageSource`` (the default) bakes ``lambda_image/model/`` into the image. The two others name one
published build (``models/<env>/<build id>/`` in the environment's artifacts bucket) and pin its
weights' sha256, so each published function version serves exactly one artifact:

- ``S3Source``: downloaded into /tmp at init (ephemeral storage must hold it);
- ``EfsSource``: read in place from an EFS file system in a VPC, where the model copy function
  puts the build first (``make copy-model``).

The build can also come from context (``-c model_build=... -c model_sha256=...``, for a pipeline
that read the champion pointer): ``with_build``. Synthesis itself never calls AWS.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar, Literal

from torchlambda import contract

SHA256 = re.compile(r"[0-9a-f]{64}")
# A build's id as training publishes it (CodeBuild's uuid), or any name a user gives one: one
# path segment.
BUILD_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,254}")
CIDR = re.compile(r"\d{1,3}(\.\d{1,3}){3}/(1[6-9]|2[0-8])")
EfsThroughput = Literal["elastic", "bursting"]

# Sizing rules (see docs/model-sources.md for where each figure comes from).
ON_DEMAND_INIT_LIMIT_S = 10.0  # Lambda's on-demand init; provisioned init runs ahead of traffic
# Init's own work besides reading the model: the runtime, `import torch`, verifying (measured
# under the RIE here at well under this; the rest is margin for a cold image).
INIT_OVERHEAD_S = 4.0
# Assumed sustained read rates at init, MB/s: S3 from a Lambda function with parallel ranged
# GETs; EFS (elastic throughput) from one client. Assumptions, not measured on AWS here.
ASSUMED_READ_MB_S: dict[str, float] = {"s3": 50.0, "efs": 100.0}
TMP_HEADROOM_MB = 64  # /tmp besides the weights: the card, torch's and Python's caches
# Memory the runtime takes before the model: Python, torch and the handler (about 260 MB
# measured here) plus margin; the weights are loaded once on top of it.
RUNTIME_MEMORY_MB = 400


def memory_needed_mb(*model_sizes_mb: float) -> int:
    """Memory a function needs to hold these models (each loaded once) beside the runtime."""
    return math.ceil(sum(model_sizes_mb) + RUNTIME_MEMORY_MB)


@dataclass(frozen=True)
class NewVpc:
    """A VPC made for the model store: isolated subnets (no NAT, no internet), an S3 gateway
    endpoint, one EFS mount target per availability zone."""

    max_azs: int = 2
    cidr: str = "10.42.0.0/16"

    @property
    def description(self) -> str:
        return f"new VPC {self.cidr}, {self.max_azs} AZs, no NAT"

    def faults(self) -> Iterator[str]:
        if not 1 <= self.max_azs <= 6:
            yield f"efs network max_azs={self.max_azs} must be 1..6"
        if not CIDR.fullmatch(self.cidr):
            yield f"efs network cidr={self.cidr!r} must be an IPv4 block from /16 to /28"


@dataclass(frozen=True)
class ExistingVpc:
    """A VPC that already exists, described in full (synthesis makes no lookup): its id, and the
    private subnets (one per availability zone) with their route tables."""

    vpc_id: str
    availability_zones: tuple[str, ...]
    private_subnet_ids: tuple[str, ...]
    route_table_ids: tuple[str, ...]
    # False when the VPC's route tables already route S3 through a gateway endpoint.
    add_s3_endpoint: bool = True

    @property
    def description(self) -> str:
        return f"existing {self.vpc_id}, {len(self.private_subnet_ids)} subnets"

    def faults(self) -> Iterator[str]:
        if not re.fullmatch(r"vpc-[0-9a-f]{8,17}", self.vpc_id):
            yield f"efs network vpc_id={self.vpc_id!r} is not a VPC id (vpc-...)"
        count = len(self.availability_zones)
        if count == 0:
            yield "efs network: name at least one availability zone and its private subnet"
        if len(self.private_subnet_ids) != count or len(self.route_table_ids) != count:
            yield (
                f"efs network: {count} availability zones need as many private_subnet_ids "
                f"({len(self.private_subnet_ids)}) and route_table_ids "
                f"({len(self.route_table_ids)}), in the same order"
            )
        for subnet in self.private_subnet_ids:
            if not re.fullmatch(r"subnet-[0-9a-f]{8,17}", subnet):
                yield f"efs network: {subnet!r} is not a subnet id (subnet-...)"
        for table in self.route_table_ids:
            if not re.fullmatch(r"rtb-[0-9a-f]{8,17}", table):
                yield f"efs network: {table!r} is not a route table id (rtb-...)"


Network = NewVpc | ExistingVpc


@dataclass(frozen=True)
class ImageSource:
    """The model baked into the image (``lambda_image/model/``): nothing to fetch at init."""

    kind: ClassVar[contract.ModelSourceKind] = "image"

    @property
    def description(self) -> str:
        return "baked into the image"

    def faults(self) -> Iterator[str]:
        return iter(())


@dataclass(frozen=True)
class PublishedBuild:
    """One build published by training, pinned by its weights' sha256 (the card's `sha256`)."""

    build_id: str
    sha256: str
    # The weights' size: what sizes /tmp and memory, and decides whether init can load it.
    size_mb: float

    def prefix(self, environment: str) -> str:
        return contract.model_prefix(environment, self.build_id)

    def build_faults(self, source: str) -> Iterator[str]:
        if not BUILD_ID.fullmatch(self.build_id):
            yield (
                f"model_source {source}: build_id={self.build_id!r} must be one path segment "
                "(letters, digits, . _ : -), as training publishes it"
            )
        if not SHA256.fullmatch(self.sha256):
            yield (
                f"model_source {source}: sha256={self.sha256[:16]!r}... must be the weights' "
                "64 lowercase hex digits (the model card's `sha256`)"
            )
        if not self.size_mb > 0:
            yield f"model_source {source}: size_mb={self.size_mb} must be > 0"


@dataclass(frozen=True)
class S3Source(PublishedBuild):
    kind: ClassVar[contract.ModelSourceKind] = "s3"

    @property
    def description(self) -> str:
        return f"S3 at init: {self.build_id} ({self.size_mb:,.0f} MB)"

    def faults(self) -> Iterator[str]:
        yield from self.build_faults(self.kind)


@dataclass(frozen=True)
class EfsSource(PublishedBuild):
    # None is refused: EFS is reachable only from inside a VPC.
    network: Network | None = None
    throughput: EfsThroughput = "elastic"
    kind: ClassVar[contract.ModelSourceKind] = "efs"

    @property
    def description(self) -> str:
        network = self.network.description if self.network else "no VPC"
        return f"EFS ({self.throughput}, {network}): {self.build_id} ({self.size_mb:,.0f} MB)"

    def faults(self) -> Iterator[str]:
        yield from self.build_faults(self.kind)
        if self.network is None:
            yield (
                "model_source efs needs a VPC: set network=NewVpc() or ExistingVpc(...) "
                "(Lambda reaches EFS only through mount targets in a VPC)"
            )
        else:
            yield from self.network.faults()
        if self.throughput not in ("elastic", "bursting"):
            yield f"model_source efs: throughput={self.throughput!r} must be elastic or bursting"


ModelSource = ImageSource | S3Source | EfsSource


@dataclass(frozen=True)
class BuildOverride:
    """The build named on the command line (context), replacing the configured one."""

    build_id: str
    sha256: str
    size_mb: float | None = None  # None keeps the configured size

    def apply(self, source: ModelSource) -> ModelSource:
        if isinstance(source, ImageSource):
            raise ValueError(
                "model_build/model_sha256 given, but this environment's model_source is the "
                "image; set S3Source or EfsSource in infra/config.py"
            )
        size = source.size_mb if self.size_mb is None else self.size_mb
        return dataclasses.replace(source, build_id=self.build_id, sha256=self.sha256, size_mb=size)

"""List prices the cost model uses: the one place to update when AWS changes them.

us-east-1 on-demand list prices (us-west-2, the default region, lists the same figures), from
AWS's Lambda, API Gateway, EC2, Step Functions, S3, EFS, ECR, VPC, CodeBuild, CodePipeline,
EventBridge and SNS pricing pages, free tiers left out. Change the figures and ``AS_OF`` together.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

AS_OF = "2026-08"
REGION = "us-east-1"
HOURS_PER_MONTH = 720  # the book's always-on baseline month; used for every option alike


@dataclass(frozen=True)
class ArchitecturePrices:
    """Lambda prices that depend on the instruction set, in dollars per GB-second."""

    duration_gb_s: float
    provisioned_allocation_gb_s: float  # billed from enable to disable, serving or not
    provisioned_duration_gb_s: float  # billed instead of duration_gb_s for requests PC serves


@dataclass(frozen=True)
class EfsThroughputPrices:
    """EFS data access by throughput mode, in dollars per GB read or written."""

    read_per_gb: float
    write_per_gb: float


@dataclass(frozen=True)
class Prices:
    as_of: str
    region: str
    lambda_per_million_requests: float
    lambda_architectures: Mapping[str, ArchitecturePrices]
    http_api_per_million_first_tier: float
    http_api_first_tier_requests: float
    http_api_per_million_beyond: float
    instance_name: str
    instance_per_hour: float
    hours_per_month: int
    # Standard workflows bill state transitions. A Distributed Map bills one for each child
    # execution it starts, and Standard children bill their own transitions besides.
    step_functions_per_thousand_transitions: float
    # S3 Standard requests: PUT, COPY, POST and LIST (multipart's Create, UploadPart and Complete
    # are POSTs and PUTs), and GET (with SELECT and every other request).
    s3_per_thousand_put_requests: float
    s3_per_thousand_get_requests: float
    # Where the model comes from (docs/cost.md): list prices as of `as_of`, like the rest.
    # /tmp beyond the free allowance, one price for x86_64 and arm64 alike (no per-architecture
    # entry, unlike duration).
    lambda_ephemeral_storage_gb_s: float
    lambda_free_ephemeral_storage_mb: int
    s3_storage_gb_month: float  # S3 Standard
    efs_storage_gb_month: float  # EFS Standard
    efs_throughput: Mapping[str, EfsThroughputPrices]
    ecr_storage_gb_month: float
    # A gateway endpoint has no hourly or per-GB charge (unlike NAT and interface endpoints).
    vpc_s3_gateway_endpoint_per_hour: float
    # The model lifecycle (docs/cost.md). CodeBuild on-demand EC2 Linux builds, per build minute
    # (each build rounded up to the minute), by the pricing page's instance names.
    codebuild_linux_per_minute: Mapping[str, float]
    # A V2 pipeline bills every action but manual approvals by the minute it runs (each rounded
    # up); V1 billed $1 per active pipeline a month instead.
    codepipeline_v2_per_action_minute: float
    eventbridge_per_million_custom_events: float  # PutEvents; AWS services' own events are free
    sns_per_million_publishes: float  # standard topics
    sns_per_hundred_thousand_emails: float  # deliveries to e-mail subscriptions

    @property
    def seconds_per_month(self) -> int:
        return self.hours_per_month * 3600


PRICES = Prices(
    as_of=AS_OF,
    region=REGION,
    lambda_per_million_requests=0.20,
    lambda_architectures=MappingProxyType(
        {
            "x86_64": ArchitecturePrices(
                duration_gb_s=0.0000166667,
                provisioned_allocation_gb_s=0.0000041667,
                provisioned_duration_gb_s=0.0000097222,
            ),
            "arm64": ArchitecturePrices(
                duration_gb_s=0.0000133334,
                provisioned_allocation_gb_s=0.0000033334,
                provisioned_duration_gb_s=0.0000077778,
            ),
        }
    ),
    http_api_per_million_first_tier=1.00,
    http_api_first_tier_requests=300_000_000,
    http_api_per_million_beyond=0.90,
    instance_name="m6i.large",
    instance_per_hour=0.096,
    hours_per_month=HOURS_PER_MONTH,
    step_functions_per_thousand_transitions=0.025,
    s3_per_thousand_put_requests=0.005,
    s3_per_thousand_get_requests=0.0004,
    lambda_ephemeral_storage_gb_s=0.0000000309,
    lambda_free_ephemeral_storage_mb=512,
    s3_storage_gb_month=0.023,
    efs_storage_gb_month=0.30,
    efs_throughput=MappingProxyType(
        {
            "elastic": EfsThroughputPrices(read_per_gb=0.03, write_per_gb=0.06),
            # Bursting bills no data access: its throughput comes with the storage.
            "bursting": EfsThroughputPrices(read_per_gb=0.0, write_per_gb=0.0),
        }
    ),
    ecr_storage_gb_month=0.10,
    vpc_s3_gateway_endpoint_per_hour=0.0,
    codebuild_linux_per_minute=MappingProxyType(
        {
            "general1.small": 0.005,
            "general1.medium": 0.01,
            "general1.large": 0.02,
            "gpu1.large": 0.65,
        }
    ),
    codepipeline_v2_per_action_minute=0.002,
    eventbridge_per_million_custom_events=1.00,
    sns_per_million_publishes=0.50,
    sns_per_hundred_thousand_emails=2.00,
)

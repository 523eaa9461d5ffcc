"""The model source's settings: each rule refuses its failing case with one actionable line, and
a build named on the command line replaces the configured one."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest

from infra.application import build_override, select_environments
from infra.config import DEV, PROD, STAGING, ConfigError, EnvironmentConfig
from infra.settings.model_source import (
    ASSUMED_READ_MB_S,
    INIT_OVERHEAD_S,
    ON_DEMAND_INIT_LIMIT_S,
    RUNTIME_MEMORY_MB,
    TMP_HEADROOM_MB,
    EfsSource,
    ExistingVpc,
    NewVpc,
    S3Source,
)
from infra.settings.provisioned import FixedProvisionedConcurrency
from tests.infra.model_source_examples import (
    BUILD_ID,
    EFS_NEW_VPC_EXAMPLE,
    S3_EXAMPLE,
    WEIGHTS_SHA256,
    with_model,
)

SMALL: dict[str, Any] = {"build_id": BUILD_ID, "sha256": WEIGHTS_SHA256, "size_mb": 100}


def refused(config: EnvironmentConfig, source: Any, **settings: Any) -> str:
    """Building `config` with `source` fails with exactly one line, which is returned."""
    with pytest.raises(ConfigError) as caught:
        with_model(config, source, **{"memory_mb": 3008, **settings})
    message = str(caught.value)
    assert len(message.splitlines()) == 1, message
    assert message.startswith(f"{config.name}: ")
    return message


def test_examples_and_shipped_environments_are_valid() -> None:
    assert S3_EXAMPLE.model_source.kind == "s3"
    assert EFS_NEW_VPC_EXAMPLE.model_source.kind == "efs"
    assert {DEV.model_source.kind, STAGING.model_source.kind, PROD.model_source.kind} == {"image"}


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"sha256": "ABC"}, r"sha256='ABC'\.\.\. must be the weights' 64 lowercase hex digits"),
        ({"sha256": "A" * 64}, "64 lowercase hex digits"),
        ({"build_id": "a/b"}, r"build_id='a/b' must be one path segment"),
        ({"build_id": ""}, "must be one path segment"),
        ({"size_mb": 0}, r"size_mb=0 must be > 0"),
    ],
)
def test_a_published_build_is_named_and_pinned(changes: dict[str, Any], match: str) -> None:
    message = refused(DEV, S3Source(**{**SMALL, **changes}), ephemeral_storage_mb=1024)
    assert re.search(f"model_source s3: .*{match}", message), message


def test_s3_needs_tmp_for_the_model_and_headroom() -> None:
    message = refused(
        DEV,
        S3Source(**{**SMALL, "size_mb": 500}),
        ephemeral_storage_mb=512,
        provisioned=STAGING.provisioned,
    )
    needed = 500 + TMP_HEADROOM_MB
    assert f"set function ephemeral_storage_mb >= {needed}" in message
    with_model(
        DEV,
        S3Source(**{**SMALL, "size_mb": 500}),
        memory_mb=3008,
        ephemeral_storage_mb=needed,
        provisioned=STAGING.provisioned,
    )


def test_ephemeral_storage_stays_within_lambda_limits() -> None:
    with pytest.raises(
        ConfigError, match=r"ephemeral_storage_mb=20000 is outside Lambda's 512\.\.10240"
    ):
        dataclasses.replace(
            DEV, function=dataclasses.replace(DEV.function, ephemeral_storage_mb=20000)
        )


def test_memory_must_hold_the_model_and_the_runtime() -> None:
    with pytest.raises(ConfigError) as caught:
        with_model(
            DEV, S3Source(**{**SMALL, "size_mb": 200}), memory_mb=512, ephemeral_storage_mb=1024
        )
    lines = str(caught.value).splitlines()
    needed = 200 + RUNTIME_MEMORY_MB
    assert lines == [
        f"dev: function memory_mb=512 cannot hold the 200 MB model and the {RUNTIME_MEMORY_MB} "
        f"MB runtime: set it >= {needed}",
        f"dev: batch worker_memory_mb=512 cannot hold the 200 MB model and the "
        f"{RUNTIME_MEMORY_MB} MB runtime: set it >= {needed}",
    ]


@pytest.mark.parametrize("kind", ["s3", "efs"])
def test_on_demand_refuses_a_model_that_cannot_load_within_init(kind: str) -> None:
    rate = ASSUMED_READ_MB_S[kind]
    too_big = (ON_DEMAND_INIT_LIMIT_S - INIT_OVERHEAD_S) * rate + 50
    fits = (ON_DEMAND_INIT_LIMIT_S - INIT_OVERHEAD_S) * rate - 50
    source: Any = S3Source if kind == "s3" else EfsSource
    extra: dict[str, Any] = {} if kind == "s3" else {"network": NewVpc()}
    sizing: dict[str, Any] = {"memory_mb": 10240, "ephemeral_storage_mb": 10240}
    with pytest.raises(
        ConfigError,
        match=rf"from {kind} \(assumed {rate:.0f} MB/s.*turn provisioned concurrency on",
    ):
        with_model(DEV, source(**{**SMALL, "size_mb": too_big}, **extra), **sizing)
    with_model(DEV, source(**{**SMALL, "size_mb": fits}, **extra), **sizing)
    with_model(
        DEV,
        source(**{**SMALL, "size_mb": too_big}, **extra),
        provisioned=FixedProvisionedConcurrency(count=1),
        **sizing,
    )


def test_efs_needs_a_vpc() -> None:
    message = refused(DEV, EfsSource(**SMALL))
    assert "model_source efs needs a VPC: set network=NewVpc() or ExistingVpc(...)" in message


@pytest.mark.parametrize(
    ("network", "match"),
    [
        (NewVpc(max_azs=0), "max_azs=0 must be 1..6"),
        (NewVpc(cidr="10.0.0.0/8"), "cidr='10.0.0.0/8' must be an IPv4 block from /16 to /28"),
        (
            ExistingVpc("vpc-0a1b2c3d", ("us-west-2a",), ("subnet-0a1b2c3d",), ()),
            r"1 availability zones need as many private_subnet_ids \(1\) and route_table_ids \(0\)",
        ),
        (ExistingVpc("vpc-1", ("a",), ("subnet-0a1b2c3d",), ("rtb-0a1b2c3d",)), "is not a VPC id"),
        (
            ExistingVpc("vpc-0a1b2c3d", ("a",), ("sn-1",), ("rtb-0a1b2c3d",)),
            "'sn-1' is not a subnet id",
        ),
        (ExistingVpc("vpc-0a1b2c3d", (), (), ()), "name at least one availability zone"),
    ],
)
def test_efs_network_rules(network: Any, match: str) -> None:
    message = refused(DEV, EfsSource(**SMALL, network=network))
    assert re.search(match, message), message


def test_a_build_from_context_replaces_the_configured_one() -> None:
    context = {"model_build": "other:build", "model_sha256": "ab" * 32, "model_size_mb": "120"}
    override = build_override(context.get)
    assert override is not None
    assert override.apply(S3_EXAMPLE.model_source) == S3Source(
        build_id="other:build", sha256="ab" * 32, size_mb=120.0
    )
    kept = build_override({"model_build": "b", "model_sha256": "ab" * 32}.get)
    assert kept is not None
    configured = S3_EXAMPLE.model_source
    assert isinstance(configured, S3Source)
    assert kept.apply(configured) == dataclasses.replace(configured, build_id="b", sha256="ab" * 32)


def test_no_build_context_is_no_override() -> None:
    no_context: dict[str, object] = {}
    assert build_override(no_context.get) is None


@pytest.mark.parametrize(
    ("context", "match"),
    [
        ({"model_build": "b"}, "-c model_build=... and -c model_sha256=... go together"),
        ({"model_sha256": "ab" * 32}, "go together"),
        (
            {"model_build": "b", "model_sha256": "ab" * 32, "model_size_mb": "big"},
            r"-c model_size_mb='big' is not a number of MB",
        ),
    ],
)
def test_bad_build_context_is_one_line(context: dict[str, str], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        build_override(context.get)


def test_a_build_needs_one_environment_whose_source_can_take_it() -> None:
    override = build_override({"model_build": "b", "model_sha256": "ab" * 32}.get)
    with pytest.raises(ConfigError, match="needs -c env=NAME"):
        select_environments(None, override)
    with pytest.raises(
        ConfigError,
        match=r"^dev: model_build/model_sha256 given, but this environment's "
        r"model_source is the image",
    ):
        select_environments("dev", override)


def test_a_bad_sha_from_context_is_refused_as_in_config() -> None:
    override = build_override({"model_build": "b", "model_sha256": "nope"}.get)
    assert override is not None
    source = override.apply(S3_EXAMPLE.model_source)
    with pytest.raises(ConfigError, match="64 lowercase hex digits"):
        dataclasses.replace(S3_EXAMPLE, model_source=source)

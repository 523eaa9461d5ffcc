"""The DLC catalog resolves pullable URIs and knows each image's support window."""

from __future__ import annotations

import datetime as dt

import pytest

from infra import dlc


def test_default_image_on_public_ecr() -> None:
    assert (
        dlc.image_uri(dlc.DEFAULT_CPU_IMAGE, "public", "us-west-2")
        == "public.ecr.aws/deep-learning-containers/pytorch:2.13.0-cpu-amzn2023"
    )


def test_default_image_in_the_regional_private_registry() -> None:
    assert (
        dlc.image_uri(dlc.DEFAULT_CPU_IMAGE, "private", "us-west-2")
        == "763104351884.dkr.ecr.us-west-2.amazonaws.com/pytorch:2.13.0-cpu-amzn2023"
    )


def test_private_registry_account_comes_from_region_facts() -> None:
    assert dlc.registry_host("eu-west-1").endswith(".dkr.ecr.eu-west-1.amazonaws.com")


def test_region_without_a_dlc_registry_is_an_error() -> None:
    with pytest.raises(ValueError, match="no private DLC registry"):
        dlc.image_uri(dlc.DEFAULT_CPU_IMAGE, "private", "xx-nowhere-1")


def test_private_only_image_has_no_public_uri() -> None:
    with pytest.raises(ValueError, match="not published on public ECR"):
        dlc.image_uri("pytorch-inference:2.6.0-cpu-py312-ubuntu22.04-ec2", "public", "us-west-2")


def test_unknown_image_lists_the_known_ones() -> None:
    with pytest.raises(dlc.UnknownImageError, match=r"known images: pytorch:2\.13\.0-cpu-amzn2023"):
        dlc.lookup("pytorch:1.8.1-cpu-py36-ubuntu18.04")


def test_end_of_patch_dates() -> None:
    old = dlc.lookup("pytorch-inference:2.6.0-cpu-py312-ubuntu22.04-ec2")
    assert old.past_end_of_patch(dt.date(2026, 7, 1))
    assert not old.past_end_of_patch(dt.date(2026, 6, 30))
    current = dlc.lookup(dlc.DEFAULT_CPU_IMAGE)
    assert current.end_of_patch == dt.date(2027, 7, 20)


def test_catalog_knows_which_images_exist_for_arm64() -> None:
    arm64 = {spec.name for spec in dlc.CATALOG if "arm64" in spec.architectures}
    assert arm64 == {"pytorch-inference-arm64:2.6.0-cpu-py312-ubuntu22.04-ec2"}
    assert dlc.lookup(dlc.DEFAULT_GPU_IMAGE).accelerator == "gpu"


def test_catalog_entries_are_unique() -> None:
    names = [spec.name for spec in dlc.CATALOG]
    assert len(names) == len(set(names))

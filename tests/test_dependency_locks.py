"""Each requirement set is locked with hashes and agrees with its .in file and the other locks."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tooling.locks import LockedRequirement, normalized, read_lock

ROOT = Path(__file__).resolve().parents[1]
IMAGE = "lambda_image/requirements"
# Each .in and the lock `make lock` writes from it.
SETS = ["requirements", "requirements-dev", "requirements-scan", IMAGE, "training/requirements"]


def direct_requirements(in_file: Path) -> list[Requirement]:
    """The .in file's own requirements and those of the files it includes with -r."""
    found = []
    for raw in in_file.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.startswith("-r "):
            found += direct_requirements(in_file.parent / line[3:].strip())
        elif line:
            found.append(Requirement(line))
    return found


def locked(name: str) -> dict[str, LockedRequirement]:
    return {entry.name: entry for entry in read_lock(ROOT / f"{name}.txt")}


@pytest.mark.parametrize("name", SETS)
def test_each_lock_satisfies_its_in_file(name: str) -> None:
    lock = locked(name)
    for requirement in direct_requirements(ROOT / f"{name}.in"):
        entry = lock.get(normalized(requirement.name))
        assert entry is not None, f"{name}.txt lacks {requirement.name}: run `make lock`"
        assert requirement.specifier.contains(entry.version, prereleases=True), (
            f"{name}.txt has {entry.pin}, {name}.in wants {requirement}: run `make lock`"
        )


@pytest.mark.parametrize("name", ["requirements", IMAGE, "training/requirements"])
def test_a_package_the_dev_set_shares_has_the_same_version(name: str) -> None:
    """What is tested locally is what ships in the image, runs in training and synthesizes."""
    dev = locked("requirements-dev")
    for entry in locked(name).values():
        if entry.name in dev:
            assert dev[entry.name].version == entry.version, (entry.pin, dev[entry.name].pin)


def test_the_image_carries_no_tracing_sdk() -> None:
    """Lambda's active tracing needs no SDK in the functions: aws-xray-sdk would be dead weight.
    (boto3 is there for the batch functions' S3; the online handler never imports it.)"""
    assert "aws-xray-sdk" not in set(locked(IMAGE))
    assert {"boto3", "isal"} <= set(locked(IMAGE))


def test_every_install_requires_hashes() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "--require-hashes -r requirements-dev.txt" in makefile
    assert "--require-hashes -r requirements-scan.txt" in makefile
    dockerfile = (ROOT / "lambda_image" / "Dockerfile").read_text()
    assert "--require-hashes" in dockerfile

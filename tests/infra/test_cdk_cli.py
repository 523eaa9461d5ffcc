"""The pinned CDK CLI drives app.py: one stage per environment, selection, offline synthesis."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from infra.config import DEV, ENVIRONMENTS, STAGING
from infra.outputs import OPTIONAL_COMPONENTS, Component
from ops.deploy.command import stack_selector
from tests.infra.conftest import SynthesizedApp

ROOT = Path(__file__).resolve().parents[2]
CDK = ROOT / "node_modules" / ".bin" / "cdk"
# `cdk ls` prints a stack in a stage as its path, then its CloudFormation name.
LISTED_STACK = re.compile(r"(?P<path>\S+) \((?P<name>[^)]+)\)")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CDK.exists(), reason="run `make setup` (npm ci) first"),
]


def cdk(*args: str, outdir: Path) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "CDK_DEFAULT_"))  # prove no credentials are needed
    }
    env["CDK_DISABLE_CLI_TELEMETRY"] = "true"
    return subprocess.run(
        [str(CDK), *args, "--output", str(outdir)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def listed_stacks(stdout: str) -> dict[str, str]:
    """Stack path -> stack name, from `cdk ls` (every line must be a stack)."""
    matches = [LISTED_STACK.fullmatch(line) for line in stdout.splitlines()]
    assert all(matches), stdout
    return {m["path"]: m["name"] for m in matches if m}


def stacks_of(config_name: str) -> dict[str, str]:
    config = ENVIRONMENTS[config_name]
    # The shipped environments serve the image's model: no optional stack.
    return {
        f"{config.stage_id}/{c}": config.stack_name(c)
        for c in Component
        if c not in OPTIONAL_COMPONENTS
    }


@pytest.fixture(scope="module")
def session_assembly(synthesized_app: SynthesizedApp) -> Path:
    """The session's cloud assembly: every stage, built by `build_app` as app.py builds it.

    Reading it (`--app DIR`) tests the CLI's view of the whole app without a second synthesis;
    app.py itself runs under the CLI in the `-c env` tests below.
    """
    assert synthesized_app.nag_failure is None, synthesized_app.nag_failure
    return synthesized_app.outdir


def test_ls_lists_every_environments_stacks(session_assembly: Path) -> None:
    result = cdk("ls", "--app", str(session_assembly), outdir=session_assembly)
    assert result.returncode == 0, result.stderr
    assert listed_stacks(result.stdout) == {
        path: name for env in ENVIRONMENTS for path, name in stacks_of(env).items()
    }


def test_deploy_selects_exactly_one_environments_stacks(session_assembly: Path) -> None:
    """What `make deploy|diff|destroy ENV=dev` passes the CLI, against the assembly of every
    stage: dev's stacks, none of staging's or prod's."""
    result = cdk("ls", "--app", str(session_assembly), stack_selector(DEV), outdir=session_assembly)
    assert result.returncode == 0, result.stderr
    assert listed_stacks(result.stdout) == stacks_of(DEV.name)


def artifacts(manifest: Path, artifact_type: str) -> dict[str, Any]:
    found = json.loads(manifest.read_text())["artifacts"]
    return {key: a for key, a in found.items() if a["type"] == artifact_type}


def test_env_context_selects_one_environment(tmp_path: Path) -> None:
    result = cdk("synth", "--quiet", "-c", "env=staging", outdir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert list(artifacts(tmp_path / "manifest.json", "cdk:cloud-assembly")) == ["assembly-staging"]
    stage_dir = tmp_path / "assembly-staging"
    stacks = artifacts(stage_dir / "manifest.json", "aws:cloudformation:stack").values()
    assert {stack["displayName"]: stack["properties"]["stackName"] for stack in stacks} == (
        stacks_of(STAGING.name)
    )
    for stack in stacks:
        assert (stage_dir / stack["properties"]["templateFile"]).exists()


def test_unknown_env_fails_with_one_line_listing_valid_names(tmp_path: Path) -> None:
    result = cdk("synth", "--quiet", "-c", "env=nope", outdir=tmp_path)
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: unknown environment 'nope'; valid names: dev, staging, prod"]
    assert "Traceback" not in result.stderr


def test_a_build_for_an_image_environment_fails_with_one_line(tmp_path: Path) -> None:
    result = cdk(
        "synth",
        "--quiet",
        "-c",
        "env=dev",
        "-c",
        "model_build=b",
        "-c",
        f"model_sha256={'a' * 64}",
        outdir=tmp_path,
    )
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: dev: model_build/model_sha256 given, but this environment's model_source is the "
        "image; set S3Source or EfsSource in infra/config.py"
    ]

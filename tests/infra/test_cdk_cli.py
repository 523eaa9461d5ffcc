"""The pinned CDK CLI drives app.py: environment selection and offline synthesis."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from infra.config import ENVIRONMENTS, STACK_OUTPUTS

ROOT = Path(__file__).resolve().parents[2]
CDK = ROOT / "node_modules" / ".bin" / "cdk"

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


def test_ls_lists_every_environments_stacks(tmp_path: Path) -> None:
    result = cdk("ls", outdir=tmp_path)
    assert result.returncode == 0, result.stderr
    listed = set(result.stdout.split())
    expected = {
        config.stack_name(component)
        for config in ENVIRONMENTS.values()
        for component in STACK_OUTPUTS
    }
    assert expected <= listed


def test_env_context_selects_one_environment(tmp_path: Path) -> None:
    result = cdk("synth", "--quiet", "-c", "env=staging", outdir=tmp_path)
    assert result.returncode == 0, result.stderr
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    stacks = {
        name
        for name, artifact in manifest["artifacts"].items()
        if artifact["type"] == "aws:cloudformation:stack"
    }
    assert stacks and all(name.endswith("-staging") for name in stacks)
    assert (tmp_path / "TorchLambda-Artifacts-staging.template.json").exists()


def test_unknown_env_fails_with_one_line_listing_valid_names(tmp_path: Path) -> None:
    result = cdk("synth", "--quiet", "-c", "env=nope", outdir=tmp_path)
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: unknown environment 'nope'; valid names: dev, staging, prod"]
    assert "Traceback" not in result.stderr

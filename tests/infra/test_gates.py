"""Security and correctness gates on every environment's synthesized templates."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from cfnlint.api import ManualArgs, lint  # type: ignore[import-untyped]

from infra.application import attach_nag
from tests.infra.conftest import SynthesizedApp, SynthesizedEnvironment, new_app

# W3005 (obsolete DependsOn) fires on dependencies the CDK adds itself; they are harmless.
CFN_LINT_IGNORED = ["W3005"]


def nag_violations(outdir: Path) -> list[str]:
    report = json.loads((outdir / "validation-report.json").read_text())
    return [
        f"{violation['ruleName']} at {construct['constructPath']}"
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
        for construct in violation["violatingConstructs"]
    ]


def test_cdk_nag_finds_nothing_unacknowledged_in_any_environment(any_app: SynthesizedApp) -> None:
    """The session's syntheses are app.py's, nag included: each must have passed."""
    violations = nag_violations(any_app.outdir)
    assert any_app.nag_failure is None, "\n".join([any_app.nag_failure, *violations])
    assert violations == []


def test_cdk_nag_gate_bites_inside_a_stage(tmp_path: Path) -> None:
    """Registered on the app, as app.py does, the packs reach stacks nested in stages."""
    app = new_app(tmp_path)
    stack = cdk.Stack(cdk.Stage(app, "Stage"), "Throwaway")
    s3.Bucket(stack, "Careless")  # no access logs, no TLS enforcement
    attach_nag(app)
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    found = nag_violations(tmp_path)
    assert "AwsSolutions-S1 at Stage/Throwaway/Careless/Resource" in found
    assert "AwsSolutions-S10 at Stage/Throwaway/Careless/Resource" in found


def test_cfn_lint_is_clean(any_environment: SynthesizedEnvironment) -> None:
    for component, path in any_environment.template_files.items():
        matches = lint(
            path.read_text(),
            config=ManualArgs(
                regions=[any_environment.config.region], ignore_checks=CFN_LINT_IGNORED
            ),
        )
        assert [str(m) for m in matches] == [], component


def test_cfn_lint_gate_bites_on_a_broken_template() -> None:
    broken = {"Resources": {"B": {"Type": "AWS::S3::Bucket", "Properties": {"Nope": 1}}}}
    matches = lint(json.dumps(broken), config=ManualArgs(regions=["us-west-2"]))
    assert any(m.rule.id == "E3002" for m in matches)

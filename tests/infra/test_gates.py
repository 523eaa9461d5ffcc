"""Security and correctness gates on every environment's synthesized templates."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from cfnlint.api import ManualArgs, lint

from infra.application import add_environment, attach_nag
from infra.config import ENVIRONMENTS
from tests.infra.conftest import TEST_ACCOUNT, SynthesizedEnvironment, new_app

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


@pytest.mark.slow
def test_cdk_nag_finds_nothing_unacknowledged_in_any_environment(tmp_path: Path) -> None:
    app = new_app(tmp_path)
    for config in ENVIRONMENTS.values():
        add_environment(app, config, default_account=TEST_ACCOUNT)
    attach_nag(app)
    try:
        app.synth()
    except RuntimeError as error:  # jsii surfaces ValidationFailed as RuntimeError
        pytest.fail(f"{error}\n" + "\n".join(nag_violations(tmp_path)))
    assert nag_violations(tmp_path) == []


def test_cdk_nag_gate_bites_on_a_non_compliant_bucket(tmp_path: Path) -> None:
    app = new_app(tmp_path)
    stack = cdk.Stack(app, "Throwaway")
    s3.Bucket(stack, "Careless")  # no access logs, no TLS enforcement
    attach_nag(app)
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    found = nag_violations(tmp_path)
    assert "AwsSolutions-S1 at Throwaway/Careless/Resource" in found
    assert "AwsSolutions-S10 at Throwaway/Careless/Resource" in found


def test_cfn_lint_is_clean(environment: SynthesizedEnvironment) -> None:
    for component, path in environment.template_files.items():
        matches = lint(
            path.read_text(),
            config=ManualArgs(regions=[environment.config.region], ignore_checks=CFN_LINT_IGNORED),
        )
        assert [str(m) for m in matches] == [], component


def test_cfn_lint_gate_bites_on_a_broken_template() -> None:
    broken = {"Resources": {"B": {"Type": "AWS::S3::Bucket", "Properties": {"Nope": 1}}}}
    matches = lint(json.dumps(broken), config=ManualArgs(regions=["us-west-2"]))
    assert any(m.rule.id == "E3002" for m in matches)

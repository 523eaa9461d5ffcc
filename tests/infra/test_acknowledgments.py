"""cdk-nag acknowledgments: each answers a real finding; docs/security.md lists exactly these."""

from __future__ import annotations

import json
import re
from pathlib import Path

import aws_cdk as cdk
import pytest

from infra.application import build_app
from infra.config import ENVIRONMENTS
from tests.infra.conftest import (
    ROOT,
    TEST_ACCOUNT,
    SynthesizedApp,
    SynthesizedEnvironment,
    new_app,
)
from tests.infra.test_iam_and_logs import as_list, identity_statements

TABLE_START = "**Security gates.**"
NAG_PACKS = ("AwsSolutions-", "Serverless-")


def acknowledged(synthesized: dict[str, SynthesizedEnvironment]) -> set[str]:
    """Finding ids acknowledged anywhere, as cdk-nag names them (`AwsSolutions-IAM5[...]`)."""
    found = set()
    for env in synthesized.values():
        for construct in env.stage.node.find_all():
            for entry in construct.node.metadata:
                if entry.type == cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
                    # Recorded with a namespace: `Annotation::AwsSolutions-CB5`.
                    found |= {rule.split("::", 1)[1] for rule in entry.data}
    # aws-cdk-lib's own constructs (the VPC's) acknowledge CloudFormation validation rules for
    # themselves (F3003): only the cdk-nag packs' findings are ours to answer for.
    return {rule for rule in found if rule.startswith(NAG_PACKS)}


def readme_rows() -> list[list[str]]:
    """The cells of docs/security.md's acknowledgment table: finding ids, where, why."""
    text = (ROOT / "docs" / "security.md").read_text()
    table = text[text.index(TABLE_START) :].split("\n\n")[1]
    return [line.strip("| ").split(" | ") for line in table.splitlines() if line.startswith("| `")]


def backticked(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def as_pattern(finding: str) -> re.Pattern[str]:
    """`...` stands for any text and `<env>` for an environment name."""
    parts = re.split(r"(\.\.\.|<env>)", finding)
    return re.compile(
        "".join({"...": ".*", "<env>": "[a-z]+"}.get(part, re.escape(part)) for part in parts)
    )


@pytest.mark.slow
def test_every_acknowledgment_answers_a_finding(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    synthesized: dict[str, SynthesizedEnvironment],
) -> None:
    """Without acknowledgments cdk-nag reports exactly the acknowledged ids: none is stale."""
    monkeypatch.setattr(cdk.Validations, "acknowledge", lambda self, *rules: None)
    app = new_app(tmp_path)
    build_app(app, ENVIRONMENTS.values(), default_account=TEST_ACCOUNT)
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    reported = {
        violation["ruleName"]
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
    }
    assert reported == acknowledged(synthesized)


def test_readme_lists_exactly_the_acknowledged_findings(
    synthesized: dict[str, SynthesizedEnvironment], model_source_app: SynthesizedApp
) -> None:
    """The shipped environments' acknowledgments and those only S3 or EFS sources need."""
    patterns = {
        finding: as_pattern(finding) for row in readme_rows() for finding in backticked(row[0])
    }
    ids = acknowledged(synthesized) | acknowledged(model_source_app.environments)
    for finding, pattern in patterns.items():
        assert any(pattern.fullmatch(rule) for rule in ids), (
            f"docs/security.md cites {finding}: not in code"
        )
    for rule in ids:
        assert any(p.fullmatch(rule) for p in patterns.values()), f"docs/security.md misses {rule}"


def test_readme_reasons_cite_only_actions_the_templates_grant(
    synthesized: dict[str, SynthesizedEnvironment], model_source_app: SynthesizedApp
) -> None:
    granted = {
        action
        for env in [*synthesized.values(), *model_source_app.environments.values()]
        for statement in identity_statements(env)
        for action in as_list(statement["Action"])
    }
    cited = {
        token
        for row in readme_rows()
        for cell in row[1:]
        for token in backticked(cell)
        if re.fullmatch(r"[a-z0-9-]+:[A-Za-z*]+", token)
    }
    assert cited
    assert cited <= granted

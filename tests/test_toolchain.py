"""Node, the update bot, pre-commit and CI are configured to agree with the repository."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_node_engines_admit_20_and_jsii_silences_20_alone() -> None:
    package = json.loads((ROOT / "package.json").read_text())
    assert package["engines"]["node"] == ">=20"
    makefile = (ROOT / "Makefile").read_text()
    assert "export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20\n" in makefile
    assert "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION" not in makefile


def test_renovate_moves_the_cdk_library_and_cli_together() -> None:
    config = json.loads((ROOT / "renovate.json").read_text())
    [group] = [
        rule
        for rule in config["packageRules"]
        if "aws-cdk-lib" in rule.get("matchPackageNames", [])
    ]
    assert set(group["matchPackageNames"]) == {"aws-cdk-lib", "aws-cdk"} and group["groupName"]
    assert "aws-cdk" in json.loads((ROOT / "package.json").read_text())["devDependencies"]
    assert re.search(r"^aws-cdk-lib==", (ROOT / "requirements.in").read_text(), re.MULTILINE)
    assert config["postUpgradeTasks"]["commands"] == ["make lock"]


def test_pre_commit_runs_the_gates_from_the_locked_venv() -> None:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    hooks = {hook["id"]: hook["entry"] for repo in config["repos"] for hook in repo["hooks"]}
    assert set(hooks) == {"ruff-check", "ruff-format", "mypy", "hadolint"}
    assert all(entry.startswith(".venv/bin/") for entry in hooks.values())


def test_the_workflow_uses_node_24_majors_of_its_actions() -> None:
    workflow = (ROOT / ".github" / "workflows" / "ci.yml").read_text()
    used = dict(re.findall(r"uses: (actions/[a-z-]+)@v(\d+)", workflow))
    assert used == {
        "actions/checkout": "6",
        "actions/setup-python": "6",
        "actions/setup-node": "6",
        "actions/upload-artifact": "7",
    }

"""Synthesizes every environment once per session, the way `cdk synth` does.

`cdk.App()` inside pytest does not read cdk.json, so its `context` (feature flags) is passed in
explicitly: otherwise tests would check templates that differ from what gets deployed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from infra.application import EnvironmentStacks, add_environment
from infra.config import ENVIRONMENTS, EnvironmentConfig

ROOT = Path(__file__).resolve().parents[2]
TEST_ACCOUNT = "123456789012"


def cdk_json_context() -> dict[str, object]:
    return json.loads((ROOT / "cdk.json").read_text())["context"]


def new_app(outdir: Path | None = None) -> cdk.App:
    return cdk.App(context=cdk_json_context(), outdir=str(outdir) if outdir else None)


@dataclass
class SynthesizedEnvironment:
    config: EnvironmentConfig
    stacks: EnvironmentStacks
    templates: dict[str, Template]  # component -> template
    template_files: dict[str, Path]  # component -> synthesized template file

    def template(self, component: str) -> Template:
        return self.templates[component]

    def resources(self, component: str, resource_type: str) -> dict[str, Any]:
        """Logical id -> resource, for one resource type."""
        return dict(self.templates[component].find_resources(resource_type))

    def assets_manifest(self, component: str) -> dict[str, Any]:
        path = self.template_files[component].with_name(
            self.template_files[component].name.replace(".template.json", ".assets.json")
        )
        return dict(json.loads(path.read_text()))


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SynthesizedEnvironment]:
    """All environments in one App with a fixed account; no cdk-nag (its own test covers it)."""
    outdir = tmp_path_factory.mktemp("cdk.out")
    app = new_app(outdir)
    result = {}
    for name, config in ENVIRONMENTS.items():
        stacks = add_environment(app, config, default_account=TEST_ACCOUNT)
        result[name] = SynthesizedEnvironment(config, stacks, {}, {})
    app.synth()
    for env in result.values():
        for component, stack in env.stacks.items():
            env.templates[component] = Template.from_stack(stack)
            env.template_files[component] = outdir / stack.template_file
    return result


@pytest.fixture(params=list(ENVIRONMENTS))
def environment(
    request: pytest.FixtureRequest, synthesized: dict[str, SynthesizedEnvironment]
) -> SynthesizedEnvironment:
    """Each environment in turn."""
    return synthesized[request.param]

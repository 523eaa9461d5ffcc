"""Synthesizes every environment once per session as `cdk synth` does: a stage each, cdk-nag on.

The session's app is built by `build_app`, as app.py builds it, so the assertion tests and the
cdk-nag gate share one synthesis. `cdk.App()` inside pytest does not read cdk.json, so its
`context` (feature flags) is passed in explicitly: otherwise tests would check templates that
differ from what gets deployed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from infra.application import build_app
from infra.config import ENVIRONMENTS, EnvironmentConfig
from infra.stage import EnvironmentStage
from tests.infra.model_source_examples import MODEL_SOURCE_EXAMPLES

ROOT = Path(__file__).resolve().parents[2]
TEST_ACCOUNT = "123456789012"


def cdk_json_context() -> dict[str, object]:
    return dict(json.loads((ROOT / "cdk.json").read_text())["context"])


def new_app(outdir: Path | None = None) -> cdk.App:
    return cdk.App(context=cdk_json_context(), outdir=str(outdir) if outdir else None)


@dataclass
class SynthesizedEnvironment:
    config: EnvironmentConfig
    stage: EnvironmentStage
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


@dataclass(frozen=True)
class SynthesizedApp:
    outdir: Path
    environments: dict[str, SynthesizedEnvironment]
    nag_failure: str | None  # what synthesis raised when cdk-nag refused it; None when it passed


def synthesize(environments: Iterable[EnvironmentConfig], outdir: Path) -> SynthesizedApp:
    """`environments` in one App with a fixed account, behind cdk-nag as in app.py."""
    app = new_app(outdir)
    stages = build_app(app, environments, default_account=TEST_ACCOUNT)
    nag_failure = None
    try:
        app.synth()
    except RuntimeError as error:  # jsii surfaces ValidationFailed as RuntimeError
        # Validation runs last: every stage's assembly is complete, only the verdict failed.
        nag_failure = str(error)
    synthesized = {}
    for stage in stages:
        env = SynthesizedEnvironment(stage.config, stage, {}, {})
        for component, stack in stage.stacks.items():
            env.templates[component] = Template.from_stack(stack)
            env.template_files[component] = Path(stage.outdir) / stack.template_file
        synthesized[stage.config.name] = env
    return SynthesizedApp(outdir, synthesized, nag_failure)


@pytest.fixture(scope="session")
def synthesized_app(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedApp:
    """The shipped environments, as `cdk synth` builds them."""
    return synthesize(ENVIRONMENTS.values(), tmp_path_factory.mktemp("cdk.out"))


@pytest.fixture(scope="session")
def model_source_app(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedApp:
    """The example environments that load their model from S3 or EFS."""
    return synthesize(MODEL_SOURCE_EXAMPLES, tmp_path_factory.mktemp("cdk.out-sources"))


@pytest.fixture(params=["shipped", "model sources"])
def any_app(
    request: pytest.FixtureRequest,
    synthesized_app: SynthesizedApp,
    model_source_app: SynthesizedApp,
) -> SynthesizedApp:
    """Each synthesis in turn, for the gates every template must pass."""
    return synthesized_app if request.param == "shipped" else model_source_app


@pytest.fixture(scope="session")
def synthesized(synthesized_app: SynthesizedApp) -> dict[str, SynthesizedEnvironment]:
    return synthesized_app.environments


@pytest.fixture(params=list(ENVIRONMENTS))
def environment(
    request: pytest.FixtureRequest, synthesized: dict[str, SynthesizedEnvironment]
) -> SynthesizedEnvironment:
    """Each environment in turn."""
    return synthesized[request.param]


@pytest.fixture(
    params=[(app, name) for app in ("shipped", "model sources") for name in ENVIRONMENTS]
)
def any_environment(
    request: pytest.FixtureRequest,
    synthesized_app: SynthesizedApp,
    model_source_app: SynthesizedApp,
) -> SynthesizedEnvironment:
    """Each environment of both syntheses in turn: the shipped ones and the model sources'."""
    app, name = request.param
    return (synthesized_app if app == "shipped" else model_source_app).environments[name]

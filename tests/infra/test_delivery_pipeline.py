"""The delivery pipeline (`cdk synth -c delivery=1`): its shape, grants and gates, from templates.

Two syntheses, one per module: the shipped environments with the pipeline in their account (public
ECR base), and the cross-account example (staging and prod elsewhere, a private DLC base).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from cfnlint.api import ManualArgs, lint  # type: ignore[import-untyped]

from infra import dlc
from infra.application import build_delivery_app, select_delivery
from infra.config import ENVIRONMENTS, ConfigError, EnvironmentConfig
from infra.delivery.pipeline_stack import DeliveryStack, pinned_cli_version
from infra.delivery.steps import smoke_command, synth_commands
from infra.outputs import Component, ServingOutput
from tests.infra.conftest import ROOT, new_app
from tests.infra.delivery_examples import (
    CONNECTION_ARN,
    CROSS_ACCOUNT_PRIVATE_DLC,
    DELIVERY,
    OTHER_ACCOUNT,
    PIPELINE_ACCOUNT,
    PRIVATE_DLC,
)
from tests.infra.test_gates import CFN_LINT_IGNORED, nag_violations
from tests.infra.test_iam_and_logs import as_list
from torchlambda import contract
from torchlambda.lifecycle import events

SHIPPED_ORDER = ["dev", "staging", "prod"]
PIPELINE_STAGES = ["Source", "Build", "UpdatePipeline", "Assets", *SHIPPED_ORDER]
DOCKER_CREDENTIALS_FILE = "$HOME/.cdk/cdk-docker-creds.json"


@dataclass(frozen=True)
class SynthesizedDelivery:
    outdir: Path
    stack: DeliveryStack
    template: dict[str, Any]
    nag_failure: str | None

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {
            logical_id: resource
            for logical_id, resource in self.template["Resources"].items()
            if resource["Type"] == resource_type
        }

    @property
    def pipeline_stages(self) -> list[dict[str, Any]]:
        (pipeline,) = self.resources("AWS::CodePipeline::Pipeline").values()
        return list(pipeline["Properties"]["Stages"])

    def stage(self, name: str) -> list[dict[str, Any]]:
        (stage,) = [stage for stage in self.pipeline_stages if stage["Name"] == name]
        return list(stage["Actions"])

    def project(self, action: dict[str, Any]) -> dict[str, Any]:
        """The CodeBuild project a CodeBuild action runs."""
        return dict(
            self.template["Resources"][action["Configuration"]["ProjectName"]["Ref"]]["Properties"]
        )

    def statements_of(self, project: dict[str, Any]) -> list[dict[str, Any]]:
        """Every statement of the project's role (its default policy)."""
        role = project["ServiceRole"]["Fn::GetAtt"][0]
        return [
            statement
            for policy in self.resources("AWS::IAM::Policy").values()
            if {"Ref": role} in policy["Properties"]["Roles"]
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        ]


def synthesize_delivery(
    outdir: Path, environments: Sequence[EnvironmentConfig] | None = None
) -> SynthesizedDelivery:
    """As app.py builds it for `-c delivery=1`, cdk-nag attached."""
    app = new_app(outdir)
    stack = build_delivery_app(app, DELIVERY, environments)
    nag_failure = None
    try:
        app.synth()
    except RuntimeError as error:  # jsii surfaces ValidationFailed as RuntimeError
        nag_failure = str(error)
    template = json.loads((outdir / stack.template_file).read_text())
    return SynthesizedDelivery(outdir, stack, template, nag_failure)


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedDelivery:
    """The shipped environments, in the pipeline's account and region."""
    return synthesize_delivery(tmp_path_factory.mktemp("cdk.out-delivery"))


@pytest.fixture(scope="module")
def cross_account(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedDelivery:
    """Staging and prod in another account, every image built from the private DLC."""
    return synthesize_delivery(
        tmp_path_factory.mktemp("cdk.out-delivery-cross"), CROSS_ACCOUNT_PRIVATE_DLC
    )


@pytest.fixture(params=["shipped", "cross-account"])
def any_delivery(
    request: pytest.FixtureRequest,
    shipped: SynthesizedDelivery,
    cross_account: SynthesizedDelivery,
) -> SynthesizedDelivery:
    return shipped if request.param == "shipped" else cross_account


def rendered(value: Any) -> Any:
    """A template value with the intrinsics a buildspec holds evaluated: the URL suffix as in
    the aws partition, other references as `<name>`."""
    if not isinstance(value, dict):
        return value
    ((function, arguments),) = value.items()
    if function == "Ref":
        return "amazonaws.com" if arguments == "AWS::URLSuffix" else f"<{arguments}>"
    if function == "Fn::Join":
        separator, parts = arguments
        return str(separator).join(str(rendered(part)) for part in parts)
    if function == "Fn::Split":
        separator, text = arguments
        return str(rendered(text)).split(separator)
    if function == "Fn::Select":
        index, items = arguments
        return rendered(items)[int(index)]
    return f"<{function}>"


def buildspec(project: dict[str, Any]) -> dict[str, Any]:
    return dict(json.loads(rendered(project["Source"]["BuildSpec"])))


# ---- The gates ------------------------------------------------------------------------------


def test_cdk_nag_finds_nothing_unacknowledged(any_delivery: SynthesizedDelivery) -> None:
    violations = nag_violations(any_delivery.outdir)
    assert any_delivery.nag_failure is None, "\n".join([any_delivery.nag_failure, *violations])
    assert violations == []


def lint_findings(template: dict[str, Any], region: str) -> list[str]:
    matches = lint(
        json.dumps(template), config=ManualArgs(regions=[region], ignore_checks=CFN_LINT_IGNORED)
    )
    # cfn-lint reports its informational I1022 (prefer Fn::Sub to an empty-delimiter Fn::Join)
    # under E3703 when the Join is a pipeline action's configuration: CDK Pipelines writes the
    # bootstrap roles' ARNs that way. Any other E3703 finding still counts.
    return [
        str(match)
        for match in matches
        if not (match.rule.id == "E3703" and "Prefer using Fn::Sub" in match.message)
    ]


def test_cfn_lint_is_clean(any_delivery: SynthesizedDelivery) -> None:
    assert lint_findings(any_delivery.template, DELIVERY.region) == []


def test_cfn_lint_gate_still_sees_a_broken_pipeline_action(shipped: SynthesizedDelivery) -> None:
    """The filter above drops only I1022's message: a real action fault is still reported (here
    a deployment reading its template from an artifact it is not given)."""
    template = json.loads(json.dumps(shipped.template))
    (pipeline,) = [
        r for r in template["Resources"].values() if r["Type"] == "AWS::CodePipeline::Pipeline"
    ]
    prepare = pipeline["Properties"]["Stages"][4]["Actions"][0]
    prepare["Configuration"]["TemplatePath"] = "Elsewhere::stack.template.json"
    (finding,) = lint_findings(template, DELIVERY.region)
    assert finding.startswith("[E3703")


# ---- The pipeline's shape -------------------------------------------------------------------


def test_stages_run_source_synth_self_update_assets_then_each_environment_in_order(
    shipped: SynthesizedDelivery,
) -> None:
    assert list(ENVIRONMENTS) == SHIPPED_ORDER
    assert [stage["Name"] for stage in shipped.pipeline_stages] == PIPELINE_STAGES


def test_source_is_the_connection_and_branch_with_pushes_starting_it(
    shipped: SynthesizedDelivery,
) -> None:
    (source,) = shipped.stage("Source")
    assert source["ActionTypeId"]["Provider"] == "CodeStarSourceConnection"
    assert source["Configuration"] == {
        "ConnectionArn": CONNECTION_ARN,
        "FullRepositoryId": DELIVERY.repository,
        "BranchName": DELIVERY.branch,
        "DetectChanges": True,
    }


def deploy_actions(actions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [a for a in actions if a["ActionTypeId"]["Provider"] == "CloudFormation"]


def test_a_person_approves_prod_before_any_of_its_stacks_changes(
    shipped: SynthesizedDelivery,
) -> None:
    for name in SHIPPED_ORDER:
        actions = shipped.stage(name)
        approvals = [a for a in actions if a["ActionTypeId"]["Category"] == "Approval"]
        if not ENVIRONMENTS[name].is_production:
            assert approvals == [], name
            continue
        (approval,) = approvals
        assert all(a["RunOrder"] > approval["RunOrder"] for a in deploy_actions(actions))


def test_every_wave_ends_with_the_smoke_test_on_its_own_api_url(
    shipped: SynthesizedDelivery,
) -> None:
    for name in SHIPPED_ORDER:
        actions = shipped.stage(name)
        (smoke,) = [a for a in actions if a["Name"] == "Smoke"]
        assert smoke["RunOrder"] > max(a["RunOrder"] for a in deploy_actions(actions))
        # The wave's Serving stack publishes its outputs as variables; the step reads ApiUrl.
        (serving,) = [
            a
            for a in deploy_actions(actions)
            if a["Configuration"]["StackName"] == ENVIRONMENTS[name].stack_name(Component.SERVING)
            and "Namespace" in a
        ]
        variables = json.loads(smoke["Configuration"]["EnvironmentVariables"])
        assert variables == [
            {
                "name": "API_URL",
                "type": "PLAINTEXT",
                "value": f"#{{{serving['Namespace']}.{ServingOutput.API_URL}}}",
            }
        ]
        commands = buildspec(shipped.project(smoke))["phases"]["build"]["commands"]
        assert commands == [smoke_command(name)] == [f'make smoke ENV={name} URL="$API_URL"']


def test_smoke_steps_may_call_the_contract_routes_only_where_the_api_uses_iam(
    shipped: SynthesizedDelivery,
) -> None:
    for name in SHIPPED_ORDER:
        config = ENVIRONMENTS[name]
        (smoke,) = [a for a in shipped.stage(name) if a["Name"] == "Smoke"]
        invokes = [
            s
            for s in shipped.statements_of(shipped.project(smoke))
            if "execute-api:Invoke" in as_list(s["Action"])
        ]
        if config.api.auth != "iam":
            assert invokes == [], name
            continue
        (statement,) = invokes
        assert sorted(as_list(statement["Resource"])) == sorted(
            f"arn:aws:execute-api:{config.region}:{PIPELINE_ACCOUNT}:*/*/{r.method}{r.path}"
            for r in contract.ROUTES
        )


def test_the_waves_update_the_stacks_cdk_deploy_updates_by_name(
    shipped: SynthesizedDelivery,
) -> None:
    """The same EnvironmentStage, stack names included: a laptop deploy and the pipeline
    change the same CloudFormation stacks."""
    for stage in shipped.stack.stages:
        config = stage.config
        assert {s.stack_name for s in stage.stacks.values()} == {
            config.stack_name(c) for c in stage.stacks
        }
        deployed = {
            a["Configuration"]["StackName"] for a in deploy_actions(shipped.stage(config.name))
        }
        assert deployed == {config.stack_name(c) for c in stage.stacks}


# ---- The synth step --------------------------------------------------------------------------


def test_synth_fetches_the_dev_champion_then_synthesizes_the_delivery_app(
    shipped: SynthesizedDelivery,
) -> None:
    (synth,) = shipped.stage("Build")
    spec = buildspec(shipped.project(synth))
    assert (
        spec["phases"]["build"]["commands"]
        == synth_commands("dev")
        == [
            "make fetch-model ENV=dev FROM=champion",
            "make synth-delivery",
        ]
    )
    assert spec["artifacts"]["base-directory"] == "cdk.out"
    # The synth builds no image (assets are staged, not built): no Docker in this project.
    assert shipped.project(synth)["Environment"]["PrivilegedMode"] is False


def test_synth_may_read_dev_champion_and_the_artifacts_stack_only(
    shipped: SynthesizedDelivery,
) -> None:
    (synth,) = shipped.stage("Build")
    bucket = f"arn:aws:s3:::torchlambda-artifacts-dev-{PIPELINE_ACCOUNT}-{DELIVERY.region}"
    own = {
        (tuple(as_list(s["Action"])), json.dumps(s["Resource"]))
        for s in shipped.statements_of(shipped.project(synth))
        if not any(
            a.startswith(("logs:", "codebuild:", "kms:")) or a.endswith("*")
            for a in as_list(s["Action"])
        )
    }
    assert own == {
        (
            ("cloudformation:DescribeStacks",),
            json.dumps(
                f"arn:aws:cloudformation:{DELIVERY.region}:{PIPELINE_ACCOUNT}:stack/"
                "TorchLambda-Artifacts-dev/*"
            ),
        ),
        (("s3:GetObject",), json.dumps(f"{bucket}/models/dev/*")),
        (("s3:ListBucket",), json.dumps(bucket)),
    }


def makefile_recipe(target: str) -> str:
    text = (ROOT / "Makefile").read_text()
    match = re.search(rf"^{re.escape(target)}:.*\n((?:\t.*\n)+)", text, re.MULTILINE)
    assert match, f"the Makefile has no {target} target"
    return match.group(1)


def test_the_steps_run_makefile_targets_with_the_variables_they_read() -> None:
    for command in [*synth_commands("dev"), smoke_command("staging")]:
        target, *assignments = command.split()[1:]
        recipe = makefile_recipe(target)
        for variable in (assignment.split("=", 1)[0] for assignment in assignments):
            assert f"$({variable})" in recipe, (command, variable)
    assert "-c delivery=1" in makefile_recipe("synth-delivery")


def test_self_update_runs_the_cdk_cli_the_repository_pins(shipped: SynthesizedDelivery) -> None:
    (update,) = shipped.stage("UpdatePipeline")
    install = buildspec(shipped.project(update))["phases"]["install"]["commands"]
    assert install == [f"npm install -g aws-cdk@{pinned_cli_version()}"]
    package = json.loads((ROOT / "package.json").read_text())
    assert pinned_cli_version() == package["devDependencies"]["aws-cdk"]


# ---- One image, and the registry it starts from ----------------------------------------------


def docker_image_hashes(manifest: Path) -> set[str]:
    return set(json.loads(manifest.read_text()).get("dockerImages", {}))


def test_the_image_is_built_once_and_every_wave_deploys_it(
    any_delivery: SynthesizedDelivery,
) -> None:
    per_stage = {
        stage.config.name: set().union(
            *(docker_image_hashes(p) for p in Path(stage.outdir).glob("*.assets.json"))
        )
        for stage in any_delivery.stack.stages
    }
    (image,) = set().union(*per_stage.values())  # one hash: models are promoted, not rebuilt
    assert all(hashes == {image} for hashes in per_stage.values()), per_stage
    docker_actions = [
        a
        for a in any_delivery.stage("Assets")
        if "Docker" in a["Configuration"]["ProjectName"]["Ref"]
    ]
    (publish,) = docker_actions
    commands = buildspec(any_delivery.project(publish))["phases"]["build"]["commands"]
    assert all(image in command for command in commands)
    # Published to each account the waves deploy to: one destination per account.
    accounts = {stage.account for stage in any_delivery.stack.stages}
    assert len(commands) == len(accounts)


def docker_asset_project(delivery: SynthesizedDelivery) -> dict[str, Any]:
    (publish,) = [
        a for a in delivery.stage("Assets") if "Docker" in a["Configuration"]["ProjectName"]["Ref"]
    ]
    return delivery.project(publish)


def test_a_public_ecr_base_needs_no_registry_login(shipped: SynthesizedDelivery) -> None:
    assert all(c.function.image.registry == "public" for c in ENVIRONMENTS.values())
    project = docker_asset_project(shipped)
    assert DOCKER_CREDENTIALS_FILE not in json.dumps(project["Source"]["BuildSpec"])
    assert not any(
        a.startswith("ecr:") for s in shipped.statements_of(project) for a in as_list(s["Action"])
    )


def test_a_private_dlc_base_gets_a_registry_login_for_the_image_build(
    cross_account: SynthesizedDelivery,
) -> None:
    """DockerCredential.ecr writes cdk-assets' credential file before the build (pre_build),
    naming the DLC registry, and grants the publishing role pull on the DLC repository."""
    project = docker_asset_project(cross_account)
    make_directory, login = buildspec(project)["phases"]["pre_build"]["commands"]
    assert make_directory == "mkdir $HOME/.cdk"
    written, destination = login.removeprefix("echo '").split("' > ")
    assert destination == DOCKER_CREDENTIALS_FILE
    assert json.loads(written) == {
        "version": "1.0",
        "domainCredentials": {dlc.registry_host(DELIVERY.region): {"ecrRepository": True}},
    }
    account = dlc.dlc_registry_account(DELIVERY.region)
    repository = f"arn:aws:ecr:{DELIVERY.region}:{account}:repository/{PRIVATE_DLC.spec.repository}"
    pulls = [
        s
        for s in cross_account.statements_of(project)
        if "ecr:BatchGetImage" in as_list(s["Action"])
    ]
    assert [as_list(s["Resource"]) for s in pulls] == [[repository]]
    # Only the image build logs in: the synth and the self-update build no image.
    for name in ("Build", "UpdatePipeline"):
        (action,) = cross_account.stage(name)
        assert DOCKER_CREDENTIALS_FILE not in json.dumps(cross_account.project(action)["Source"])


# ---- Accounts ---------------------------------------------------------------------------------


def key_policy_principals(delivery: SynthesizedDelivery) -> str:
    (key,) = delivery.resources("AWS::KMS::Key").values()
    return json.dumps(key["Properties"]["KeyPolicy"])


def test_cross_account_keys_only_when_a_wave_deploys_to_another_account(
    shipped: SynthesizedDelivery, cross_account: SynthesizedDelivery
) -> None:
    assert shipped.stack.cross_account is False
    assert OTHER_ACCOUNT not in key_policy_principals(shipped)
    assert cross_account.stack.cross_account is True
    # The other account's bootstrap roles read the artifacts (the templates) with the key.
    assert f"cdk-hnb659fds-deploy-role-{OTHER_ACCOUNT}-{DELIVERY.region}" in (
        key_policy_principals(cross_account)
    )
    (staging_stack, *_) = deploy_actions(cross_account.stage("staging"))
    assert OTHER_ACCOUNT in json.dumps(staging_stack["RoleArn"])


def test_artifacts_are_encrypted_with_a_rotated_key_and_access_logged(
    shipped: SynthesizedDelivery,
) -> None:
    (key,) = shipped.resources("AWS::KMS::Key").values()
    assert key["Properties"]["EnableKeyRotation"] is True
    (pipeline,) = shipped.resources("AWS::CodePipeline::Pipeline").values()
    store = pipeline["Properties"]["ArtifactStore"]
    bucket = shipped.template["Resources"][store["Location"]["Ref"]]["Properties"]
    assert "LoggingConfiguration" in bucket
    assert (
        bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
            "ServerSideEncryptionByDefault"
        ]["SSEAlgorithm"]
        == "aws:kms"
    )
    key_id = store["EncryptionKey"]["Id"]
    for project in shipped.resources("AWS::CodeBuild::Project").values():
        assert project["Properties"]["EncryptionKey"] == key_id


# ---- The champion trigger ---------------------------------------------------------------------


def test_dev_promoting_a_champion_starts_the_pipeline(shipped: SynthesizedDelivery) -> None:
    (rule,) = shipped.resources("AWS::Events::Rule").values()
    assert rule["Properties"]["EventPattern"] == {
        "source": [contract.LIFECYCLE_EVENT_SOURCE],
        "detail-type": [contract.CHAMPION_PROMOTED],
        "detail": {events.ENVIRONMENT: ["dev"]},
    }
    (target,) = rule["Properties"]["Targets"]
    (pipeline_id,) = shipped.resources("AWS::CodePipeline::Pipeline")
    assert {"Ref": pipeline_id} in target["Arn"]["Fn::Join"][1]
    role = target["RoleArn"]["Fn::GetAtt"][0]
    (policy,) = [
        p
        for p in shipped.resources("AWS::IAM::Policy").values()
        if {"Ref": role} in p["Properties"]["Roles"]
    ]
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "codepipeline:StartPipelineExecution"


# ---- Acknowledgments --------------------------------------------------------------------------


def acknowledgments(root: cdk.Stack) -> set[tuple[str, str]]:
    """(construct path, finding id) of every acknowledgment in the stack."""
    return {
        (construct.node.path, rule.split("::", 1)[1])
        for construct in root.node.find_all()
        for entry in construct.node.metadata
        if entry.type == cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY
        for rule in entry.data
    }


@pytest.mark.slow
def test_every_acknowledgment_answers_a_finding_of_its_own_construct(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shipped: SynthesizedDelivery
) -> None:
    """Without acknowledgments cdk-nag reports, on each of the stack's constructs, exactly the
    findings acknowledged there: none is stale, none sits elsewhere."""
    expected = acknowledgments(shipped.stack)
    monkeypatch.setattr(cdk.Validations, "acknowledge", lambda self, *rules: None)
    bare = synthesize_delivery(tmp_path)
    assert bare.nag_failure is not None
    report = json.loads((tmp_path / "validation-report.json").read_text())
    reported = {
        (construct["constructPath"].removesuffix("/Resource"), violation["ruleName"])
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
        for construct in violation["violatingConstructs"]
        if construct["constructPath"].startswith(f"{bare.stack.node.path}/")
    }
    assert reported == expected


# ---- `-c delivery=1` ----------------------------------------------------------------------------


def context_of(**values: str) -> Any:
    return values.get


def test_without_the_flag_the_app_is_the_environments() -> None:
    assert select_delivery(context_of(), DELIVERY) is None
    assert select_delivery(context_of(delivery="0"), DELIVERY) is None


def test_the_flag_selects_the_configured_pipeline() -> None:
    assert select_delivery(context_of(delivery="1"), DELIVERY) is DELIVERY


def test_the_flag_without_a_configured_pipeline_says_what_to_set() -> None:
    with pytest.raises(ConfigError) as error:
        select_delivery(context_of(delivery="1"), None)
    (line,) = str(error.value).splitlines()
    assert "set DELIVERY = DeliverySettings(" in line
    assert "infra/config.py" in line


def test_the_flag_takes_no_environment_or_build_of_its_own() -> None:
    with pytest.raises(ConfigError, match=r"^-c delivery=1 ships every environment .*-c env$"):
        select_delivery(context_of(delivery="1", env="dev"), DELIVERY)
    with pytest.raises(ConfigError, match=r"use -c delivery=1"):
        select_delivery(context_of(delivery="yes"), DELIVERY)


def test_a_misconfigured_pipeline_fails_with_one_line_per_fault() -> None:
    broken = dataclasses.replace(DELIVERY, account="1234", repository="no-slash")
    with pytest.raises(ConfigError) as error:
        select_delivery(context_of(delivery="1"), broken, CROSS_ACCOUNT_PRIVATE_DLC)
    lines = str(error.value).splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith("delivery account '1234' is malformed")
    assert lines[1].startswith("delivery repository 'no-slash' must be owner/name")
    with pytest.raises(
        ConfigError, match=r"^dev deploys to account 210987654321 .*account to '210987654321'$"
    ):
        select_delivery(
            context_of(delivery="1"),
            DELIVERY,
            [dataclasses.replace(c, account=OTHER_ACCOUNT) for c in CROSS_ACCOUNT_PRIVATE_DLC],
        )


@pytest.mark.slow
def test_the_shipped_app_asked_for_the_pipeline_says_what_to_set() -> None:
    """Not configured by default: `cdk synth -c delivery=1` (app.py, in its own process, the
    context as the CLI passes it) exits with one error line."""
    result = subprocess.run(
        [sys.executable, "app.py"],
        cwd=ROOT,
        env={**os.environ, "CDK_CONTEXT_JSON": json.dumps({"delivery": "1"})},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode != 0
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: -c delivery=1 but no delivery pipeline is configured: set ")
    assert result.stdout == ""

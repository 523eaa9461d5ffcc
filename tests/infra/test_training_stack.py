"""Cloud training, per environment: DLC build image, scoped permissions, minimal source."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from infra import dlc
from infra.config import DEV, EnvironmentConfig
from infra.settings.images import ImageChoice
from infra.stacks.training_stack import TrainingStack
from tests.infra.conftest import TEST_ACCOUNT, SynthesizedEnvironment, new_app
from torchlambda import contract


def project(template: Template) -> dict[str, Any]:
    (resource,) = template.find_resources("AWS::CodeBuild::Project").values()
    return dict(resource["Properties"])


def statements(template: Template) -> list[dict[str, Any]]:
    return [
        statement
        for policy in template.find_resources("AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_build_runs_in_the_configured_dlc(environment: SynthesizedEnvironment) -> None:
    config = environment.config
    props = project(environment.template("Training"))
    assert props["Environment"]["Image"] == config.training.image.uri(config.region)
    assert props["Environment"]["Type"] == "LINUX_CONTAINER"
    assert props["Environment"]["PrivilegedMode"] is False
    assert props["Source"]["BuildSpec"] == "training/buildspec.yml"


def test_build_is_parameterized_by_environment_variables(
    environment: SynthesizedEnvironment,
) -> None:
    config = environment.config
    variables = {
        v["Name"]: v["Value"]
        for v in project(environment.template("Training"))["Environment"]["EnvironmentVariables"]
    }
    assert variables["ENVIRONMENT_NAME"] == config.name
    assert variables["TRAINING_DATA_KEY"] == config.training.data_key
    assert float(variables["MAX_VALIDATION_MSE"]) == config.training.max_validation_mse
    assert f"torchlambda-artifacts-{config.name}-" in json.dumps(variables["ARTIFACTS_BUCKET"])


def test_build_is_encrypted_and_logged_with_retention(environment: SynthesizedEnvironment) -> None:
    template = environment.template("Training")
    props = project(template)
    (key_id,) = template.find_resources("AWS::KMS::Key")
    assert props["EncryptionKey"] == {"Fn::GetAtt": [key_id, "Arn"]}
    (log_id,) = template.find_resources("AWS::Logs::LogGroup")
    assert props["LogsConfig"]["CloudWatchLogs"] == {
        "GroupName": {"Ref": log_id},
        "Status": "ENABLED",
    }


def object_path(location: Any) -> str:
    """`/data/*` of `arn:aws:s3:::<bucket>/data/*`, plain or joined; "" for a bucket itself."""
    if isinstance(location, dict):
        location = location["Fn::Join"][1][-1]
    if not isinstance(location, str):
        return ""
    _, slash, path = location.partition("/")
    return slash + path


def test_role_reads_data_and_lists_only_its_prefixes(environment: SynthesizedEnvironment) -> None:
    env_name = environment.config.name
    template = environment.template("Training")
    reads = [s for s in statements(template) if as_list(s["Action"]) == ["s3:GetObject"]]
    assert [object_path(s["Resource"]) for s in reads] == ["/data/*"]
    listing = [s for s in statements(template) if s["Action"] == "s3:ListBucket"]
    assert [s["Condition"] for s in listing] == [
        {"StringLike": {"s3:prefix": ["data/*", f"models/{env_name}/*"]}}
    ]


def test_role_creates_models_and_replaces_only_the_pointer_by_etag(
    environment: SynthesizedEnvironment,
) -> None:
    """No build can overwrite another's objects; the pointer only with If-Match (publish.py)."""
    env_name = environment.config.name
    writes = {
        object_path(s["Resource"]): s
        for s in statements(environment.template("Training"))
        if "s3:PutObject" in as_list(s["Action"]) and s["Effect"] == "Allow"
    }
    pointer = "/" + contract.pointer_key(env_name)
    assert writes.keys() == {f"/models/{env_name}/*", pointer}
    assert {json.dumps(s["Action"]) for s in writes.values()} == {'"s3:PutObject"'}
    assert writes[f"/models/{env_name}/*"]["Condition"] == {
        "StringEquals": {"s3:if-none-match": "*"}
    }
    assert writes[pointer]["Condition"] == {"Null": {"s3:if-match": "false"}}


def test_role_has_only_what_a_build_uses(environment: SynthesizedEnvironment) -> None:
    """No logs:CreateLogGroup (the stack owns the group), no report groups (the buildspec has
    none), no bucket-wide s3:List*/GetBucket*/GetObject* on the CDK asset bucket."""
    actions = {
        action
        for statement in statements(environment.template("Training"))
        for action in as_list(statement["Action"])
    }
    assert actions == {
        "s3:GetObject",
        "s3:GetObjectVersion",
        "s3:GetBucketAcl",
        "s3:GetBucketLocation",
        "s3:ListBucket",
        "s3:PutObject",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "kms:Decrypt",
        "kms:Encrypt",
        "kms:GenerateDataKey*",
        "kms:ReEncrypt*",
    }


def test_role_reads_only_the_source_archive_of_the_asset_bucket(
    environment: SynthesizedEnvironment,
) -> None:
    template = environment.template("Training")
    archive_key = object_path(project(template)["Source"]["Location"])
    on_assets = {
        json.dumps(s["Action"]): as_list(s["Resource"])
        for s in statements(template)
        if "cdk-hnb659fds-assets-" in json.dumps(s["Resource"])
    }
    assert on_assets.keys() == {
        '["s3:GetObject", "s3:GetObjectVersion"]',
        '["s3:GetBucketAcl", "s3:GetBucketLocation"]',
    }
    assert [object_path(r) for r in on_assets['["s3:GetObject", "s3:GetObjectVersion"]']] == [
        archive_key
    ]
    (bucket,) = on_assets['["s3:GetBucketAcl", "s3:GetBucketLocation"]']
    assert object_path(bucket) == ""  # the bucket's own ARN: no object, no wildcard


def test_source_archive_holds_exactly_what_training_needs(
    environment: SynthesizedEnvironment,
) -> None:
    manifest = environment.assets_manifest("Training")
    (source,) = [
        a["source"] for a in manifest["files"].values() if a["source"].get("packaging") == "zip"
    ]
    root = environment.template_files["Training"].parent / source["path"]
    files = {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}
    assert "training/buildspec.yml" in files
    assert "training/train.py" in files
    package = "lambda_image/app/torchlambda"
    assert {f"{package}/contract.py", f"{package}/predictor/architecture.py"} <= files
    tops = {Path(f).parts[0] for f in files}
    assert tops == {"training", "tooling", "lambda_image"}
    assert "tooling/atomic.py" in files
    assert not any(f.startswith(f"{package}/handler") for f in files)  # serving stays out
    assert not any("__pycache__" in f or f.startswith("training/data/") for f in files)


def synth_training(config: EnvironmentConfig, tmp_path: Path) -> Template:
    app = new_app(tmp_path)
    stack = TrainingStack(
        app,
        "Training",
        config=config,
        env=cdk.Environment(account=TEST_ACCOUNT, region=config.region),
    )
    return Template.from_stack(stack)


def test_private_cpu_image_is_pulled_with_the_service_role(tmp_path: Path) -> None:
    config = dataclasses.replace(
        DEV, training=dataclasses.replace(DEV.training, image=ImageChoice(registry="private"))
    )
    template = synth_training(config, tmp_path)
    env = project(template)["Environment"]
    assert env["ImagePullCredentialsType"] == "SERVICE_ROLE"
    assert "763104351884.dkr.ecr.us-west-2" in json.dumps(env["Image"])
    pulls = [s for s in statements(template) if "ecr:BatchGetImage" in as_list(s["Action"])]
    assert any("repository/pytorch" in json.dumps(s["Resource"]) for s in pulls)


@pytest.mark.parametrize("region", ["us-west-2", "eu-west-1"])
def test_gpu_training_uses_the_gpu_dlc_on_a_gpu_environment(region: str, tmp_path: Path) -> None:
    config = dataclasses.replace(
        DEV,
        region=region,
        training=dataclasses.replace(
            DEV.training,
            compute="gpu",
            image=ImageChoice("pytorch:2.13-cu133-amzn2023", registry="private"),
        ),
    )
    template = synth_training(config, tmp_path)
    env = project(template)["Environment"]
    assert env["Type"] == "LINUX_GPU_CONTAINER"
    assert env["ComputeType"] == "BUILD_GENERAL1_LARGE"
    image = json.dumps(env["Image"])
    assert f"{dlc.dlc_registry_account(region)}.dkr.ecr." in image
    assert "/pytorch:2.13-cu133-amzn2023" in image
    pulls = [s for s in statements(template) if "ecr:BatchGetImage" in as_list(s["Action"])]
    assert any(
        f":{dlc.dlc_registry_account(region)}:repository/pytorch" in json.dumps(s["Resource"])
        for s in pulls
    )

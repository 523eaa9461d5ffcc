"""Template assertions per model source: what each function reads, how, and from where."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Match

from infra.outputs import Component, ModelStoreOutput
from infra.settings.model_source import EfsSource, ExistingVpc, S3Source
from tests.infra.conftest import SynthesizedApp, SynthesizedEnvironment
from torchlambda import contract

MODEL_FUNCTIONS = {Component.SERVING: "InferenceFunction", Component.BATCH: "WorkerFunction"}


def model_functions(
    environment: SynthesizedEnvironment,
) -> list[tuple[Component, dict[str, Any]]]:
    """(stack, properties) of each function that loads the model."""
    found = []
    for component, prefix in MODEL_FUNCTIONS.items():
        functions = environment.resources(component, "AWS::Lambda::Function")
        [(_, resource)] = [(k, v) for k, v in functions.items() if k.startswith(prefix)]
        found.append((component, resource["Properties"]))
    return found


def role_statements(environment: SynthesizedEnvironment, component: str) -> list[dict[str, Any]]:
    return [
        statement
        for policy in environment.resources(component, "AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def actions(statement: dict[str, Any]) -> set[str]:
    action = statement["Action"]
    return set(action if isinstance(action, list) else [action])


@pytest.fixture
def s3_example(model_source_app: SynthesizedApp) -> SynthesizedEnvironment:
    return model_source_app.environments["dev"]


@pytest.fixture(params=["staging", "prod"])
def efs_example(
    request: pytest.FixtureRequest, model_source_app: SynthesizedApp
) -> SynthesizedEnvironment:
    return model_source_app.environments[request.param]


def test_the_image_source_sets_the_image_dir_and_nothing_to_fetch(
    environment: SynthesizedEnvironment,
) -> None:
    assert Component.MODEL_STORE not in environment.stage.stacks
    for _, properties in model_functions(environment):
        variables = properties["Environment"]["Variables"]
        assert variables[contract.ENV_MODEL_SOURCE] == "image"
        assert variables[contract.ENV_MODEL_DIR] == str(contract.MODEL_DIR_IN_IMAGE)
        assert contract.ENV_MODEL_BUCKET not in variables
        assert "VpcConfig" not in properties and "FileSystemConfigs" not in properties


def test_s3_pins_the_build_and_sizes_tmp(s3_example: SynthesizedEnvironment) -> None:
    source = s3_example.config.model_source
    assert isinstance(source, S3Source)
    for _, properties in model_functions(s3_example):
        variables = properties["Environment"]["Variables"]
        assert variables[contract.ENV_MODEL_SOURCE] == "s3"
        assert variables[contract.ENV_MODEL_DIR] == str(contract.MODEL_DOWNLOAD_DIR)
        assert variables[contract.ENV_MODEL_PREFIX] == contract.model_prefix("dev", source.build_id)
        assert variables[contract.ENV_MODEL_SHA256] == source.sha256
        assert "torchlambda-artifacts-dev-" in str(variables[contract.ENV_MODEL_BUCKET])
        assert properties["EphemeralStorage"] == {
            "Size": s3_example.config.function.ephemeral_storage_mb
        }
        assert "VpcConfig" not in properties


def test_s3_functions_read_exactly_the_two_objects_of_the_build(
    s3_example: SynthesizedEnvironment,
) -> None:
    source = s3_example.config.model_source
    assert isinstance(source, S3Source)
    prefix = contract.model_prefix("dev", source.build_id)
    for component in MODEL_FUNCTIONS:
        # Each resource is the bucket's ARN joined with one key: the join's last part. (The CDK
        # may merge the worker's read of batch/in/* into the same statement.)
        keys = sorted(
            resource["Fn::Join"][1][-1]
            for statement in role_statements(s3_example, component)
            if "s3:GetObject" in actions(statement)
            for resource in (
                statement["Resource"]
                if isinstance(statement["Resource"], list)
                else [statement["Resource"]]
            )
            if contract.MODELS_PREFIX in str(resource)
        )
        assert keys == [f"/{prefix}{contract.CARD_FILE}", f"/{prefix}{contract.WEIGHTS_FILE}"]


def test_s3_serving_is_deployed_after_the_bucket(s3_example: SynthesizedEnvironment) -> None:
    stacks = s3_example.stage.stacks
    assert stacks[Component.ARTIFACTS] in stacks[Component.SERVING].dependencies


def test_efs_functions_mount_read_only_in_the_vpc(efs_example: SynthesizedEnvironment) -> None:
    source = efs_example.config.model_source
    assert isinstance(source, EfsSource)
    for component, properties in model_functions(efs_example):
        variables = properties["Environment"]["Variables"]
        assert variables[contract.ENV_MODEL_SOURCE] == "efs"
        assert variables[contract.ENV_MODEL_DIR] == str(contract.efs_model_dir(source.build_id))
        assert variables[contract.ENV_MODEL_SHA256] == source.sha256
        [mount] = properties["FileSystemConfigs"]
        assert mount["LocalMountPath"] == str(contract.EFS_MOUNT_PATH)
        assert len(properties["VpcConfig"]["SubnetIds"]) == 2
        assert len(properties["VpcConfig"]["SecurityGroupIds"]) == 1
        efs_statements = [
            s for s in role_statements(efs_example, component) if "elasticfilesystem" in str(s)
        ]
        [statement] = efs_statements
        assert actions(statement) == {"elasticfilesystem:ClientMount"}  # never ClientWrite
        assert "elasticfilesystem:AccessPointArn" in statement["Condition"]["StringEquals"]
    # The roles are not the CDK's: Lambda's VPC access comes from AWS's managed policy.
    for role in efs_example.resources(Component.SERVING, "AWS::IAM::Role").values():
        if "Inference" in str(role["Properties"].get("Description", "")):
            assert "AWSLambdaVPCAccessExecutionRole" in str(role["Properties"]["ManagedPolicyArns"])


def test_efs_store_allows_nfs_only_from_its_clients(efs_example: SynthesizedEnvironment) -> None:
    store = efs_example.template(Component.MODEL_STORE)
    store.has_resource_properties(
        "AWS::EFS::FileSystem",
        {
            "Encrypted": True,
            "FileSystemPolicy": Match.object_like({"Statement": Match.any_value()}),
        },
    )
    [ingress] = efs_example.resources(
        Component.MODEL_STORE, "AWS::EC2::SecurityGroupIngress"
    ).values()
    assert ingress["Properties"]["FromPort"] == ingress["Properties"]["ToPort"] == 2049
    assert "SourceSecurityGroupId" in ingress["Properties"]  # a group, never a CIDR
    groups = efs_example.resources(Component.MODEL_STORE, "AWS::EC2::SecurityGroup")
    for group in groups.values():
        assert "SecurityGroupIngress" not in group["Properties"]
    store.has_resource_properties(
        "AWS::EFS::AccessPoint",
        {
            "PosixUser": {"Uid": "1001", "Gid": "1001"},
            "RootDirectory": Match.object_like({"Path": "/models"}),
        },
    )
    store.resource_count_is("AWS::EFS::MountTarget", 2)
    store.has_resource_properties(
        "AWS::EC2::VPCEndpoint", {"VpcEndpointType": "Gateway", "ServiceName": Match.any_value()}
    )
    expected_retention = (
        "Retain" if efs_example.config.retention.retain_stateful_resources else "Delete"
    )
    [file_system] = efs_example.resources(Component.MODEL_STORE, "AWS::EFS::FileSystem").values()
    assert file_system["DeletionPolicy"] == expected_retention


def test_efs_copy_function_is_the_only_writer(efs_example: SynthesizedEnvironment) -> None:
    functions = efs_example.resources(Component.MODEL_STORE, "AWS::Lambda::Function")
    [copy] = [v["Properties"] for k, v in functions.items() if k.startswith("StoreCopy")]
    assert copy["ImageConfig"]["Command"] == [contract.MODEL_COPY_HANDLER]
    assert copy["Environment"]["Variables"][contract.ENV_MODELS_PREFIX] == (
        contract.environment_models_prefix(efs_example.config.name)
    )
    statements = role_statements(efs_example, Component.MODEL_STORE)
    writers = [s for s in statements if "elasticfilesystem:ClientWrite" in actions(s)]
    assert len(writers) == 1
    reads = [s for s in statements if actions(s) == {"s3:GetObject"}]
    assert [str(s["Resource"]).count("/models/") for s in reads] == [1]
    outputs = efs_example.template(Component.MODEL_STORE).to_json()["Outputs"]
    assert set(ModelStoreOutput) <= set(outputs)


def test_new_vpc_has_no_route_to_the_internet(model_source_app: SynthesizedApp) -> None:
    prod = model_source_app.environments["prod"]
    store = prod.template(Component.MODEL_STORE)
    store.resource_count_is("AWS::EC2::VPC", 1)
    for absent in ("AWS::EC2::NatGateway", "AWS::EC2::InternetGateway"):
        store.resource_count_is(absent, 0)
    store.has_resource_properties("AWS::EC2::FlowLog", {"TrafficType": "REJECT"})
    # Zones come from Fn::GetAZs at deploy time: synthesis looks nothing up.
    assert "Fn::GetAZs" in str(store.to_json())


def test_existing_vpc_is_used_as_described(model_source_app: SynthesizedApp) -> None:
    staging = model_source_app.environments["staging"]
    source = staging.config.model_source
    assert isinstance(source, EfsSource) and isinstance(source.network, ExistingVpc)
    store = staging.template(Component.MODEL_STORE)
    store.resource_count_is("AWS::EC2::VPC", 0)
    store.has_resource_properties(
        "AWS::EC2::VPCEndpoint",
        {"VpcId": source.network.vpc_id, "RouteTableIds": list(source.network.route_table_ids)},
    )
    store.has_resource_properties("AWS::EFS::FileSystem", {"ThroughputMode": "bursting"})
    for _, properties in model_functions(staging):
        assert properties["VpcConfig"]["SubnetIds"] == list(source.network.private_subnet_ids)


def test_every_model_store_log_group_has_the_configured_retention(
    efs_example: SynthesizedEnvironment,
) -> None:
    groups = efs_example.resources(Component.MODEL_STORE, "AWS::Logs::LogGroup")
    assert groups
    for group in groups.values():
        assert group["Properties"]["RetentionInDays"] == (
            efs_example.config.retention.log_retention_days
        )
    for function in efs_example.resources(Component.MODEL_STORE, "AWS::Lambda::Function").values():
        assert "LoggingConfig" in function["Properties"]

"""What a deployed environment is known by must not move: stack names, stateful logical ids,
names CloudFormation replaces a resource for, and the outputs ops/ reads.

Each environment is a stage now (stack paths `<env>/<Component>`), while CloudFormation still
knows the stacks by their names; these tests make any rename a deliberate act.
"""

from __future__ import annotations

from typing import Any

from infra.outputs import OPTIONAL_COMPONENTS, STACK_OUTPUTS
from tests.infra.conftest import SynthesizedEnvironment

# Renaming these replaces the resource and loses what it holds (data, logs, keys).
STATEFUL_LOGICAL_IDS = {
    "Artifacts": {
        "ModelArtifactsBucket2C3831B7": "AWS::S3::Bucket",
        "ModelArtifactsAccessLogs261D498C": "AWS::S3::Bucket",
    },
    "Training": {
        "TrainingKey093C9900": "AWS::KMS::Key",
        "TrainingLogsE5993150": "AWS::Logs::LogGroup",
    },
    "Serving": {
        "InferenceLogsC1F7CC05": "AWS::Logs::LogGroup",
        "HttpAccessLogs1CB64BE3": "AWS::Logs::LogGroup",
        "MonitoringTopicKey423AF5B2": "AWS::KMS::Key",
    },
    "Batch": {
        "WorkerLogs4B5B6506": "AWS::Logs::LogGroup",
        "JobFunctionLogs8FBB8684": "AWS::Logs::LogGroup",
        "JobLogsD3A1DDA2": "AWS::Logs::LogGroup",
    },
}
# Names generated from construct paths before the stages (infra/constructs/names.py).
PINNED_SCALING_POLICY_NAMES = {
    "prod": "TorchLambdaServingprodInferenceLiveAliasScalingTargetTrackingCD556105",
}


def test_logical_ids_of_stateful_resources_are_stable(environment: SynthesizedEnvironment) -> None:
    for component, expected in STATEFUL_LOGICAL_IDS.items():
        resources = environment.template(component).to_json()["Resources"]
        for logical_id, resource_type in expected.items():
            assert resources[logical_id]["Type"] == resource_type, (component, logical_id)


def test_stacks_keep_their_cloudformation_names(environment: SynthesizedEnvironment) -> None:
    """`TorchLambda-<Component>-<env>` whatever the stage path the CDK CLI shows."""
    env = environment.config.name
    assert {stack.node.path: stack.stack_name for stack in environment.stage.stacks.values()} == {
        f"{env}/Artifacts": f"TorchLambda-Artifacts-{env}",
        f"{env}/Training": f"TorchLambda-Training-{env}",
        f"{env}/Serving": f"TorchLambda-Serving-{env}",
        f"{env}/Batch": f"TorchLambda-Batch-{env}",
        f"{env}/Lifecycle": f"TorchLambda-Lifecycle-{env}",
    }


def test_scaling_policy_keeps_its_deployed_name(environment: SynthesizedEnvironment) -> None:
    policies = environment.resources("Serving", "AWS::ApplicationAutoScaling::ScalingPolicy")
    names = [policy["Properties"]["PolicyName"] for policy in policies.values()]
    pinned = PINNED_SCALING_POLICY_NAMES.get(environment.config.name)
    assert names == ([pinned] if pinned else [])


def read_across_stacks(environment: SynthesizedEnvironment) -> dict[str, set[str]]:
    """Stack name -> the outputs other stacks of the stage read from it (CDK's weak references,
    `Fn::GetStackOutput`): plumbing between stacks, not part of the contract."""
    found: dict[str, set[str]] = {}

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            reference = value.get("Fn::GetStackOutput")
            if isinstance(reference, dict):
                found.setdefault(reference["StackName"], set()).add(reference["OutputName"])
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for template in environment.templates.values():
        walk(template.to_json()["Resources"])
    return found


def test_outputs_are_exactly_the_contract_ops_reads(
    any_environment: SynthesizedEnvironment,
) -> None:
    environment = any_environment
    stage = environment.stage
    expected = {
        component: names
        for component, names in STACK_OUTPUTS.items()
        if component in stage.stacks or component not in OPTIONAL_COMPONENTS
    }
    assert {component: tuple(stack.outputs) for component, stack in stage.stacks.items()} == (
        expected
    )
    read = read_across_stacks(environment)
    for component, names in expected.items():
        outputs = environment.template(component).to_json().get("Outputs", {})
        plumbing = read.pop(environment.config.stack_name(component), set())
        assert plumbing <= set(outputs), component
        assert set(outputs) - plumbing == set(names), component
    assert read == {}  # nothing reads a stack outside the stage
    # What a pipeline's post-deployment step reads (env_from_cfn_outputs).
    assert {name: output.node.path for name, output in stage.outputs.items()} == {
        name: f"{stage.stage_name}/{component}/{name}"
        for component, names in expected.items()
        for name in names
    }

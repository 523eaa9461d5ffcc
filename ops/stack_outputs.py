"""Stack outputs, the contract between infra and ops: read through CloudFormation, never guessed."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from infra.config import EnvironmentConfig
from infra.outputs import STACK_OUTPUTS
from ops.errors import OpsError

# A stack in these states has not (yet, or any more) published usable outputs.
UNUSABLE_STATUSES = {
    "CREATE_IN_PROGRESS",
    "CREATE_FAILED",
    "ROLLBACK_IN_PROGRESS",
    "ROLLBACK_COMPLETE",
    "ROLLBACK_FAILED",
    "DELETE_IN_PROGRESS",
    "DELETE_FAILED",
    "DELETE_COMPLETE",
    "REVIEW_IN_PROGRESS",
}


def component_of(output: str) -> str:
    """The stack component that publishes `output` (per infra.outputs.STACK_OUTPUTS)."""
    for component, outputs in STACK_OUTPUTS.items():
        if output in outputs:
            return component
    raise KeyError(f"{output} is not a published stack output")


def stack_output(cloudformation: Any, config: EnvironmentConfig, output: str) -> str:
    """The value of `output` in the environment's stack, or an OpsError saying what to deploy."""
    stack_name = config.stack_name(component_of(output))
    deploy_hint = f"deploy it with `make deploy ENV={config.name}`"
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as error:
        message = error.response.get("Error", {}).get("Message", "")
        if "does not exist" in message:
            raise OpsError(
                f"stack {stack_name} is not deployed in {config.region}; {deploy_hint}"
            ) from None
        raise
    stack = stacks[0]
    status = stack.get("StackStatus", "")
    if status in UNUSABLE_STATUSES:
        raise OpsError(f"stack {stack_name} is {status}, not usable; {deploy_hint}")
    for item in stack.get("Outputs", []):
        if item.get("OutputKey") == output:
            return str(item["OutputValue"])
    raise OpsError(
        f"stack {stack_name} has no output {output}; it predates this version of the app, "
        f"{deploy_hint}"
    )

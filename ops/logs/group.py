"""Which log group the inference function writes to: the one its logging configuration names.

The Serving stack gives the function a log group of its own (with the environment's retention),
whose name CloudFormation generates; Lambda's view of the function (`LoggingConfig.LogGroup`) is
where its lines actually go. A function without one writes to Lambda's default, /aws/lambda/<name>.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from infra.config import EnvironmentConfig
from infra.outputs import Component, ServingOutput
from ops.errors import OpsError
from ops.stack_outputs import stack_output


def default_log_group(function_name: str) -> str:
    return f"/aws/lambda/{function_name}"


def function_log_group(
    cloudformation: Any, lambda_client: Any, config: EnvironmentConfig
) -> tuple[str, str]:
    """(function name, log group) of the environment's inference function."""
    name = stack_output(cloudformation, config, ServingOutput.FUNCTION_NAME)
    try:
        function = lambda_client.get_function_configuration(FunctionName=name)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            raise OpsError(
                f"function {name} (output {ServingOutput.FUNCTION_NAME} of stack "
                f"{config.stack_name(Component.SERVING)}) does not exist in {config.region}; "
                f"redeploy with `make deploy ENV={config.name}`"
            ) from None
        raise
    group = (function.get("LoggingConfig") or {}).get("LogGroup")
    return name, str(group) if group else default_log_group(name)

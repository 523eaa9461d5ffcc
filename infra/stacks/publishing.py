"""Stack outputs under the names infra/outputs.py gives them (the contract ops/ reads)."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import CfnOutput, Stack


def publish_outputs(stack: Stack, outputs: Mapping[str, tuple[str, str]]) -> dict[str, CfnOutput]:
    """One CfnOutput per name, from its (value, description); the name is its logical id."""
    return {
        name: CfnOutput(stack, name, value=value, description=description)
        for name, (value, description) in outputs.items()
    }

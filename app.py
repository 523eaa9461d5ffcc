#!/usr/bin/env python3
"""CDK entry point: stacks for every environment (or `-c env=NAME`), with cdk-nag attached."""

import os
import sys

import aws_cdk as cdk


def main() -> None:
    app = cdk.App()
    try:
        # Imported here so that a config fault prints as lines, not as an import traceback.
        from infra.application import add_environment, attach_nag, select_environments

        environments = select_environments(app.node.try_get_context("env"))
    except ValueError as error:
        sys.exit(f"error: {error}")
    for config in environments:
        add_environment(app, config, default_account=os.environ.get("CDK_DEFAULT_ACCOUNT"))
    attach_nag(app)
    app.synth()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""CDK entry point: one stage per environment (or `-c env=NAME`), with cdk-nag attached."""

import os
import sys

import aws_cdk as cdk


def main() -> None:
    app = cdk.App()
    try:
        # Imported here so that a config fault prints as lines, not as an import traceback.
        from infra.application import build_app, build_override, select_environments

        context = app.node.try_get_context
        environments = select_environments(context("env"), build_override(context))
    except ValueError as error:
        sys.exit(f"error: {error}")
    build_app(app, environments, default_account=os.environ.get("CDK_DEFAULT_ACCOUNT"))
    app.synth()


if __name__ == "__main__":
    main()

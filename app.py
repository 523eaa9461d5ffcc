#!/usr/bin/env python3
"""CDK entry point: one stage per environment (or `-c env=NAME`), with cdk-nag attached; with
`-c delivery=1`, the delivery pipeline's stack instead, its waves deploying those stages."""

import os
import sys

import aws_cdk as cdk


def main() -> None:
    app = cdk.App()
    try:
        # Imported here so that a config fault prints as lines, not as an import traceback.
        from infra.application import (
            build_app,
            build_delivery_app,
            build_override,
            select_delivery,
            select_environments,
        )
        from infra.config import DELIVERY

        context = app.node.try_get_context
        delivery = select_delivery(context, DELIVERY)
        if delivery is not None:
            build_delivery_app(app, delivery)
        else:
            environments = select_environments(context("env"), build_override(context))
            # Building reads the models the image holds: a missing one is a line here too.
            build_app(app, environments, default_account=os.environ.get("CDK_DEFAULT_ACCOUNT"))
    except ValueError as error:
        sys.exit(f"error: {error}")
    app.synth()


if __name__ == "__main__":
    main()

"""Deploy, diff and destroy one environment: check its prerequisites, then run the CDK CLI."""

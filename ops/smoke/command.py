"""`make smoke`: find the API (URL= or the stack's ApiUrl), sign when it uses IAM, report."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import closing

import boto3
from botocore.exceptions import NoCredentialsError

from infra.config import EnvironmentConfig
from ops.aws import AwsClients
from ops.errors import OpsError
from ops.smoke.contract import SmokeTest
from ops.smoke.http_client import HttpClient, Signer
from ops.stack_outputs import stack_output
from tooling.percentiles import percentile


def smoke(
    config: EnvironmentConfig | None,
    url: str | None,
    latency_requests: int,
    say: Callable[[str], None],
    *,
    deadline_seconds: float,
    session: boto3.Session | None = None,
) -> int:
    if config is None and url is None:
        raise OpsError("give ENV=<env> (reads the stack's ApiUrl) or URL=<base url>")
    signer = None
    if config is not None:
        session = session or boto3.Session()
        if url is None:
            url = stack_output(AwsClients(config, session).cloudformation, config, "ApiUrl")
        if config.api.auth == "iam":
            credentials = session.get_credentials()
            if credentials is None:
                raise NoCredentialsError()
            signer = Signer(credentials, config.region)
    auth = "SigV4 (execute-api)" if signer else "none"
    client = HttpClient(str(url), signer, deadline_seconds)  # url is given or read from the stack
    say(f"smoke test of {url} (auth: {auth})")
    with closing(client):
        report = SmokeTest(client, latency_requests).run()
    for passed in report.passed:
        say(f"  ok    {passed}")
    for violation in report.violations:
        say(f"  FAIL  {violation}")
    say(f"model version: {report.model_version or 'unknown'}")
    if report.latencies:
        ms = [s * 1000 for s in report.latencies]
        say(
            f"latency over {len(ms)} requests: p50 {percentile(ms, 0.5):.1f} ms, "
            f"p99 {percentile(ms, 0.99):.1f} ms"
        )
    if report.violations:
        say(f"{len(report.violations)} contract violation(s)")
        return 1
    say("contract holds")
    return 0

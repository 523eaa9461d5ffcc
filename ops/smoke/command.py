"""`make smoke`: find the API (URL= or the stack's ApiUrl), sign when it uses IAM, report the
contract, the connection setup and the request latency apart."""

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
    versions = ", ".join(f"{v} {version}" for v, version in report.model_versions.items())
    say(f"model version: {versions or 'unknown'}")
    if client.connect_seconds:
        say(connection_line(client.connect_seconds, client.requests, tls=client.tls))
    if report.latencies:
        say(latency_line(report.latencies))
    if report.violations:
        say(f"{len(report.violations)} contract violation(s)")
        return 1
    say("contract holds")
    return 0


def connection_line(connect_seconds: list[float], requests: int, *, tls: bool) -> str:
    """How long opening the connection took, and how many requests shared how many connections."""
    what = "TCP + TLS" if tls else "TCP"
    ms = [s * 1000 for s in connect_seconds]
    if len(ms) == 1:
        return f"connection setup ({what}): {ms[0]:.1f} ms, 1 connection for {requests} requests"
    return (
        f"connection setup ({what}): p50 {percentile(ms, 0.5):.1f} ms, max {max(ms):.1f} ms, "
        f"{len(ms)} connections for {requests} requests"
    )


def latency_line(latencies: list[float]) -> str:
    """The latency sample's spread: each request to the end of its response, setup excluded."""
    ms = [s * 1000 for s in latencies]
    spread = ", ".join(f"p{round(q * 100)} {percentile(ms, q):.1f} ms" for q in (0.5, 0.9, 0.99))
    return (
        f"latency over {len(ms)} requests: {spread}, max {max(ms):.1f} ms "
        "(connection setup excluded)"
    )

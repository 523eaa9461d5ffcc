"""Stack outputs through CloudFormation, and the one-line errors around every AWS call."""

from __future__ import annotations

from typing import Any

import pytest

from infra.config import EnvironmentConfig
from ops.aws import AwsClients
from ops.cli import main
from ops.errors import OpsError
from ops.stack_outputs import stack_output
from tests.ops.aws_stand_ins import aws_error_server, deploy_stacks


def test_reads_each_output_from_its_components_stack(
    clients: AwsClients, dev: EnvironmentConfig, deployed: dict[str, Any]
) -> None:
    for name, value in deployed.items():
        assert stack_output(clients.cloudformation, dev, name) == value


def test_stack_not_deployed_says_which_and_how(clients: AwsClients, dev: EnvironmentConfig) -> None:
    with pytest.raises(
        OpsError,
        match=r"stack TorchLambda-Artifacts-dev is not deployed in "
        r"us-west-2; deploy it with `make deploy ENV=dev`",
    ):
        stack_output(clients.cloudformation, dev, "ArtifactsBucketName")


def test_missing_output_is_named(clients: AwsClients, dev: EnvironmentConfig) -> None:
    deploy_stacks(clients.cloudformation, dev, {"ApiUrl": "https://x/"})  # Serving without the rest
    with pytest.raises(OpsError, match="TorchLambda-Serving-dev has no output FunctionName"):
        stack_output(clients.cloudformation, dev, "FunctionName")


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_no_credentials(aws_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    aws_env.delenv("AWS_ACCESS_KEY_ID")
    aws_env.delenv("AWS_SECRET_ACCESS_KEY")
    aws_env.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # never contacted
    code, _, err = run_cli(capsys, "fetch-model", "--env", "dev")
    assert code == 1
    assert err.startswith("error: no AWS credentials found")
    assert err.count("\n") == 1


@pytest.mark.integration  # a real HTTP server on 127.0.0.1, and botocore's retry delays
@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (403, "AccessDenied", "error: access denied to DescribeStacks (AccessDenied"),
        (400, "ExpiredToken", "error: AWS credentials expired (DescribeStacks"),
        (400, "Throttling", "error: AWS throttled DescribeStacks (Throttling) after 2 attempts"),
    ],
)
def test_aws_refusals_are_one_line(
    aws_env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    status: int,
    code: str,
    expected: str,
) -> None:
    with aws_error_server(status, code) as stand_in:
        aws_env.setenv("AWS_ENDPOINT_URL", stand_in.url)
        exit_code, _, err = run_cli(capsys, "train-remote", "--env", "dev")
    assert exit_code == 1
    assert err.startswith(expected), err
    assert err.count("\n") == 1
    # Standard retry mode retries throttling (AWS_MAX_ATTEMPTS=2 here) but not a refusal.
    assert stand_in.attempts == (2 if code == "Throttling" else 1)


def test_network_error(aws_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    aws_env.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # discard port: nothing listens
    code, _, err = run_cli(capsys, "train-remote", "--env", "dev")
    assert code == 1
    assert err.startswith("error: network error: Could not connect to the endpoint URL")
    assert err.count("\n") == 1

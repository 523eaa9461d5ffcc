"""`make deploy|diff|destroy ENV=...`: check what a deploy needs, say what will happen, run the CLI.

The CDK builds the inference image locally (Docker) and pulls its base from the DLC registry; it
does not log in to that registry itself. This wrapper does, for private DLC bases, and fails with
one line when credentials or Docker are missing instead of halfway through a deploy.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass

from infra import dlc
from infra.config import EnvironmentConfig, get_environment
from infra.outputs import Component
from ops.errors import OpsError
from tooling.arguments import USAGE_ERROR

CDK = ("npx", "--no-install", "cdk")


class PreflightError(OpsError):
    """A missing prerequisite, explained in one line."""

    exit_code = USAGE_ERROR


@dataclass(frozen=True)
class Checks:
    """The outside world, injectable for tests."""

    caller_account: Callable[[str], str]
    docker_ready: Callable[[], bool]
    registry_login: Callable[[str, str, str], None]  # (account, region, host)


def aws_caller_account(region: str) -> str:
    import boto3
    import botocore.exceptions

    try:
        return str(boto3.client("sts", region_name=region).get_caller_identity()["Account"])
    except botocore.exceptions.NoCredentialsError:
        raise PreflightError(
            "no AWS credentials: run `aws configure` or `aws sso login`, or set AWS_PROFILE"
        ) from None
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as error:
        raise PreflightError(f"cannot verify AWS credentials: {error}") from None


def docker_is_ready() -> bool:
    if shutil.which("docker") is None:
        return False
    probe = subprocess.run(["docker", "info"], capture_output=True, check=False, timeout=30)
    return probe.returncode == 0


def docker_login(account: str, region: str, host: str) -> None:
    """`aws ecr get-login-password | docker login` for the DLC account's registry, via boto3."""
    import base64

    import boto3

    ecr = boto3.client("ecr", region_name=region)
    token = ecr.get_authorization_token(registryIds=[account])["authorizationData"][0]
    _, password = base64.b64decode(token["authorizationToken"]).decode().split(":", 1)
    login = subprocess.run(
        ["docker", "login", "--username", "AWS", "--password-stdin", host],
        input=password.encode(),
        capture_output=True,
        check=False,
    )
    if login.returncode != 0:
        raise PreflightError(f"docker login to {host} failed: {login.stderr.decode().strip()}")


REAL_CHECKS = Checks(aws_caller_account, docker_is_ready, docker_login)


def stack_selector(config: EnvironmentConfig) -> str:
    """The environment's stacks to the CDK CLI: stacks in a stage are addressed by path
    (`dev/Serving`), and `--all` reaches only stacks at the top of the app."""
    return f"{config.stage_id}/*"


def plan(action: str, config: EnvironmentConfig, checks: Checks) -> list[str]:
    """Run the checks for `action` and return the CDK CLI command to execute."""
    if action == "destroy" and config.is_production:
        raise PreflightError("refusing to destroy prod; delete its stacks deliberately by hand")
    stacks = [config.stack_name(component) for component in Component]
    account = checks.caller_account(config.region)
    if config.account and account != config.account:
        raise PreflightError(
            f"credentials are for account {account} but {config.name} deploys to "
            f"{config.account}; switch AWS_PROFILE"
        )
    print(f"{action} {config.name}: {', '.join(stacks)} in account {account}, {config.region}")
    if action in ("deploy", "diff"):
        if not checks.docker_ready():
            raise PreflightError(
                "Docker is not running: the CDK builds the inference image locally; start Docker"
            )
        image = config.function.image
        if image.registry == "private":
            host = dlc.registry_host(config.region)
            print(f"logging in to the DLC registry {host} (base image {image.name})")
            checks.registry_login(dlc.dlc_registry_account(config.region), config.region, host)
    command = [*CDK, action, stack_selector(config), "-c", f"env={config.name}"]
    if action == "deploy" and config.is_production:
        command += ["--require-approval", "broadening"]
    return command


def deploy(action: str, env: str, checks: Checks = REAL_CHECKS) -> int:
    """Check what `action` needs in environment `env`, then run the CDK CLI; its exit status."""
    if not env:
        raise PreflightError("ENV is required, e.g. make deploy ENV=dev")
    command = plan(action, get_environment(env), checks)
    print("$ " + shlex.join(command), flush=True)
    return subprocess.run(command, check=False).returncode

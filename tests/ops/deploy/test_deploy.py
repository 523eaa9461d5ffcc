"""`make deploy|diff|destroy` (`python -m ops deploy|diff|destroy`): prerequisites checked first,
one line per failure."""

from __future__ import annotations

import dataclasses
import subprocess

import pytest

from infra.config import DEV, PROD
from infra.settings.images import ImageChoice
from ops.cli import main
from ops.deploy import command as deploy


class FakeWorld:
    def __init__(self, *, account: str = "123456789012", docker: bool = True) -> None:
        self.account, self.docker = account, docker
        self.logins: list[tuple[str, str, str]] = []

    def checks(self) -> deploy.Checks:
        return deploy.Checks(
            caller_account=lambda region: self.account,
            docker_ready=lambda: self.docker,
            registry_login=lambda *args: self.logins.append(args),
        )


def test_deploy_runs_the_pinned_cli_for_that_environments_stacks(
    capsys: pytest.CaptureFixture[str],
) -> None:
    command = deploy.plan("deploy", DEV, FakeWorld().checks())
    assert command == ["npx", "--no-install", "cdk", "deploy", "dev/*", "-c", "env=dev"]
    said = capsys.readouterr().out
    assert "TorchLambda-Artifacts-dev, TorchLambda-Training-dev, TorchLambda-Serving-dev" in said
    assert "123456789012, us-west-2" in said


def test_the_command_it_prints_can_be_pasted_into_a_shell(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ran: list[list[str]] = []

    def run(command: list[str], check: bool) -> subprocess.CompletedProcess[str]:
        ran.append(command)
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(deploy.subprocess, "run", run)
    assert deploy.deploy("diff", "dev", FakeWorld().checks()) == 0
    assert "$ npx --no-install cdk diff 'dev/*' -c env=dev\n" in capsys.readouterr().out
    assert ran == [["npx", "--no-install", "cdk", "diff", "dev/*", "-c", "env=dev"]]


def test_prod_deploys_ask_before_broadening_permissions() -> None:
    assert deploy.plan("deploy", PROD, FakeWorld().checks())[-2:] == [
        "--require-approval",
        "broadening",
    ]


def test_destroy_refuses_prod() -> None:
    with pytest.raises(deploy.PreflightError, match="refusing to destroy prod"):
        deploy.plan("destroy", PROD, FakeWorld().checks())


def test_missing_docker_fails_before_the_cli_runs() -> None:
    with pytest.raises(deploy.PreflightError, match="Docker is not running"):
        deploy.plan("deploy", DEV, FakeWorld(docker=False).checks())


def test_destroy_needs_no_docker() -> None:
    assert deploy.plan("destroy", DEV, FakeWorld(docker=False).checks())[3] == "destroy"


def test_wrong_account_is_refused() -> None:
    pinned = dataclasses.replace(DEV, account="111111111111")
    with pytest.raises(deploy.PreflightError, match="credentials are for account 123456789012"):
        deploy.plan("deploy", pinned, FakeWorld().checks())


def test_private_dlc_base_logs_in_to_its_registry_first() -> None:
    world = FakeWorld()
    private = dataclasses.replace(
        DEV, function=dataclasses.replace(DEV.function, image=ImageChoice(registry="private"))
    )
    deploy.plan("deploy", private, world.checks())
    assert world.logins == [
        ("763104351884", "us-west-2", "763104351884.dkr.ecr.us-west-2.amazonaws.com")
    ]


def test_public_base_needs_no_login() -> None:
    world = FakeWorld()
    deploy.plan("deploy", DEV, world.checks())
    assert world.logins == []


def test_cli_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deploy", "--env", "nope"]) == 2
    assert capsys.readouterr().err == (
        "error: unknown environment 'nope'; valid names: dev, staging, prod\n"
    )
    assert main(["destroy", "--env", "prod"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert main(["deploy", "--env", ""]) == 2
    assert "ENV is required" in capsys.readouterr().err


def test_missing_credentials_are_reported_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # never probe an instance endpoint
    with pytest.raises(deploy.PreflightError, match=r"^no AWS credentials"):
        deploy.aws_caller_account("us-west-2")

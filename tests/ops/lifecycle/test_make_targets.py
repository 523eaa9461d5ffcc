"""The lifecycle's make targets hand their variables to `python -m ops` as typed."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]


def make(*arguments: str) -> str:
    """Run the target with `setup` taken as done and the CLI replaced by a printer of its
    arguments, one in brackets each."""
    ran = subprocess.run(
        ["make", "--no-print-directory", "-o", "setup", *arguments, "OPS=printf [%s]"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return ran.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("arguments", "received"),
    [
        (["retrain", "ENV=dev"], "[retrain][--env][dev]"),
        (["champion", "ENV=prod"], "[champion][--env][prod]"),
        (["promote", "ENV=dev", "BUILD=p:abc"], "[promote][--env][dev][--build][p:abc]"),
        # Without BUILD the CLI gets an empty one, and says what to give.
        (["promote", "ENV=dev"], "[promote][--env][dev][--build][]"),
        (
            ["promote", "ENV=prod", "BUILD=abc", 'FORCE=rollback: Bob\'s "bad" model'],
            '[promote][--env][prod][--build][abc][--force][rollback: Bob\'s "bad" model]',
        ),
        # The delivery pipeline's synth step.
        (
            ["fetch-model", "ENV=dev", "FROM=champion"],
            "[fetch-model][--env][dev][--from][champion]",
        ),
    ],
)
def test_variables_reach_the_command(arguments: list[str], received: str) -> None:
    assert make(*arguments) == received

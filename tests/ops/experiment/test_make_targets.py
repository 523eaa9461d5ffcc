"""The A/B report's make targets hand their variables to `python -m ops` as typed."""

from __future__ import annotations

import pytest

from tests.ops.make_targets import received_arguments


@pytest.mark.parametrize(
    ("arguments", "received"),
    [
        (["ab-report", "ENV=dev"], "[ab-report][--env][dev]"),
        (
            ["ab-report", "ENV=prod", "SINCE=36h", "PROMOTE=1"],
            "[ab-report][--env][prod][--since][36h][--promote]",
        ),
        # The log `make serve` appends to, unless SERVE_LOG names another.
        (["ab-report-local"], "[ab-report-local][--log][.serve/serve.log]"),
        (
            ["ab-report-local", "SERVE_LOG=logs/my serve.log"],
            "[ab-report-local][--log][logs/my serve.log]",
        ),
        (
            ["ab-report-local", "SERVE_LOG=a.log", "ENV=staging"],
            "[ab-report-local][--log][a.log][--env][staging]",
        ),
    ],
)
def test_variables_reach_the_command(arguments: list[str], received: str) -> None:
    assert received_arguments(*arguments) == received

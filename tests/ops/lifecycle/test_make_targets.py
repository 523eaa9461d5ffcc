"""The lifecycle's make targets hand their variables to `python -m ops` as typed."""

from __future__ import annotations

import pytest

from tests.ops.make_targets import received_arguments


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
        # ... and, for an environment running an experiment, its challenger's.
        (
            ["fetch-model", "ENV=staging", "AS=challenger"],
            "[fetch-model][--env][staging][--as][challenger]",
        ),
    ],
)
def test_variables_reach_the_command(arguments: list[str], received: str) -> None:
    assert received_arguments(*arguments) == received

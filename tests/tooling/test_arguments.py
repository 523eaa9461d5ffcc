"""One-line usage errors and checked argument types, as training's and the ops tools' CLIs use."""

from __future__ import annotations

import math

import pytest

from tooling.arguments import USAGE_ERROR, OneLineParser, checked

positive = checked(float, lambda f: math.isfinite(f) and f > 0, "a positive number")


def parser() -> OneLineParser:
    parser = OneLineParser(prog="python -m tool")
    parser.add_argument("--lr", type=positive, required=True)
    parser.add_argument("--mode", choices=("fast", "slow"), default="fast")
    return parser


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--lr", "-1"], "argument --lr: expected a positive number, got '-1'"),
        (["--lr", "nan"], "argument --lr: expected a positive number, got 'nan'"),
        (["--lr", "fast"], "argument --lr: expected a positive number, got 'fast'"),
        (["--lr", "1", "--mode", "x"], "argument --mode: invalid choice: 'x'"),
        ([], "the following arguments are required: --lr"),
    ],
)
def test_a_bad_argument_is_one_line_naming_it(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        parser().parse_args(argv)
    assert exited.value.code == USAGE_ERROR
    error = capsys.readouterr().err
    assert error.startswith(f"error: {message}") and error.count("\n") == 1, error
    assert error.endswith(" (see python -m tool --help)\n")


def test_a_good_argument_is_converted() -> None:
    assert parser().parse_args(["--lr", "0.5"]).lr == 0.5

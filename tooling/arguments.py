"""Command lines whose every usage error is one `error: ...` line on stderr, not a usage block."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import NoReturn, TypeVar

USAGE_ERROR = 2  # argparse's exit status for a bad command line
T = TypeVar("T")


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a bad argument is one actionable line and exit status USAGE_ERROR."""

    def error(self, message: str) -> NoReturn:
        self.exit(USAGE_ERROR, f"error: {self.one_line(message)}\n")

    def one_line(self, message: str) -> str:
        """The line after `error: `: argparse's message and where to read more."""
        return f"{message} (see {self.prog} --help)"


def checked(
    convert: Callable[[str], T], valid: Callable[[T], bool], wanted: str
) -> Callable[[str], T]:
    """An argparse type that converts, checks, and names what it wanted when it fails."""

    def parse(text: str) -> T:
        try:
            value = convert(text)
        except ValueError:
            pass
        else:
            if valid(value):
                return value
        raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}")

    return parse

"""The one error every part of the emulator tooling raises: a single line to print."""

from __future__ import annotations


class RieError(RuntimeError):
    """The emulator cannot be fetched or started; the message is one line."""

"""Init of any of the image's functions, without torch: a bad setting is one logged line and an
InitError, so Lambda reports an init error instead of running misconfigured.

The batch job function (no model) starts through here without importing torch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

from aws_lambda_powertools import Logger

from torchlambda.settings import Settings, SettingsError, service_name

T = TypeVar("T")


def create_logger(service: str) -> Logger:
    # POWERTOOLS_LOG_LEVEL (default INFO) is read by Logger itself.
    return Logger(service=service)


class InitError(RuntimeError):
    """The function cannot start: bad settings or a missing, corrupt or mismatched model."""


def initialize(
    environ: Mapping[str, str],
    build: Callable[[Settings, Logger], T],
    refusals: tuple[type[Exception], ...] = (SettingsError,),
) -> T:
    """The logger first, then `build` from the settings; any of `refusals` becomes InitError."""
    logger = create_logger(service_name(environ))
    try:
        return build(Settings.from_env(environ), logger)
    except refusals as problem:
        logger.error(f"init failed: {problem}")
        raise InitError(str(problem)) from None

"""Which environments app.py synthesizes: all of them, or the one `-c env=NAME` names."""

from __future__ import annotations

import pytest

from infra.application import select_environments
from infra.config import ENVIRONMENTS, STAGING, ConfigError


def test_no_env_context_selects_every_environment_in_order() -> None:
    assert select_environments(None) == list(ENVIRONMENTS.values())


def test_env_context_selects_that_environment_alone() -> None:
    assert select_environments("staging") == [STAGING]


def test_an_unknown_name_is_a_config_error_listing_the_valid_ones() -> None:
    with pytest.raises(
        ConfigError, match=r"^unknown environment 'qa'; valid names: dev, staging, prod$"
    ):
        select_environments("qa")

"""README's per-environment table is generated from infra/config.py and must match it."""

from __future__ import annotations

from infra import settings_table
from infra.config import ENVIRONMENTS


def test_readme_table_matches_the_config() -> None:
    readme = settings_table.README.read_text()
    assert settings_table.block_in(readme) == settings_table.render(), "run `make docs`"


def test_table_has_a_column_per_environment() -> None:
    header = settings_table.render().splitlines()[0]
    assert header == "| setting | " + " | ".join(ENVIRONMENTS) + " |"

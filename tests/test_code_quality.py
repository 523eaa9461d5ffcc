"""Static gates run inside the test suite so `make test` is the single verdict."""

from __future__ import annotations

import pytest

from tests.gates import mypy_result, run


def test_ruff_lint_is_clean() -> None:
    result = run("ruff", "check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_clean() -> None:
    result = run("ruff", "format", "--check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_mypy_strict_on_infra_is_clean(request: pytest.FixtureRequest) -> None:
    returncode, output = mypy_result(request.config)  # started when collection finished
    assert returncode == 0, output

"""The static gates as subprocesses; mypy starts as soon as the session knows it will run.

mypy --strict over the repository takes about ninety seconds with a cold cache (a fresh clone,
as in CI) on one core. Started before collection for a whole-suite run (and otherwise when
collection finishes), it runs beside the rest of the suite on the other core, and its test only
collects the result.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MYPY_TEST = "tests/test_code_quality.py::test_mypy_strict_on_infra_is_clean"
MYPY_RUN = pytest.StashKey[subprocess.Popen[str]]()


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )


def start_mypy() -> subprocess.Popen[str]:
    # Files and strictness come from pyproject.toml.
    return subprocess.Popen(
        [sys.executable, "-m", "mypy"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def run_mypy_test_last(items: list[pytest.Item]) -> None:
    """The mypy test waits for its process: as the last test, the rest of the suite runs first."""
    items.sort(key=lambda item: item.nodeid == MYPY_TEST)  # stable: other tests keep their order


def start_mypy_early(config: pytest.Config) -> None:
    """A run of the whole suite (no paths, -m or -k) always selects the mypy test: start mypy
    before collection, which itself takes about ten seconds, rather than after it."""
    whole_suite = config.args_source == pytest.Config.ArgsSource.TESTPATHS
    if whole_suite and not config.option.markexpr and not config.option.keyword:
        config.stash[MYPY_RUN] = start_mypy()


def start_mypy_if_selected(session: pytest.Session) -> None:
    """Once collection has decided: start mypy for a selected test, or stop an early run that
    turned out not to be (deselected by name)."""
    selected = any(item.nodeid == MYPY_TEST for item in session.items)
    if selected and MYPY_RUN not in session.config.stash:
        session.config.stash[MYPY_RUN] = start_mypy()
    elif not selected:
        stop_mypy(session)


def stop_mypy(session: pytest.Session) -> None:
    """A run the session did not wait for (its test interrupted) is not left behind."""
    process = session.config.stash.get(MYPY_RUN, None)
    if process is not None and process.poll() is None:
        process.kill()
        process.communicate()


def mypy_result(config: pytest.Config) -> tuple[int, str]:
    """The return code and output of the session's mypy run (started now if it was not)."""
    process = config.stash.get(MYPY_RUN, None) or start_mypy()
    output, _ = process.communicate()
    return process.returncode, output

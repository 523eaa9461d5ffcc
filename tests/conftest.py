"""Settings and fixtures every test shares: one moto server on 127.0.0.1 standing in for AWS."""

from __future__ import annotations

import logging
import os
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.gates import run_mypy_test_last, start_mypy_early, start_mypy_if_selected, stop_mypy

# jsii (behind aws_cdk) prints an end-of-life banner on Node 20 for every process that imports it.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


SYNTH_FIXTURES = frozenset({"synthesized_app"})
# Fixtures that run real work: a moto server, a training run, a served function over sockets.
INTEGRATION_FIXTURES = frozenset(
    {"moto_endpoint", "train_tiny", "tiny_model", "trained", "previous_model"}
)


def _synthesizes(item: pytest.Item) -> bool:
    """Uses the session's synthesized app, or builds CDK apps of its own (imports aws_cdk)."""
    if SYNTH_FIXTURES & set(getattr(item, "fixturenames", ())):
        return True
    module = getattr(item, "module", None)
    return (
        any(getattr(value, "__name__", "").startswith("aws_cdk") for value in vars(module).values())
        if module is not None
        else False
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The tiers: `make test-fast` runs the unit tier (none of these); `make test` runs everything.
    for item in items:
        if _synthesizes(item):
            item.add_marker(pytest.mark.synth)
        if INTEGRATION_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)
    run_mypy_test_last(items)


def pytest_configure(config: pytest.Config) -> None:
    start_mypy_early(config)


def pytest_collection_finish(session: pytest.Session) -> None:
    start_mypy_if_selected(session)


def pytest_sessionfinish(session: pytest.Session) -> None:
    stop_mypy(session)


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """One moto server for the whole session: starting one per test costs more than the test."""
    from moto.server import ThreadedMotoServer  # only sessions that use it pay for the import

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request is noise here
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """Dummy credentials only, no profile or config files, fast retries: nothing reaches AWS."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")  # as CodeBuild sets it for a build
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    return monkeypatch


@pytest.fixture
def moto(aws_env: pytest.MonkeyPatch, moto_endpoint: str) -> str:
    """The session's moto, emptied, behind AWS_ENDPOINT_URL (which every boto3 client honours)."""
    # Moto's backends live in this process for the whole session: start each test empty.
    reset = urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST")
    urllib.request.urlopen(reset, timeout=10).close()
    aws_env.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    return moto_endpoint


@pytest.fixture(autouse=True)
def fresh_default_boto3_session() -> Iterator[None]:
    """boto3.client() keeps a module-level default session, credentials and all: a test that made
    one would hand its stand-in credentials to every later test. Each test starts without one."""
    import boto3  # Local import: the unit tier's pure tests need no boto3 at collection.

    boto3.DEFAULT_SESSION = None
    yield
    boto3.DEFAULT_SESSION = None

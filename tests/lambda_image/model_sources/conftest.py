"""Fixtures: a build published to moto as training publishes it, the model sources' own S3
client, and a record of that client's requests that can answer some with 503 SlowDown."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.awsrequest import AWSRequest, AWSResponse
from botocore.retries.standard import ExponentialBackoff

from torchlambda import contract
from torchlambda.model_sources.transfer import model_s3_client
from torchlambda.predictor.digest import sha256_file
from torchlambda.settings import S3Model

BUCKET = "torchlambda-artifacts-model-sources-test"
ENVIRONMENT = "test"
BUILD_ID = "build-1"
SLOW_DOWN = (
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
    b"<Message>Please reduce your request rate.</Message></Error>"
)


@dataclass(frozen=True)
class Published:
    """A build in the bucket, and the local directory it was published from."""

    build_id: str
    prefix: str
    sha256: str
    source: Path

    @property
    def model(self) -> S3Model:
        return S3Model(BUCKET, self.prefix, self.sha256)

    def environment(self, model_dir: Path) -> dict[str, str]:
        """What the CDK sets for a function that downloads this build into `model_dir`."""
        return {
            contract.ENV_MODEL_SOURCE: "s3",
            contract.ENV_MODEL_BUCKET: BUCKET,
            contract.ENV_MODEL_PREFIX: self.prefix,
            contract.ENV_MODEL_SHA256: self.sha256,
            contract.ENV_MODEL_DIR: str(model_dir),
        }


def publish(s3: Any, source: Path, build_id: str = BUILD_ID) -> Published:
    prefix = contract.model_prefix(ENVIRONMENT, build_id)
    for name in (contract.CARD_FILE, contract.WEIGHTS_FILE):
        s3.put_object(Bucket=BUCKET, Key=prefix + name, Body=(source / name).read_bytes())
    return Published(build_id, prefix, sha256_file(source / contract.WEIGHTS_FILE), source)


@pytest.fixture
def s3(moto: str) -> Any:
    """The model sources' client, on the session's moto, with an empty bucket."""
    client = model_s3_client()
    client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture
def published(s3: Any, model_dir: Path) -> Published:
    return publish(s3, model_dir)


class RawBody:
    """The raw stream botocore reads an answer's body from."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.data


def range_of(request: AWSRequest) -> str | None:
    value = request.headers.get("Range")
    return value.decode() if isinstance(value, bytes) else value


class Requests:
    """Every GetObject and HeadObject the client sends (with its Range), the first `throttled`
    of them answered with 503 SlowDown before they reach S3."""

    def __init__(self, client: Any, *, throttled: int = 0, operation: str | None = None) -> None:
        self.sent: Counter[str] = Counter()
        self.ranges: list[str] = []
        self.throttled = throttled
        self.operation = operation  # the one to throttle; None: either
        self.before: Callable[[AWSRequest], None] = lambda request: None
        for name in ("GetObject", "HeadObject"):
            client.meta.events.register(f"before-send.s3.{name}", self._before_send)

    def _before_send(self, request: AWSRequest, event_name: str, **_: Any) -> AWSResponse | None:
        operation = event_name.rsplit(".", 1)[-1]
        self.sent[operation] += 1
        requested = range_of(request)
        if operation == "GetObject" and requested is not None:
            self.ranges.append(requested)
        if self.throttled and self.operation in (None, operation):
            self.throttled -= 1
            return AWSResponse(request.url, 503, {}, RawBody(SLOW_DOWN))
        self.before(request)
        return None


@pytest.fixture
def backoffs(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The backoff botocore computes before each retry, recorded; slept a thousandth of it, so
    that a throttled test takes milliseconds, not seconds."""
    delays: list[float] = []
    computed = ExponentialBackoff.delay_amount

    def recorded(self: ExponentialBackoff, context: Any) -> float:
        delay: float = computed(self, context)
        delays.append(delay)
        return delay / 1000

    monkeypatch.setattr(ExponentialBackoff, "delay_amount", recorded)
    return delays

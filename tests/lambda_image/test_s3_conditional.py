"""Conditional puts: the condition sent as is, a lost race told from any other failure."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from torchlambda.s3_conditional import (
    CREATE_ONLY,
    LOST_RACE,
    ConditionFailed,
    PutFailed,
    conditional_put,
    unchanged_since,
)


class StubS3:
    def __init__(self, failure: Exception | None = None) -> None:
        self.failure = failure
        self.calls: list[dict[str, Any]] = []

    def put_object(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        if self.failure is not None:
            raise self.failure
        return {"ETag": '"new"'}


def put(s3: StubS3, condition: Any = CREATE_ONLY) -> str:
    return conditional_put(
        s3, "bucket", "models/dev/champion.json", b"{}", content_type="a/b", condition=condition
    )


def client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "no"}}, "PutObject")


def test_the_condition_and_checksum_are_sent() -> None:
    s3 = StubS3()
    assert put(s3, unchanged_since('"old"')) == '"new"'
    (call,) = s3.calls
    assert call["IfMatch"] == '"old"' and "IfNoneMatch" not in call
    assert call["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(b"{}").digest()).decode()
    assert unchanged_since(None) == CREATE_ONLY == {"IfNoneMatch": "*"}


@pytest.mark.parametrize("code", sorted(LOST_RACE))
def test_a_lost_race_is_a_failed_condition(code: str) -> None:
    with pytest.raises(ConditionFailed, match=r"^s3://bucket/models/dev/champion\.json$"):
        put(StubS3(client_error(code)))


@pytest.mark.parametrize(
    "failure",
    [client_error("AccessDenied"), EndpointConnectionError(endpoint_url="https://s3.example")],
)
def test_any_other_failure_is_one_line(failure: Exception) -> None:
    with pytest.raises(PutFailed, match=r"^s3://bucket/models/dev/champion\.json: upload failed"):
        put(StubS3(failure))

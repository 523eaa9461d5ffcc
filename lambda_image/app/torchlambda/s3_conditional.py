"""Conditional S3 writes: create-only, or replace only what was read.

Training's publisher (the model files and ``latest.json``) and the lifecycle's promotion
(``champion.json``) write this way, so that of two writers racing for one key the later one fails
instead of silently undoing the other. The condition either holds when S3 stores the object or
the put fails; the caller says what losing means.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

CREATE_ONLY: Mapping[str, str] = {"IfNoneMatch": "*"}
# S3's answers to a conditional write that lost: 412 the condition failed, 409 a concurrent
# conditional write to the same key, NoSuchKey an If-Match on a key deleted since it was read.
LOST_RACE = frozenset({"PreconditionFailed", "ConditionalRequestConflict", "NoSuchKey"})


class ConditionFailed(RuntimeError):
    """The object is no longer as the writer read it (or already exists): nothing was written."""


class PutFailed(RuntimeError):
    """The put failed for another reason; the message is one line naming the object."""


def unchanged_since(etag: str | None) -> Mapping[str, str]:
    """The condition that a key still has the ETag read earlier, or is still absent (None)."""
    return CREATE_ONLY if etag is None else {"IfMatch": etag}


def conditional_put(
    s3: Any,
    bucket: str,
    key: str,
    body: bytes,
    *,
    content_type: str,
    condition: Mapping[str, str],
) -> str:
    """Store `body` at `key` if `condition` holds; the new object's ETag.

    ConditionFailed when it does not hold, PutFailed when the put fails otherwise.
    """
    # S3 checks the SHA-256 on arrival, so a corrupted upload fails instead of being stored.
    checksum = base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")
    try:
        answer = s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=body,
            ContentType=content_type,
            ChecksumSHA256=checksum,
            **condition,
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in LOST_RACE:
            raise ConditionFailed(f"s3://{bucket}/{key}") from None
        raise PutFailed(f"s3://{bucket}/{key}: upload failed ({error})") from None
    except BotoCoreError as error:
        raise PutFailed(f"s3://{bucket}/{key}: upload failed ({error})") from None
    return str(answer.get("ETag", ""))

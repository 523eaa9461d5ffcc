"""Reading the artifacts bucket's models: the pointer, and a build's id (layout: contract)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from ops.errors import OpsError
from torchlambda.contract import pointer_key
from training.publish import PublishError, clean_build_id

MISSING_KEY_CODES = {"NoSuchKey", "404", "NotFound"}


def published_build_id(build_id: str) -> str:
    """The id a build publishes under: CodeBuild's `project:uuid` or the bare uuid -> the uuid."""
    try:
        return clean_build_id(build_id)
    except PublishError:
        raise OpsError(
            f"BUILD={build_id!r} is not a build id; use the id printed by `make train-remote` "
            "(CodeBuild's project:uuid, or just the uuid)"
        ) from None


@dataclass(frozen=True)
class ModelPointer:
    """`models/<env>/latest.json`: the build whose model is current, written after its files."""

    build_id: str
    sha256: str
    raw: dict[str, Any]

    @classmethod
    def parse(cls, body: bytes, where: str) -> ModelPointer:
        try:
            data = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise OpsError(f"{where} is not valid JSON ({error})") from None
        if not isinstance(data, dict):
            raise OpsError(f"{where} must be a JSON object")
        missing = [key for key in ("build_id", "sha256") if not isinstance(data.get(key), str)]
        if missing:
            raise OpsError(f"{where} lacks {', '.join(missing)}; was it written by training?")
        return cls(build_id=published_build_id(data["build_id"]), sha256=data["sha256"], raw=data)


def is_missing_key(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in MISSING_KEY_CODES


def read_pointer(s3: Any, bucket: str, environment: str) -> ModelPointer:
    key = pointer_key(environment)
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as error:
        if is_missing_key(error):
            raise OpsError(
                f"no model published for {environment} yet (s3://{bucket}/{key} is missing); "
                f"run `make train-remote ENV={environment}`"
            ) from None
        raise
    return ModelPointer.parse(body, f"s3://{bucket}/{key}")

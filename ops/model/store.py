"""Reading the artifacts bucket's models: the two pointers, and a build's id (layout: contract)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from botocore.exceptions import ClientError

from ops.errors import OpsError
from torchlambda.build_ids import BuildIdError, clean_build_id
from torchlambda.contract import POINTER_FILE, champion_key, pointer_key

MISSING_KEY_CODES = {"NoSuchKey", "404", "NotFound"}


def published_build_id(build_id: str) -> str:
    """The id a build publishes under: CodeBuild's `project:uuid` or the bare uuid -> the uuid."""
    try:
        return clean_build_id(build_id)
    except BuildIdError:
        raise OpsError(
            f"BUILD={build_id!r} is not a build id; use the id printed by `make train-remote` "
            "(CodeBuild's project:uuid, or just the uuid)"
        ) from None


class Pointer(StrEnum):
    """The pointers below `models/<env>/`, each naming a build and its weights' sha256."""

    LATEST = "latest"  # latest.json: the newest build training published
    CHAMPION = "champion"  # champion.json: the build the lifecycle promoted for the environment

    def key(self, environment: str) -> str:
        if self is Pointer.LATEST:
            return pointer_key(environment)
        return champion_key(environment)

    def missing(self, environment: str) -> str:
        """Why there is no such pointer yet, and the command that makes one."""
        if self is Pointer.LATEST:
            return (
                f"no model published for {environment} yet; run "
                f"`make train-remote ENV={environment}`"
            )
        return (
            f"{environment} has no champion yet; run `make retrain ENV={environment}`, or "
            f"`make promote ENV={environment} BUILD=<id>` for a published build"
        )


@dataclass(frozen=True)
class ModelPointer:
    """A pointer (`latest.json` or `champion.json`): a build and its weights' sha256, written
    after the build's files."""

    build_id: str
    sha256: str
    raw: dict[str, Any]
    file_name: str = POINTER_FILE

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
            raise OpsError(
                f"{where} lacks {', '.join(missing)}; was it written by training or a promotion?"
            )
        build_id = published_build_id(data["build_id"])
        return cls(build_id, data["sha256"], raw=data, file_name=where.rsplit("/", 1)[-1])


def is_missing_key(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in MISSING_KEY_CODES


def object_body(s3: Any, bucket: str, key: str) -> bytes | None:
    """The object's bytes, or None when there is no such key (other errors are raised)."""
    try:
        body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as error:
        if is_missing_key(error):
            return None
        raise
    return body


def find_pointer(
    s3: Any, bucket: str, environment: str, pointer: Pointer = Pointer.LATEST
) -> ModelPointer | None:
    """The environment's `pointer`, or None when it has not been written yet."""
    key = pointer.key(environment)
    body = object_body(s3, bucket, key)
    return None if body is None else ModelPointer.parse(body, f"s3://{bucket}/{key}")


def read_pointer(
    s3: Any, bucket: str, environment: str, pointer: Pointer = Pointer.LATEST
) -> ModelPointer:
    """The environment's `pointer`, or an OpsError saying how to write it."""
    found = find_pointer(s3, bucket, environment, pointer)
    if found is None:
        where = f"s3://{bucket}/{pointer.key(environment)}"
        raise OpsError(f"{pointer.missing(environment)} ({where} is missing)")
    return found

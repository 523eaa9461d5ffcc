"""Publish a trained model to the artifacts bucket, the pointer last.

``python -m training.publish --model-dir DIR --bucket B --environment ENV --build-id ID``
uploads ``model.pth``, ``model.json`` and ``training.png`` to ``models/<env>/<build id>/`` and then
writes ``models/<env>/latest.json``. A reader that follows the pointer therefore always finds a
complete model: when the check, the quality gate or any upload fails, the pointer is not touched.

Every write is conditional, and the training role allows no other kind: the model files are
created only where no object exists (``If-None-Match: *``), so a build never replaces another
build's files, and the pointer is replaced only if it still has the ETag read before the uploads
(``If-Match``; ``If-None-Match`` when there was none), so of two builds racing to move it the
later one fails instead of silently undoing the other.

With ``--test-split``, the test split training held out (book CSV, ``y,x``) goes up too, to
``models/<env>/<build id>/test.csv`` (create-only, before the pointer): the retrain workflow can
score the candidate and the champion on it.

The build id may be CodeBuild's ``CODEBUILD_BUILD_ID`` as is (``<project name>:<uuid>``): only the
part after the last colon is used, so keys read ``models/dev/3f1c...-.../model.pth``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from tooling.arguments import OneLineParser
from torchlambda import build_ids
from torchlambda.contract import (
    CARD_FILE,
    PLOT_FILE,
    POINTER_FILE,
    WEIGHTS_FILE,
    held_out_split_key,
    model_prefix,
    pointer_key,
)
from torchlambda.predictor.artifact import CARD_SCHEMA_VERSION, ArtifactError, load_artifact
from torchlambda.s3_conditional import (
    CREATE_ONLY,
    ConditionFailed,
    PutFailed,
    conditional_put,
    unchanged_since,
)

CONTENT_TYPES = {
    WEIGHTS_FILE: "application/octet-stream",
    CARD_FILE: "application/json",
    PLOT_FILE: "image/png",
}
TEST_SPLIT_CONTENT_TYPE = "text/csv"


class PublishError(RuntimeError):
    """Nothing (or not the pointer) was published; the message is one line."""


def clean_build_id(raw: str) -> str:
    """`project:uuid` (CodeBuild's build id) -> `uuid` (`torchlambda.build_ids`' rule)."""
    try:
        return build_ids.clean_build_id(raw)
    except build_ids.BuildIdError as error:
        raise PublishError(str(error)) from None


def verified_card(model_dir: Path, max_val_mse: float | None) -> dict[str, Any]:
    """The model card, once the model loads as the image will load it and passes the gate."""
    for name in CONTENT_TYPES:
        if not (model_dir / name).is_file():
            raise PublishError(f"{model_dir / name}: not found")
    try:
        # Identity, architecture and finite outputs: what the image's init will check.
        card = load_artifact(model_dir).card
    except ArtifactError as error:
        raise PublishError(str(error)) from None
    if card is None:
        raise PublishError(f"{model_dir / CARD_FILE}: model card not found")
    val_mse = card.get("metrics", {}).get("validation", {}).get("mse")
    if not isinstance(val_mse, (int, float)):
        raise PublishError(f"{model_dir / CARD_FILE}: no validation MSE in the model card")
    if max_val_mse is not None and not val_mse <= max_val_mse:
        raise PublishError(
            f"quality gate: validation MSE {val_mse:.4f} is above {max_val_mse:g}; not published"
        )
    return card


def publish(
    s3: Any,
    *,
    model_dir: Path,
    bucket: str,
    environment: str,
    build_id: str,
    max_val_mse: float | None = None,
    test_split: Path | None = None,
) -> dict[str, Any]:
    """Upload the artifact (and the test split), then the pointer; returns the pointer. `s3` is a
    boto3 S3 client."""
    if not build_ids.is_key_segment(environment):
        raise PublishError(f"environment name {environment!r} is not a safe S3 key segment")
    build_id = clean_build_id(build_id)
    card = verified_card(model_dir, max_val_mse)
    if test_split is not None and not test_split.is_file():
        raise PublishError(f"{test_split}: test split not found")
    prefix = model_prefix(environment, build_id)
    pointer_condition = _unchanged_condition(s3, bucket, pointer_key(environment))
    uploads = [(model_dir / name, prefix + name, kind) for name, kind in CONTENT_TYPES.items()]
    if test_split is not None:
        uploads.append(
            (test_split, held_out_split_key(environment, build_id), TEST_SPLIT_CONTENT_TYPE)
        )
    for path, key, content_type in uploads:
        _put(
            s3,
            bucket,
            key,
            path.read_bytes(),
            content_type,
            condition=CREATE_ONLY,
            lost=f"already exists: build {build_id} was published before; nothing replaced",
        )
    pointer = {
        "schema_version": CARD_SCHEMA_VERSION,
        "environment": environment,
        "build_id": build_id,
        "prefix": prefix,
        "keys": {name: prefix + name for name in CONTENT_TYPES},
        "sha256": card["sha256"],
        "model_id": card["model_id"],
        "metrics": card["metrics"],
        "created_at": card.get("created_at"),
        "published_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
    }
    body = (json.dumps(pointer, indent=2) + "\n").encode("utf-8")
    _put(
        s3,
        bucket,
        pointer_key(environment),
        body,
        "application/json",
        condition=pointer_condition,
        lost=f"changed by another publish since this one read it; {prefix} is complete but "
        "the pointer was not moved",
    )
    return pointer


def _unchanged_condition(s3: Any, bucket: str, key: str) -> Mapping[str, str]:
    """The put condition that `key` is still as it is now: its ETag, or still absent."""
    # A listing (not HeadObject) so that a missing key is told from a forbidden one with only
    # the prefix-scoped s3:ListBucket the training role has.
    try:
        listing = s3.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1)
    except (BotoCoreError, ClientError) as error:
        raise PublishError(f"s3://{bucket}/{key}: cannot read ({error})") from None
    for item in listing.get("Contents", []):
        if item["Key"] == key:
            return unchanged_since(item["ETag"])
    return unchanged_since(None)


def _put(
    s3: Any,
    bucket: str,
    key: str,
    body: bytes,
    content_type: str,
    *,
    condition: Mapping[str, str],
    lost: str,
) -> None:
    """Upload `body` if `condition` holds; PublishError(`lost`) if it does not."""
    try:
        conditional_put(s3, bucket, key, body, content_type=content_type, condition=condition)
    except ConditionFailed:
        raise PublishError(f"s3://{bucket}/{key}: {lost}") from None
    except PutFailed as error:
        raise PublishError(str(error)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="python -m training.publish",
        description="Upload a model directory to models/<env>/<build id>/ and then point "
        f"models/<env>/{POINTER_FILE} at it.",
    )
    parser.add_argument("--model-dir", type=Path, required=True, help="what training wrote")
    parser.add_argument("--bucket", required=True, help="the artifacts bucket")
    parser.add_argument("--environment", required=True, help="environment name, e.g. dev")
    parser.add_argument(
        "--build-id", required=True, help="build id; CodeBuild's project:uuid form is accepted"
    )
    parser.add_argument(
        "--max-val-mse", type=float, help="refuse to publish above this validation MSE"
    )
    parser.add_argument(
        "--test-split",
        type=Path,
        help="the test split training held out (its --test-split-out), published beside the model",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        pointer = publish(
            boto3.client("s3"),
            model_dir=args.model_dir,
            bucket=args.bucket,
            environment=args.environment,
            build_id=args.build_id,
            max_val_mse=args.max_val_mse,
            test_split=args.test_split,
        )
    except PublishError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"published s3://{args.bucket}/{pointer['prefix']} and {pointer_key(args.environment)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

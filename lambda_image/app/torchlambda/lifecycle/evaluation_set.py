"""Which rows the candidate and the champion are scored on, and opening them in S3.

The setting (``EVALUATION_SET``, from the environment's lifecycle settings) is a key under
``data/`` (a holdout both models never trained on, ``data/holdout.csv`` by default), or
``candidate`` for the test split the candidate's own training held out and published beside it.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from torchlambda.contract import (
    CANDIDATE_TEST_SPLIT,
    DATA_PREFIX,
    DEFAULT_HOLDOUT_KEY,
    ENV_EVALUATION_SET,
    held_out_split_key,
    names_an_evaluation_set,
)
from torchlambda.lifecycle.errors import EvaluationSetError
from torchlambda.model_sources.errors import one_line
from torchlambda.model_sources.s3_object import DENIED, MISSING


def setting_fault(setting: str) -> str | None:
    """Why `setting` names no evaluation set; None when it does."""
    if names_an_evaluation_set(setting):
        return None
    return (
        f"{ENV_EVALUATION_SET}={setting!r}: expected a key under {DATA_PREFIX} (such as "
        f"{DEFAULT_HOLDOUT_KEY}) or {CANDIDATE_TEST_SPLIT!r} for the candidate's own test split"
    )


def set_key(setting: str, environment: str, build_id: str) -> str:
    """The object the setting names for this candidate."""
    fault = setting_fault(setting)
    if fault is not None:
        raise EvaluationSetError(fault)
    if setting == CANDIDATE_TEST_SPLIT:
        return held_out_split_key(environment, build_id)
    return setting


def _how_to_provide(setting: str, bucket: str, key: str) -> str:
    if setting == CANDIDATE_TEST_SPLIT:
        return (
            "training publishes it with --test-split (builds published before that have none): "
            f"retrain, or set the lifecycle's evaluation_set to a key under {DATA_PREFIX}"
        )
    return (
        f"upload the holdout there (book CSV: y,x rows), e.g. `aws s3 cp holdout.csv "
        f"s3://{bucket}/{key}`, or set the lifecycle's evaluation_set to "
        f"{CANDIDATE_TEST_SPLIT!r}"
    )


def open_set(s3: Any, bucket: str, key: str, setting: str) -> Any:
    """The set's body, a stream to read once; EvaluationSetError naming the key and how to
    provide it when there is none."""
    location = f"s3://{bucket}/{key}"
    try:
        return s3.get_object(Bucket=bucket, Key=key)["Body"]
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        # Without s3:ListBucket on the key, S3 answers a missing object with 403.
        if code in MISSING or code in DENIED:
            raise EvaluationSetError(
                f"evaluation set {location}: not found ({code}); "
                + _how_to_provide(setting, bucket, key)
            ) from None
        raise EvaluationSetError(f"evaluation set {location}: {one_line(error)}") from None
    except BotoCoreError as error:
        raise EvaluationSetError(f"evaluation set {location}: {one_line(error)}") from None

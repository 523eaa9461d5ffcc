"""Evaluate a candidate: score it and the champion on the same rows, and record the result.

``evaluate`` answers the evaluation document (``events.py``) that the workflow's Gate reads;
``write_evaluation`` stores it beside the candidate as ``evaluation.json``, create-only. Nothing is
written when anything is wrong: a missing or bad evaluation set, a candidate or champion whose
weights are not the recorded ones, a champion.json that is not a champion document. `make promote`
runs ``evaluate`` itself, then ``Gate.judge`` and ``champion.promote``.
"""

from __future__ import annotations

import json
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError

from torchlambda.build_ids import BuildIdError, clean_build_id
from torchlambda.contract import DEFAULT_MAX_ABS_X, evaluation_key
from torchlambda.lifecycle.champion import read_champion
from torchlambda.lifecycle.contenders import Contender, fetch_candidate, fetch_contender
from torchlambda.lifecycle.documents import (
    Evaluation,
    ScoredModel,
    SetRecord,
    utc_timestamp,
)
from torchlambda.lifecycle.errors import (
    EvaluationExists,
    EvaluationSetError,
    InvalidEvent,
    StorageError,
)
from torchlambda.lifecycle.evaluation_set import open_set, set_key
from torchlambda.lifecycle.gate import relative_improvement
from torchlambda.lifecycle.labelled_rows import LabelledRows
from torchlambda.lifecycle.scoring import mean_squared_errors
from torchlambda.model_sources.errors import one_line
from torchlambda.s3_conditional import CREATE_ONLY, ConditionFailed, PutFailed, conditional_put


def evaluate(
    s3: Any,
    bucket: str,
    environment: str,
    build_id: str,
    *,
    evaluation_set: str,
    work_dir: Path,
    max_abs_x: float = DEFAULT_MAX_ABS_X,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The evaluation document of build `build_id` (CodeBuild's ``project:uuid`` or the uuid)
    against the environment's champion, on `evaluation_set` (a key under data/, or
    ``candidate``). Models are downloaded below `work_dir` and removed afterwards."""
    try:
        build = clean_build_id(build_id)
    except BuildIdError as error:
        raise InvalidEvent(str(error)) from None
    key = set_key(evaluation_set, environment, build)
    # Read before scoring: a promotion may replace exactly the champion the candidate beat.
    champion = read_champion(s3, bucket, environment)
    with tempfile.TemporaryDirectory(prefix="evaluate-", dir=work_dir) as scratch:
        directory = Path(scratch)
        contenders = [
            fetch_candidate(
                s3,
                bucket,
                environment,
                build,
                directory=directory / "candidate",
                max_abs_x=max_abs_x,
            )
        ]
        if champion is not None:
            contenders.append(
                fetch_contender(
                    s3,
                    bucket,
                    environment,
                    champion.build_id,
                    sha256=champion.sha256,
                    directory=directory / "champion",
                    max_abs_x=max_abs_x,
                    role="champion",
                )
            )
        record, mses = _score(
            s3, bucket, key, setting=evaluation_set, contenders=contenders, max_abs_x=max_abs_x
        )
    candidate = _scored(contenders[0], mses[0])
    incumbent = None if champion is None else _scored(contenders[1], mses[1])
    improvement = None if incumbent is None else relative_improvement(incumbent.mse, candidate.mse)
    return Evaluation(
        environment=environment,
        evaluation_set=record,
        candidate=candidate,
        champion=incumbent,
        champion_etag=None if champion is None else champion.etag,
        improvement=improvement,
        summary=summary(record, candidate, incumbent, improvement),
        evaluated_at=utc_timestamp(now),
    ).to_dict()


def _score(
    s3: Any,
    bucket: str,
    key: str,
    *,
    setting: str,
    contenders: list[Contender],
    max_abs_x: float,
) -> tuple[SetRecord, list[float]]:
    body = open_set(s3, bucket, key, setting)
    rows = LabelledRows(body, f"evaluation set s3://{bucket}/{key}", max_abs_x)
    try:
        mses = mean_squared_errors(rows, [contender.model.module for contender in contenders])
    except (BotoCoreError, OSError) as error:  # the connection broke mid-read, retries spent
        raise EvaluationSetError(
            f"evaluation set s3://{bucket}/{key}: reading stopped ({one_line(error)})"
        ) from None
    finally:
        body.close()
    return SetRecord(key, rows.sha256, rows.rows), mses


def _scored(contender: Contender, mse: float) -> ScoredModel:
    model = contender.model
    return ScoredModel(contender.build_id, model.sha256, model.version, mse)


def summary(
    record: SetRecord,
    candidate: ScoredModel,
    champion: ScoredModel | None,
    improvement: float | None,
) -> str:
    """One line for people: both models, both MSEs, the improvement, the rows."""
    scored_on = f"on {record.rows:,} rows of {record.source}"
    first = _named("candidate", candidate)
    if champion is None or improvement is None:
        return f"{first}; no champion yet (the first model), {scored_on}"
    return f"{first} vs {_named('champion', champion)}: {improvement:+.2%} improvement, {scored_on}"


def _named(role: str, model: ScoredModel) -> str:
    return f"{role} {model.build_id} ({model.model_version}) MSE {model.mse:.6g}"


def write_evaluation(s3: Any, bucket: str, evaluation: dict[str, Any]) -> str:
    """Store the evaluation beside its candidate, create-only; its key."""
    parsed = Evaluation.from_dict(evaluation)
    key = evaluation_key(parsed.environment, parsed.candidate.build_id)
    body = (json.dumps(evaluation, indent=2) + "\n").encode("utf-8")
    try:
        conditional_put(
            s3, bucket, key, body, content_type="application/json", condition=CREATE_ONLY
        )
    except ConditionFailed:
        raise EvaluationExists(
            f"s3://{bucket}/{key} already exists: build {parsed.candidate.build_id} was "
            "evaluated before, and an evaluation is never replaced; retrain for a new candidate"
        ) from None
    except PutFailed as error:
        raise StorageError(str(error)) from None
    return key

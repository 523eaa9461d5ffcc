"""Lines for people about evaluations and champions, shared by retrain, promote and champion."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ops.errors import OpsError
from torchlambda.lifecycle import events
from torchlambda.lifecycle.documents import Evaluation, ScoredModel, SetRecord
from torchlambda.lifecycle.errors import LifecycleError

SHORT_SHA256 = 12


def short(sha256: str) -> str:
    return sha256[:SHORT_SHA256]


def scored_table(rows: Sequence[tuple[str, ScoredModel | None]]) -> list[str]:
    """A table of models side by side: their role, build, model_version, sha256 and MSE."""
    header = ("", "build", "model_version", "sha256", "MSE")
    cells = [header]
    for role, model in rows:
        if model is None:
            cells.append((role, "none", "-", "-", "-"))
        else:
            cells.append(
                (role, model.build_id, model.model_version, short(model.sha256), f"{model.mse:.6g}")
            )
    widths = [max(len(row[column]) for row in cells) for column in range(len(header))]

    def aligned(row: tuple[str, ...]) -> str:
        return "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))

    return [aligned(row).rstrip() for row in cells]


def improvement_line(improvement: float | None, over: str = "the champion") -> str:
    if improvement is None:
        return "no champion before it: the first model is judged on the absolute gate alone"
    return f"improvement over {over}: {improvement:+.2%} (relative MSE)"


def set_line(record: SetRecord, evaluated_at: str) -> str:
    return (
        f"scored on {record.source}: {record.rows:,} rows (sha256 {short(record.sha256)}), "
        f"at {evaluated_at}"
    )


def evaluation_lines(evaluation: Evaluation) -> list[str]:
    """The evaluation set, both models' MSEs side by side, and the improvement."""
    return [
        set_line(evaluation.evaluation_set, evaluation.evaluated_at),
        *scored_table([("candidate", evaluation.candidate), ("champion", evaluation.champion)]),
        improvement_line(evaluation.improvement),
    ]


def parse_evaluation(document: Any, source: str) -> Evaluation:
    """The evaluation document `source` holds (its fields checked one by one), or an OpsError."""
    try:
        return Evaluation.from_dict(document)
    except LifecycleError as error:
        raise OpsError(f"{source}: {error}") from None


def champion_evaluation_lines(champion: dict[str, Any]) -> list[str]:
    """The evaluation a champion document records: what it beat, on which rows."""
    recorded = champion.get(events.EVALUATION)
    where = f"{events.CHAMPION}.{events.EVALUATION}"
    if not isinstance(recorded, dict):
        return ["no evaluation recorded"]
    try:
        record = SetRecord.from_dict(recorded.get(events.EVALUATION_SET), where)
        candidate = ScoredModel.from_dict(recorded.get(events.CANDIDATE), where)
        previous_document = recorded.get(events.CHAMPION)
        previous = (
            None if previous_document is None else ScoredModel.from_dict(previous_document, where)
        )
    except LifecycleError as error:
        return [f"its recorded evaluation is unreadable: {error}"]
    improvement = recorded.get(events.IMPROVEMENT)
    return [
        set_line(record, str(recorded.get(events.EVALUATED_AT, "?"))),
        *scored_table([("champion", candidate), ("previous", previous)]),
        improvement_line(
            improvement if isinstance(improvement, (int, float)) else None, "the previous champion"
        ),
    ]

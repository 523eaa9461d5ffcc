"""The documents the retrain workflow passes between its states and its two functions.

The state machine (``infra/constructs/retrain_workflow.py``) builds each payload and each Choice
from these names, and the functions parse and answer them here, so a renamed field breaks a test,
not a retrain.

==================  ============================================================================
document            shape
==================  ============================================================================
retrain request     the execution's input: ``{"trigger": "manual" | "schedule" | "data",
                    "key": <the new data object, for "data">}``
training            Train's answer, kept at ``$.training``: ``{"build_id": <project:uuid>}``
evaluate event      ``{"build_id": <project:uuid or uuid>}``
evaluation          evaluate's answer, kept at ``$.evaluation`` and written to the candidate's
                    ``evaluation.json``: ``{"environment", "evaluation_set": {"source",
                    "sha256", "rows"}, "candidate": <scored model>, "champion": <scored model>
                    or null, "champion_etag": <champion.json's ETag> or null, "improvement":
                    <relative MSE improvement over the champion> or null, "summary": <one line>,
                    "evaluated_at"}``
scored model        ``{"build_id", "sha256", "model_version", "mse"}``
promote event       ``{"evaluation": <evaluation>, "promoted_by": <execution ARN>}``
champion            promote's answer (and ``champion.json``), kept at ``$.champion``
verdict             the execution's outcome, kept at ``$.verdict``: ``{"status": "promoted" |
                    "rejected", "reason"}``
==================  ============================================================================
"""

from __future__ import annotations

# The retrain request.
TRIGGER = "trigger"
MANUAL = "manual"
SCHEDULE = "schedule"
DATA = "data"
KEY = "key"

# Where each answer is kept in the execution's state.
TRAINING = "training"
EVALUATION = "evaluation"
CHAMPION = "champion"
VERDICT = "verdict"
ERROR = "error"  # a caught failure: {"Error", "Cause"}

# Train's answer and the evaluate event.
BUILD_ID = "build_id"

# The evaluation.
ENVIRONMENT = "environment"
EVALUATION_SET = "evaluation_set"
CANDIDATE = "candidate"
CHAMPION_ETAG = "champion_etag"
IMPROVEMENT = "improvement"
SUMMARY = "summary"
EVALUATED_AT = "evaluated_at"

# The evaluation set: {"source": <its key>, "sha256", "rows"}.
SOURCE = "source"
ROWS = "rows"

# A scored model.
SHA256 = "sha256"
MODEL_VERSION = "model_version"
MSE = "mse"

# The promote event.
PROMOTED_BY = "promoted_by"

# The champion (champion.json), beside the names above: environment, build_id, sha256,
# model_version, evaluation (the evaluation's set, both scored models, improvement, time) and
# promoted_by. previous: {"build_id", "sha256"} of the champion it replaced, or null.
SCHEMA_VERSION = "schema_version"
MODEL_ID = "model_id"
METRICS = "metrics"
PREVIOUS = "previous"
PROMOTED_AT = "promoted_at"
FORCED = "forced"  # why a promotion skipped the gate (make promote FORCE=...), or null

# The verdict.
STATUS = "status"
REASON = "reason"
PROMOTED = "promoted"
REJECTED = "rejected"

# The "Champion promoted" event's detail: these fields of the champion document, and the
# evaluation's summary (the workflow's Announce state and `make promote` put the same event).
ANNOUNCED_CHAMPION_FIELDS = (ENVIRONMENT, BUILD_ID, SHA256, MODEL_VERSION)

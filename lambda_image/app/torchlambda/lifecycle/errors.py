"""The lifecycle functions' errors. Each message is one line that says what to do; the retrain
workflow catches every one by its name (Lambda's ``errorType``) and notifies it with its cause."""

from __future__ import annotations


class LifecycleError(RuntimeError):
    """Nothing was written: the evaluation or promotion stopped here."""


class InvalidEvent(LifecycleError):
    """The event (or the evaluation it carries) is not the document the function expects."""


class EvaluationSetError(LifecycleError):
    """The evaluation set is missing, unreadable, or holds a row that is not a finite y and an x
    the API would accept."""


class ModelRefused(LifecycleError):
    """The candidate or the champion cannot be fetched, or is not the build it is recorded as
    (sha256, model_id), or is not finite over the serving domain."""


class ChampionUnreadable(LifecycleError):
    """champion.json cannot be read, or is not a champion document."""


class EvaluationExists(LifecycleError):
    """The candidate's evaluation.json was written before; evaluations are never replaced."""


class ChampionMoved(LifecycleError):
    """Another promotion moved the champion after the candidate was evaluated."""


class StorageError(LifecycleError):
    """S3 refused a write for a reason of its own (access, throttling past the retries)."""

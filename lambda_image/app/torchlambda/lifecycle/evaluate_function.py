"""The evaluate function: configured from its environment once, then one candidate per event.

Environment: ARTIFACTS_BUCKET, ENVIRONMENT_NAME, EVALUATION_SET (a key under data/, or
``candidate``) and MAX_ABS_X (the serving domain, as the online function's). The event is Train's
answer, ``{"build_id": <project:uuid>}``; the answer is the evaluation document, also written to
the candidate's ``evaluation.json``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aws_lambda_powertools import Logger

from torchlambda import contract
from torchlambda.lifecycle import events
from torchlambda.lifecycle.errors import InvalidEvent
from torchlambda.lifecycle.evaluation import evaluate, write_evaluation
from torchlambda.lifecycle.evaluation_set import setting_fault
from torchlambda.lifecycle.function_settings import Scope, with_lifecycle_service
from torchlambda.model_sources.transfer import model_s3_client
from torchlambda.settings import Settings, SettingsError, required
from torchlambda.startup import initialize

WORK_DIR = Path("/tmp")  # Lambda's only writable path; each evaluation removes its files


class EvaluateFunction:
    def __init__(
        self,
        *,
        s3: Any,
        scope: Scope,
        evaluation_set: str,
        max_abs_x: float,
        work_dir: Path,
        logger: Logger,
    ) -> None:
        self.s3 = s3
        self.scope = scope
        self.evaluation_set = evaluation_set
        self.max_abs_x = max_abs_x
        self.work_dir = work_dir
        self.logger = logger

    def __call__(self, event: Any, context: Any) -> dict[str, Any]:
        evaluation = evaluate(
            self.s3,
            self.scope.bucket,
            self.scope.environment,
            build_id_of(event),
            evaluation_set=self.evaluation_set,
            work_dir=self.work_dir,
            max_abs_x=self.max_abs_x,
        )
        key = write_evaluation(self.s3, self.scope.bucket, evaluation)
        self.logger.info(evaluation[events.SUMMARY], extra={"evaluation_key": key})
        return evaluation


def build_id_of(event: Any) -> str:
    """The evaluate event's one field."""
    if (
        not isinstance(event, Mapping)
        or set(event) != {events.BUILD_ID}
        or not isinstance(event[events.BUILD_ID], str)
    ):
        raise InvalidEvent(
            f'the event must be {{"{events.BUILD_ID}": "<CodeBuild build id>"}} (Train\'s answer), '
            f"not {str(event)[:120]}"
        )
    build_id: str = event[events.BUILD_ID]
    return build_id


def evaluation_set_setting(environ: Mapping[str, str]) -> str:
    setting = required(environ, contract.ENV_EVALUATION_SET)
    fault = setting_fault(setting)
    if fault is not None:
        raise SettingsError(fault)
    return setting


def load_evaluate_function(
    environ: Mapping[str, str], work_dir: Path = WORK_DIR
) -> EvaluateFunction:
    """Init: the settings and the S3 client; the models are fetched per event (they change)."""

    def build(settings: Settings, logger: Logger) -> EvaluateFunction:
        return EvaluateFunction(
            s3=model_s3_client(),
            scope=Scope.from_env(environ),
            evaluation_set=evaluation_set_setting(environ),
            max_abs_x=settings.max_abs_x,
            work_dir=work_dir,
            logger=logger,
        )

    return initialize(with_lifecycle_service(environ), build)

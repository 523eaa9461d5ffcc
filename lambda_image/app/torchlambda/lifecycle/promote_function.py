"""The promote function: moves the environment's champion to the candidate the gate passed.

Environment: ARTIFACTS_BUCKET, ENVIRONMENT_NAME. The event is ``{"evaluation": <the evaluate
function's answer>, "promoted_by": <the execution's ARN>}``; the answer is the new champion
document. No torch: the candidate was verified when it was evaluated, and its card is re-read
here to show it is still that build.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger

from torchlambda.lifecycle import events
from torchlambda.lifecycle.champion import promote
from torchlambda.lifecycle.errors import InvalidEvent
from torchlambda.lifecycle.function_settings import Scope, with_lifecycle_service
from torchlambda.model_sources.transfer import model_s3_client
from torchlambda.settings import Settings
from torchlambda.startup import initialize

FIELDS = {events.EVALUATION, events.PROMOTED_BY}


class PromoteFunction:
    def __init__(self, *, s3: Any, scope: Scope, logger: Logger) -> None:
        self.s3 = s3
        self.scope = scope
        self.logger = logger

    def __call__(self, event: Any, context: Any) -> dict[str, Any]:
        if (
            not isinstance(event, Mapping)
            or set(event) != FIELDS
            or not isinstance(event[events.PROMOTED_BY], str)
        ):
            raise InvalidEvent(
                f'the event must be {{"{events.EVALUATION}": <the evaluate function\'s answer>, '
                f'"{events.PROMOTED_BY}": "<execution ARN>"}}'
            )
        champion = promote(
            self.s3,
            self.scope.bucket,
            self.scope.environment,
            event[events.EVALUATION],
            promoted_by=event[events.PROMOTED_BY],
        )
        self.logger.info(
            "champion promoted",
            extra={
                events.BUILD_ID: champion[events.BUILD_ID],
                events.MODEL_VERSION: champion[events.MODEL_VERSION],
                events.PREVIOUS: champion[events.PREVIOUS],
            },
        )
        return champion


def load_promote_function(environ: Mapping[str, str]) -> PromoteFunction:
    def build(settings: Settings, logger: Logger) -> PromoteFunction:
        return PromoteFunction(s3=model_s3_client(), scope=Scope.from_env(environ), logger=logger)

    return initialize(with_lifecycle_service(environ), build)

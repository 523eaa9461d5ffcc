"""What both lifecycle functions read from their environment (the CDK sets it): the artifacts
bucket and the environment whose champion they evaluate against and move."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from torchlambda import contract
from torchlambda.build_ids import is_key_segment
from torchlambda.settings import SettingsError, required


@dataclass(frozen=True)
class Scope:
    bucket: str
    environment: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Scope:
        environment = required(environ, contract.ENV_ENVIRONMENT_NAME)
        if not is_key_segment(environment):
            raise SettingsError(
                f"{contract.ENV_ENVIRONMENT_NAME}={environment!r}: expected an environment "
                "name such as dev (one S3 key segment)"
            )
        return cls(required(environ, contract.ENV_ARTIFACTS_BUCKET), environment)


def with_lifecycle_service(environ: Mapping[str, str]) -> dict[str, str]:
    """`environ`, its logs' service the lifecycle's unless the CDK names another."""
    return {contract.ENV_SERVICE_NAME: contract.LIFECYCLE_SERVICE_NAME, **environ}

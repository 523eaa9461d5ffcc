"""`make copy-model`: put a published build onto an EFS environment's file system.

Invokes the model store's copy function (docs/model-sources.md) and waits for its answer: the
function streams the build from S3 onto EFS, verifies it, and moves it into place atomically; it
answers at once when the build is already there. By default the build is the one the
environment's config pins its functions to, so a deploy that pins a new build goes: copy, then
deploy.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError

from infra.config import EnvironmentConfig
from infra.outputs import ArtifactsOutput, ModelStoreOutput
from infra.settings.model_source import EfsSource
from ops.aws import CLIENT_CONFIG, AwsClients
from ops.errors import OpsError
from ops.model.store import is_missing_key, published_build_id
from ops.stack_outputs import stack_output
from torchlambda.contract import CARD_FILE, model_key
from torchlambda.model_sources.copy_event import CopyRequest

# The copy runs up to Lambda's 15 minutes; the call waits a little longer, and is never retried
# by botocore (a retry would start a second copy while the first still runs).
INVOKE_CONFIG = CLIENT_CONFIG.merge(
    Config(read_timeout=15 * 60 + 30, retries={"mode": "standard", "max_attempts": 1})
)


def efs_source(config: EnvironmentConfig) -> EfsSource:
    source = config.model_source
    if not isinstance(source, EfsSource):
        raise OpsError(
            f"ENV={config.name} loads its model from {source.kind}, not EFS: there is nothing to "
            "copy (set EfsSource in infra/config.py to serve from EFS)"
        )
    return source


def card_sha256(s3: Any, bucket: str, environment: str, build_id: str) -> str:
    """The weights' sha256 the build's card records (the copy verifies the weights against it)."""
    key = model_key(environment, build_id, CARD_FILE)
    try:
        card = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except ClientError as error:
        if is_missing_key(error):
            raise OpsError(
                f"s3://{bucket}/{key} not found: is BUILD={build_id} published?"
            ) from None
        raise
    except ValueError:
        raise OpsError(f"s3://{bucket}/{key} is not a JSON model card") from None
    sha256 = card.get("sha256") if isinstance(card, dict) else None
    if not isinstance(sha256, str):
        raise OpsError(f"s3://{bucket}/{key} records no sha256; was it written by training?")
    return sha256


def copy_request(clients: AwsClients, config: EnvironmentConfig, build: str | None) -> CopyRequest:
    """The configured build, or `build` pinned to the sha256 its card records."""
    source = efs_source(config)
    if build is None:
        return CopyRequest(build_id=source.build_id, sha256=source.sha256)
    build_id = published_build_id(build)
    bucket = stack_output(clients.cloudformation, config, ArtifactsOutput.BUCKET_NAME)
    return CopyRequest(build_id, card_sha256(clients.s3, bucket, config.name, build_id))


def copy_model(
    clients: AwsClients,
    config: EnvironmentConfig,
    build: str | None,
    say: Callable[[str], None],
    lambda_client: Any = None,
) -> dict[str, Any]:
    """The copy function's answer for the build; an OpsError naming why when it fails."""
    request = copy_request(clients, config, build)
    function_name = stack_output(
        clients.cloudformation, config, ModelStoreOutput.COPY_FUNCTION_NAME
    )
    say(f"copying build {request.build_id} ({request.sha256[:12]}) into {function_name}'s EFS")
    if lambda_client is None:
        lambda_client = clients.session.client(
            "lambda", region_name=clients.region, config=INVOKE_CONFIG
        )
    response = lambda_client.invoke(
        FunctionName=function_name, Payload=json.dumps(asdict(request)).encode()
    )
    answer = json.loads(response["Payload"].read() or b"null")
    if response.get("FunctionError"):
        message = answer.get("errorMessage") if isinstance(answer, dict) else None
        raise OpsError(f"the copy failed: {message or answer}")
    if not isinstance(answer, dict):
        raise OpsError(f"the copy function answered {answer!r}, not an object")
    return answer


def report_copy(answer: dict[str, Any], say: Callable[[str], None]) -> None:
    if answer.get("already_present"):
        say(f"{answer.get('path')}: already present and verified, nothing copied")
        return
    size_mb = float(answer.get("bytes", 0)) / 1e6
    say(
        f"{answer.get('path')}: {size_mb:,.1f} MB copied and verified in "
        f"{float(answer.get('seconds', 0)):.1f} s ({float(answer.get('mb_per_s', 0)):.0f} MB/s)"
    )

"""`make ab-report ... PROMOTE=1`: promote the challenger the feedback measured, through the
lifecycle's gate, and only after the verdict "challenger better".

Which build the challenger is comes from CHALLENGER_BUILD_FILE, written beside it by `make
fetch-model AS=challenger`; its model_version must be the one the feedback measured, or the build
promoted would not be the one tested. The gate then judges the build on the evaluation set as `make
promote` does: the live verdict lets a build be put forward, never past the gate.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from infra.challenger import ChallengerBuild, ChallengerError, shown
from infra.config import EnvironmentConfig
from ops.aws import AwsClients
from ops.errors import OpsError
from ops.experiment.comparison import Verdict
from ops.lifecycle.promote import promote_build
from torchlambda import contract
from torchlambda.build_ids import BuildIdError, clean_build_id

REFUSED = "PROMOTE=1 refused"


def read_build(challenger_dir: Path, environment: str) -> ChallengerBuild:
    """The record beside the image's challenger; an OpsError says how to get one."""
    reinstall = f"`make fetch-model ENV={environment} AS=challenger BUILD=<id>`"
    try:
        build = ChallengerBuild.read(challenger_dir)
    except ChallengerError as error:
        raise OpsError(f"{REFUSED}: {error}; reinstall the challenger with {reinstall}") from None
    if build is None:
        raise OpsError(
            f"{REFUSED}: {shown(challenger_dir / contract.CHALLENGER_BUILD_FILE)} is missing, so "
            f"which build the challenger is is unknown; install it with {reinstall}, or promote "
            f"a build by hand with `make promote ENV={environment} BUILD=<id>`"
        )
    return build


def promote_challenger(
    clients: AwsClients,
    config: EnvironmentConfig,
    *,
    verdict: Verdict | None,
    measured_version: str | None,
    challenger_dir: Path,
    say: Callable[[str], None],
) -> int:
    """Promote the measured challenger through the gate; an OpsError names why not.

    `verdict` and `measured_version` are None when the feedback had no challenger."""
    if verdict is None or measured_version is None:
        raise OpsError(f"{REFUSED}: no challenger was served; nothing to promote")
    if verdict is not Verdict.BETTER:
        raise OpsError(
            f"{REFUSED}: the verdict is {verdict}, not {Verdict.BETTER}; nothing was promoted"
        )
    build = read_build(challenger_dir, config.name)
    if build.environment != config.name:
        raise OpsError(
            f"{REFUSED}: the challenger in {shown(challenger_dir)} is {build.environment}'s build "
            f"{build.build_id}, not one of {config.name}'s; promote it in {build.environment}, "
            f"or install {config.name}'s with `make fetch-model ENV={config.name} AS=challenger`"
        )
    if build.model_version != measured_version:
        raise OpsError(
            f"{REFUSED}: the challenger in {shown(challenger_dir)} (build {build.build_id}, "
            f"model_version {build.model_version}) is not the one the feedback measured "
            f"(model_version {measured_version}); promote the tested build by hand with "
            f"`make promote ENV={config.name} BUILD=<its id>`"
        )
    try:
        build_id = clean_build_id(build.build_id)
    except BuildIdError as error:
        record = challenger_dir / contract.CHALLENGER_BUILD_FILE
        raise OpsError(f"{REFUSED}: {shown(record)}: {error}") from None
    say(
        f"promoting the challenger, build {build_id} (model_version {build.model_version}), "
        f"through {config.name}'s gate"
    )
    return promote_build(clients, config, build_id, None, say)

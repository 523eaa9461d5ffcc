"""The two models an evaluation scores, fetched from S3 and verified as the image's init verifies
a model: the weights' sha256 pinned (the candidate's to its own card, the champion's to
champion.json), the card's model_id, and finite outputs over the serving domain."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torchlambda.contract import model_prefix
from torchlambda.lifecycle.cards import read_card
from torchlambda.lifecycle.errors import ModelRefused
from torchlambda.model_sources.build import fetch_build
from torchlambda.model_sources.errors import ModelSourceError
from torchlambda.predictor.artifact import ArtifactError, LoadedModel, load_artifact


@dataclass(frozen=True)
class Contender:
    build_id: str
    model: LoadedModel


def fetch_candidate(
    s3: Any, bucket: str, environment: str, build_id: str, *, directory: Path, max_abs_x: float
) -> Contender:
    """The candidate, its weights verified against the sha256 its own card records."""
    card = read_card(s3, bucket, environment, build_id, "candidate")
    return fetch_contender(
        s3,
        bucket,
        environment,
        build_id,
        sha256=str(card["sha256"]),
        directory=directory,
        max_abs_x=max_abs_x,
        role="candidate",
    )


def fetch_contender(
    s3: Any,
    bucket: str,
    environment: str,
    build_id: str,
    *,
    sha256: str,
    directory: Path,
    max_abs_x: float,
    role: str,
) -> Contender:
    """Build `build_id` downloaded into `directory` (created here) and loaded, pinned to
    `sha256`; `role` (candidate, champion) names it in errors."""
    try:
        directory.mkdir(parents=True)
        fetch_build(s3, bucket, model_prefix(environment, build_id), directory, sha256)
        model = load_artifact(directory, max_abs_x, pinned_sha256=sha256)
    except (ModelSourceError, ArtifactError) as error:
        raise ModelRefused(f"{role} {build_id}: {error}") from None
    return Contender(build_id, model)

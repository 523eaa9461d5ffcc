"""Fetch a published model, verify it, and swap it into the image's model directory atomically:
the champion's, or an experiment's challenger's with a record of which build it is."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from infra.challenger import ChallengerBuild
from infra.model_version import MODEL_DIR
from ops.errors import OpsError
from ops.model.store import (
    ModelPointer,
    Pointer,
    is_missing_key,
    published_build_id,
    read_pointer,
)
from tooling.atomic import OutputError, write_directory_atomically
from torchlambda.contract import (
    CARD_FILE,
    CHALLENGER,
    CHALLENGER_BUILD_FILE,
    CHAMPION,
    MODEL_FILES,
    WEIGHTS_FILE,
    Variant,
    model_key,
)
from torchlambda.predictor.artifact import (
    ArtifactError,
    LoadedModel,
    load_artifact,
    read_card,
    sha256_file,
)

CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class FetchedModel:
    build_id: str
    sha256: str
    model_version: str  # covers the architecture as well as the weights
    card: dict[str, Any]
    previous_card: dict[str, Any] | None
    previous_note: str  # how the replaced model was described when it had no readable card
    pointer: Pointer | None = None  # the pointer followed; None for a build named by its id
    variant: Variant = CHAMPION


def fetch_model(
    s3: Any,
    bucket: str,
    environment: str,
    build_id: str | None = None,
    *,
    model_dir: Path = MODEL_DIR,
    source: Pointer = Pointer.LATEST,
    variant: Variant = CHAMPION,
) -> FetchedModel:
    """Install `build_id`'s model (default: the one the `source` pointer names) into `model_dir`.

    The files land in a staging directory beside `model_dir` (tooling's atomic directory writer);
    only a complete, verified model is renamed into place, so any failure leaves the current model
    exactly as it was. Other files kept in `model_dir` carry over. A challenger's directory also
    gets CHALLENGER_BUILD_FILE, staged with the model, so the record always names the files beside
    it.
    """
    pointer: ModelPointer | None = None
    if build_id is None:
        pointer = read_pointer(s3, bucket, environment, source)
        build = pointer.build_id
    else:
        build = published_build_id(build_id)

    previous_card, previous_note = _describe_current(model_dir)
    verified: list[LoadedModel] = []

    def download_and_verify(staging: Path) -> None:
        for name in MODEL_FILES:
            _download(s3, bucket, model_key(environment, build, name), staging / name)
        loaded = _verify(staging, pointer)
        verified.append(loaded)
        if variant == CHALLENGER:
            record = ChallengerBuild(environment, build, loaded.sha256, loaded.version)
            (staging / CHALLENGER_BUILD_FILE).write_bytes(record.to_json())

    replaced = (*MODEL_FILES, CHALLENGER_BUILD_FILE) if variant == CHALLENGER else MODEL_FILES
    try:
        write_directory_atomically(model_dir, download_and_verify, replaced=replaced)
    except OutputError as error:
        raise OpsError(str(error)) from None
    (loaded,) = verified
    assert loaded.card is not None  # _verify refuses a model without one
    return FetchedModel(
        build_id=build,
        sha256=loaded.sha256,
        model_version=loaded.version,
        card=loaded.card,
        previous_card=previous_card,
        previous_note=previous_note,
        pointer=None if pointer is None else source,
        variant=variant,
    )


def _download(s3: Any, bucket: str, key: str, destination: Path) -> None:
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    except ClientError as error:
        if is_missing_key(error):
            raise OpsError(
                f"s3://{bucket}/{key} is missing: that build did not publish a complete model"
            ) from None
        raise
    with destination.open("wb") as stream:
        for chunk in iter(lambda: body.read(CHUNK_BYTES), b""):
            stream.write(chunk)


def _verify(staged: Path, pointer: ModelPointer | None) -> LoadedModel:
    try:
        card = read_card(staged)
    except ArtifactError as error:
        raise OpsError(f"downloaded model card rejected: {error}") from None
    if card is None:
        raise OpsError(f"downloaded model has no {CARD_FILE}")
    actual = sha256_file(staged / WEIGHTS_FILE)
    if card.get("sha256") != actual:
        raise OpsError(
            f"downloaded {WEIGHTS_FILE} has sha256 {actual[:12]} but its card records "
            f"{str(card.get('sha256'))[:12]}: corrupt or tampered download; current model kept"
        )
    if pointer is not None and pointer.sha256 != actual:
        raise OpsError(
            f"{pointer.file_name} names sha256 {pointer.sha256[:12]} but build {pointer.build_id} "
            f"holds {actual[:12]}; current model kept"
        )
    try:
        # As the image's init will: identity, architecture, finite outputs over the domain.
        return load_artifact(staged)
    except ArtifactError as error:
        raise OpsError(f"downloaded model does not load: {error}; current model kept") from None


def _describe_current(model_dir: Path) -> tuple[dict[str, Any] | None, str]:
    if not (model_dir / WEIGHTS_FILE).exists():
        return None, "none"
    try:
        card = read_card(model_dir)
    except ArtifactError:
        return None, "card unreadable or of an older schema"
    return card, "" if card else "bare model.pth, no card"


def flatten_metrics(metrics: Any, prefix: str = "") -> dict[str, Any]:
    """{'validation': {'mse': 0.1}} -> {'validation.mse': 0.1}; flat cards pass through."""
    if not isinstance(metrics, dict):
        return {prefix: metrics} if prefix else {}
    flat: dict[str, Any] = {}
    for key, value in metrics.items():
        flat.update(flatten_metrics(value, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def metrics_table(fetched: FetchedModel) -> list[str]:
    """Lines comparing the replaced model's metrics with the new one's."""
    old = fetched.previous_card or {}
    old_metrics = flatten_metrics(old.get("metrics", {}))
    new_metrics = flatten_metrics(fetched.card.get("metrics", {}))
    old_label = f"current {str(old.get('model_id'))[:12]}" if old else "current"
    if not old:
        old_label += f" ({fetched.previous_note})"
    new_label = f"new {fetched.model_version}"
    names = list(new_metrics) + [name for name in old_metrics if name not in new_metrics]
    width = max([len("metric"), *map(len, names)])
    lines = [f"{'metric':<{width}}  {old_label:>28}  {new_label:>20}"]
    for name in names:
        lines.append(
            f"{name:<{width}}  {_format(old_metrics.get(name)):>28}  "
            f"{_format(new_metrics.get(name)):>20}"
        )
    return lines


def _format(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def report_fetch(
    fetched: FetchedModel, environment: str, model_dir: Path, out: Callable[[str], None]
) -> None:
    role = " as the challenger" if fetched.variant == CHALLENGER else ""
    champion = f": {environment}'s champion" if fetched.pointer is Pointer.CHAMPION else ""
    out(
        f"installed {environment} build {fetched.build_id} "
        f"(model_version {fetched.model_version}) in {model_dir}{role}{champion}"
    )
    for line in metrics_table(fetched):
        out("  " + line)

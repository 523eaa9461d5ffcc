"""Init's first step: the model's directory, once its source has put the pinned build there."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torchlambda.model_sources.efs_source import check_efs_build
from torchlambda.settings import EfsModel, S3Model, Settings


@dataclass(frozen=True)
class LocatedModel:
    directory: Path
    fields: dict[str, Any]  # what init logs about getting the model there


def locate_model(settings: Settings) -> LocatedModel:
    source = settings.model_source
    if isinstance(source, S3Model):
        # boto3 only here: with the model in the image or on EFS, init never imports it.
        from torchlambda.model_sources.s3_source import download_model

        download = download_model(source, settings.model_dir)
        return LocatedModel(settings.model_dir, download.log_fields())
    if isinstance(source, EfsModel):
        check_efs_build(settings.model_dir)
    return LocatedModel(settings.model_dir, {})

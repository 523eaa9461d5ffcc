"""Settings from the environment: where the model comes from, each wrong value one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from torchlambda import contract
from torchlambda.settings import EfsModel, ImageModel, S3Model, Settings, SettingsError

SHA = "0123456789abcdef" * 4
S3 = {
    "MODEL_SOURCE": "s3",
    "MODEL_BUCKET": "artifacts",
    "MODEL_PREFIX": "models/dev/build-1/",
    "MODEL_SHA256": SHA,
}


def test_the_image_is_the_default_source_and_a_pin_is_optional() -> None:
    settings = Settings.from_env({})
    assert settings.model_source == ImageModel()
    assert settings.model_dir == Path(contract.MODEL_DIR_IN_IMAGE)
    assert Settings.from_env({"MODEL_SHA256": SHA}).model_source == ImageModel(SHA)
    lambdas = Settings.from_env({"AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand"})
    assert lambdas.initialization_type == "on-demand"


def test_s3_downloads_to_tmp_unless_model_dir_says_where() -> None:
    settings = Settings.from_env(S3)
    assert settings.model_source == S3Model("artifacts", "models/dev/build-1/", SHA)
    assert settings.model_dir == Path(contract.MODEL_DOWNLOAD_DIR)
    assert Settings.from_env({**S3, "MODEL_DIR": "/tmp/m"}).model_dir == Path("/tmp/m")


def test_efs_reads_model_dir_pinned() -> None:
    settings = Settings.from_env(
        {"MODEL_SOURCE": "efs", "MODEL_SHA256": SHA, "MODEL_DIR": "/mnt/models/build-1"}
    )
    assert settings.model_source == EfsModel(SHA)
    assert settings.model_dir == Path("/mnt/models/build-1")


@pytest.mark.parametrize(
    ("environ", "line"),
    [
        ({"MODEL_SOURCE": "ftp"}, "MODEL_SOURCE='ftp': expected one of image, s3, efs"),
        ({**S3, "MODEL_BUCKET": ""}, "MODEL_SOURCE=s3 needs MODEL_BUCKET"),
        ({**S3, "MODEL_PREFIX": " "}, "MODEL_SOURCE=s3 needs MODEL_PREFIX"),
        (
            {**S3, "MODEL_PREFIX": "models/dev/build-1"},
            "MODEL_PREFIX='models/dev/build-1': expected a build's prefix ending in / "
            "(models/<env>/<build id>/)",
        ),
        (
            {**S3, "MODEL_SHA256": ""},
            "MODEL_SOURCE=s3 needs MODEL_SHA256, the weights' sha256 this version is pinned to",
        ),
        (
            {**S3, "MODEL_SHA256": SHA.upper()},
            f"MODEL_SHA256={SHA.upper()!r}: expected the weights' sha256, 64 lowercase hex digits",
        ),
        (
            {"MODEL_SHA256": SHA[:-1]},
            f"MODEL_SHA256={SHA[:-1]!r}: expected the weights' sha256, 64 lowercase hex digits",
        ),
        (
            {"MODEL_SOURCE": "efs"},
            "MODEL_SOURCE=efs needs MODEL_SHA256, the weights' sha256 this version is pinned to",
        ),
    ],
    ids=[
        "unknown source",
        "s3 without bucket",
        "s3 without prefix",
        "s3 prefix without slash",
        "s3 without sha",
        "sha in capitals",
        "sha too short",
        "efs without sha",
    ],
)
def test_each_problem_is_one_line(environ: dict[str, str], line: str) -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env(environ)
    assert str(refused.value) == line

"""Publishing to S3 (moto on 127.0.0.1): the artifact first, the pointer last, or not at all."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from lambda_image.app.predictor.artifact import CARD_FILE, PLOT_FILE, WEIGHTS_FILE
from training import publish
from training.publish import PublishError, clean_build_id

BUILD_ID = "torchlambda-training-dev:7d4f1c2a-0b9e-4f6d-9a51-3c2e8d1b6a70"
UUID = BUILD_ID.split(":")[1]
Trainer = Callable[..., int]


class RecordingS3:
    """Passes calls to a real client, recording each key written; can fail one key."""

    def __init__(self, client: Any, fail_key_suffix: str | None = None) -> None:
        self._client = client
        self._fail = fail_key_suffix
        self.keys: list[str] = []

    def put_object(self, **kwargs: Any) -> Any:
        if self._fail and kwargs["Key"].endswith(self._fail):
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "PutObject")
        self.keys.append(kwargs["Key"])
        return self._client.put_object(**kwargs)


@pytest.fixture
def model_dir(tmp_path: Path, train_tiny: Trainer) -> Path:
    out = tmp_path / "model"
    assert train_tiny(out) == 0
    return out


def keys(s3: Any) -> list[str]:
    listing = s3.list_objects_v2(Bucket="artifacts")
    return sorted(item["Key"] for item in listing.get("Contents", []))


def run(client: Any, model_dir: Path, **overrides: Any) -> dict[str, Any]:
    options: dict[str, Any] = {
        "model_dir": model_dir,
        "bucket": "artifacts",
        "environment": "dev",
        "build_id": BUILD_ID,
    }
    return publish.publish(client, **(options | overrides))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(BUILD_ID, UUID), ("local-2026-01-01", "local-2026-01-01"), ("a:b:c", "c")],
)
def test_clean_build_id(raw: str, expected: str) -> None:
    assert clean_build_id(raw) == expected


@pytest.mark.parametrize("raw", ["", "project:", "../etc", "a/b", "x:has space"])
def test_unsafe_build_ids_are_refused(raw: str) -> None:
    with pytest.raises(PublishError, match="safe S3 key segment"):
        clean_build_id(raw)


def test_publishes_the_artifact_then_the_pointer(s3: Any, model_dir: Path) -> None:
    recording = RecordingS3(s3)
    pointer = run(recording, model_dir)
    prefix = f"models/dev/{UUID}/"
    assert recording.keys == [
        prefix + WEIGHTS_FILE,
        prefix + CARD_FILE,
        prefix + PLOT_FILE,
        "models/dev/latest.json",
    ]
    for name in (WEIGHTS_FILE, CARD_FILE, PLOT_FILE):
        stored = s3.get_object(Bucket="artifacts", Key=prefix + name)["Body"].read()
        assert stored == (model_dir / name).read_bytes()
    stored_pointer = json.loads(
        s3.get_object(Bucket="artifacts", Key="models/dev/latest.json")["Body"].read()
    )
    card = json.loads((model_dir / CARD_FILE).read_text())
    assert stored_pointer == pointer
    assert pointer["build_id"] == UUID
    assert pointer["sha256"] == card["sha256"]
    assert pointer["metrics"] == card["metrics"]
    assert pointer["keys"][WEIGHTS_FILE] == prefix + WEIGHTS_FILE
    assert pointer["published_at"].endswith("Z")


@pytest.mark.parametrize("failing", [WEIGHTS_FILE, PLOT_FILE])
def test_a_failed_upload_never_moves_the_pointer(s3: Any, model_dir: Path, failing: str) -> None:
    s3.put_object(Bucket="artifacts", Key="models/dev/latest.json", Body=b'{"build_id": "old"}')
    with pytest.raises(PublishError, match=f"{failing}: upload failed"):
        run(RecordingS3(s3, fail_key_suffix=failing), model_dir)
    pointer = s3.get_object(Bucket="artifacts", Key="models/dev/latest.json")["Body"].read()
    assert pointer == b'{"build_id": "old"}'


def test_a_failing_gate_publishes_nothing(s3: Any, model_dir: Path) -> None:
    with pytest.raises(PublishError, match=r"quality gate: validation MSE \S+ is above 1e-09"):
        run(s3, model_dir, max_val_mse=1e-9)
    assert keys(s3) == []


def test_weights_that_differ_from_the_card_publish_nothing(s3: Any, model_dir: Path) -> None:
    (model_dir / WEIGHTS_FILE).write_bytes(b"tampered")
    with pytest.raises(PublishError, match="sha256 does not match the model card"):
        run(s3, model_dir)
    assert keys(s3) == []


def test_a_missing_plot_publishes_nothing(s3: Any, model_dir: Path) -> None:
    (model_dir / PLOT_FILE).unlink()
    with pytest.raises(PublishError, match=f"{PLOT_FILE}: not found"):
        run(s3, model_dir)
    assert keys(s3) == []


def test_a_missing_bucket_is_an_upload_failure(s3: Any, model_dir: Path) -> None:
    with pytest.raises(PublishError, match=r"s3://nope/models/dev/.*upload failed"):
        run(s3, model_dir, bucket="nope")


def test_cli_publishes_and_reports_errors_in_one_line(
    s3: Any, model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--model-dir", str(model_dir), "--bucket", "artifacts", "--environment", "staging"]
    assert publish.main([*argv, "--build-id", BUILD_ID]) == 0
    assert f"models/staging/{UUID}/model.pth" in keys(s3)
    assert "models/staging/latest.json" in keys(s3)
    assert publish.main([*argv, "--build-id", "b2", "--max-val-mse", "1e-9"]) == 1
    error = capsys.readouterr().err
    assert error.startswith("error: quality gate") and error.count("\n") == 1
    assert not any(key.startswith("models/staging/b2/") for key in keys(s3))

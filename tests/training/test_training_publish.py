"""Publishing to S3 (moto on 127.0.0.1): the artifact first, the pointer last, or not at all."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from torchlambda.contract import CARD_FILE, PLOT_FILE, WEIGHTS_FILE
from training import publish
from training.publish import PublishError, clean_build_id

BUILD_ID = "torchlambda-training-dev:7d4f1c2a-0b9e-4f6d-9a51-3c2e8d1b6a70"
UUID = BUILD_ID.split(":")[1]
POINTER = "models/dev/latest.json"


class RecordingS3:
    """Passes calls to a real client, recording each put; can fail one key."""

    def __init__(self, client: Any, fail_key_suffix: str | None = None) -> None:
        self._client = client
        self._fail = fail_key_suffix
        self.puts: list[dict[str, Any]] = []

    @property
    def keys(self) -> list[str]:
        return [put["Key"] for put in self.puts]

    def put_object(self, **kwargs: Any) -> Any:
        if self._fail and kwargs["Key"].endswith(self._fail):
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "PutObject")
        self.puts.append(kwargs)
        return self._client.put_object(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


class RacingS3(RecordingS3):
    """Another build moves the pointer just before this one writes it."""

    def put_object(self, **kwargs: Any) -> Any:
        if kwargs["Key"] == POINTER:
            self._client.put_object(Bucket="artifacts", Key=POINTER, Body=b'{"build_id": "rival"}')
        return super().put_object(**kwargs)


@pytest.fixture
def model_dir(trained_copy: Path) -> Path:
    return trained_copy


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
    assert pointer["model_id"] == card["model_id"]
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
    with pytest.raises(PublishError, match="does not match the model card"):
        run(s3, model_dir)
    assert keys(s3) == []


def test_an_edited_architecture_publishes_nothing(s3: Any, model_dir: Path) -> None:
    card = json.loads((model_dir / CARD_FILE).read_text())
    card["architecture"]["activation"] = "tanh"  # same weights, other predictions
    (model_dir / CARD_FILE).write_text(json.dumps(card))
    with pytest.raises(PublishError, match="the card was edited after training"):
        run(s3, model_dir)
    assert keys(s3) == []


def test_a_missing_plot_publishes_nothing(s3: Any, model_dir: Path) -> None:
    (model_dir / PLOT_FILE).unlink()
    with pytest.raises(PublishError, match=f"{PLOT_FILE}: not found"):
        run(s3, model_dir)
    assert keys(s3) == []


def test_a_missing_bucket_fails_before_any_upload(s3: Any, model_dir: Path) -> None:
    with pytest.raises(PublishError, match=r"^s3://nope/models/dev/latest.json: cannot read \("):
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


def pointer_body(s3: Any) -> bytes:
    return bytes(s3.get_object(Bucket="artifacts", Key=POINTER)["Body"].read())


def test_every_write_is_conditional(s3: Any, model_dir: Path) -> None:
    """What the training role enforces: create-only files, the pointer by ETag once it exists."""
    first = RecordingS3(s3)
    run(first, model_dir)
    assert [put.get("IfNoneMatch") for put in first.puts] == ["*"] * 4
    etag = s3.head_object(Bucket="artifacts", Key=POINTER)["ETag"]
    second = RecordingS3(s3)
    run(second, model_dir, build_id="build-2")
    assert [put.get("IfNoneMatch") for put in second.puts[:3]] == ["*"] * 3
    assert second.puts[3]["IfMatch"] == etag and "IfNoneMatch" not in second.puts[3]
    assert json.loads(pointer_body(s3))["build_id"] == "build-2"


def test_a_build_id_published_twice_replaces_nothing(s3: Any, model_dir: Path) -> None:
    s3.put_bucket_versioning(Bucket="artifacts", VersioningConfiguration={"Status": "Enabled"})
    run(s3, model_dir)
    prefix = f"models/dev/{UUID}/"
    before = {key: s3.get_object(Bucket="artifacts", Key=key)["Body"].read() for key in keys(s3)}
    (model_dir / PLOT_FILE).write_bytes(b"another plot")  # what a second build would bring
    with pytest.raises(
        PublishError, match=rf"^s3://artifacts/{prefix}{WEIGHTS_FILE}: already exists: build "
    ) as raised:
        run(s3, model_dir)
    assert "\n" not in str(raised.value)
    after = {key: s3.get_object(Bucket="artifacts", Key=key)["Body"].read() for key in keys(s3)}
    assert after == before
    for key in keys(s3):  # not even as a newer version on top of the first
        versions = s3.list_object_versions(Bucket="artifacts", Prefix=key)["Versions"]
        assert len(versions) == 1, key


@pytest.mark.parametrize("existing", [False, True])
def test_a_pointer_moved_by_a_racing_build_is_left_to_it(
    s3: Any, model_dir: Path, existing: bool
) -> None:
    if existing:
        s3.put_object(Bucket="artifacts", Key=POINTER, Body=b'{"build_id": "old"}')
    with pytest.raises(PublishError) as raised:
        run(RacingS3(s3), model_dir)
    assert str(raised.value) == (
        f"s3://artifacts/{POINTER}: changed by another publish since this one read it; "
        f"models/dev/{UUID}/ is complete but the pointer was not moved"
    )
    assert pointer_body(s3) == b'{"build_id": "rival"}'
    assert f"models/dev/{UUID}/{WEIGHTS_FILE}" in keys(s3)


def test_a_pointer_deleted_during_the_publish_is_not_recreated(s3: Any, model_dir: Path) -> None:
    s3.put_object(Bucket="artifacts", Key=POINTER, Body=b'{"build_id": "old"}')

    class Deleting(RecordingS3):
        def put_object(self, **kwargs: Any) -> Any:
            if kwargs["Key"] == POINTER:
                self._client.delete_object(Bucket="artifacts", Key=POINTER)
            return super().put_object(**kwargs)

    with pytest.raises(PublishError, match="changed by another publish"):
        run(Deleting(s3), model_dir)
    assert POINTER not in keys(s3)


def test_the_test_split_goes_up_create_only_before_the_pointer(
    s3: Any, model_dir: Path, tmp_path: Path
) -> None:
    split = tmp_path / "test.csv"
    split.write_bytes(b"1.5,2.0\n")
    recording = RecordingS3(s3)
    run(recording, model_dir, test_split=split)
    prefix = f"models/dev/{UUID}/"
    assert recording.keys[-2:] == [prefix + "test.csv", POINTER]
    put = recording.puts[-2]
    assert put["IfNoneMatch"] == "*" and put["ContentType"] == "text/csv"
    stored = s3.get_object(Bucket="artifacts", Key=prefix + "test.csv")["Body"].read()
    assert stored == b"1.5,2.0\n"


def test_a_missing_test_split_publishes_nothing(s3: Any, model_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(PublishError, match=r"test\.csv: test split not found"):
        run(s3, model_dir, test_split=tmp_path / "test.csv")
    assert keys(s3) == []

"""fetch-model against the stand-in bucket: verified, atomic, the old model kept on any fault."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from infra.challenger import ChallengerBuild
from infra.config import DEV, ENVIRONMENTS
from infra.settings.experiment import Shadow
from ops.aws import AwsClients
from ops.cli import main
from tests.ops.conftest import BUCKET, PROJECT
from tests.ops.model.publishing import publish
from tests.ops.model_files import model_files, sha256_of, version_of
from torchlambda.contract import CHALLENGER_BUILD_FILE, champion_key, model_key, pointer_key
from torchlambda.predictor.architecture import ArchitectureSpec
from torchlambda.predictor.artifact import model_identity

OLD = model_files(seed=1, validation_mse=0.40)
NEW = model_files(seed=2, validation_mse=0.12)


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    """The image's model directory holding the current (old) model and a note kept beside it."""
    directory = tmp_path / "model"
    directory.mkdir()
    for name, content in OLD.items():
        (directory / name).write_bytes(content)
    (directory / "README").write_text("kept across fetches\n")
    return directory


def fetch(capsys: pytest.CaptureFixture[str], model_dir: Path, *extra: str) -> tuple[int, str, str]:
    code = main(["fetch-model", "--env", "dev", "--model-dir", str(model_dir), *extra])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def contents(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in directory.iterdir()}


@pytest.fixture
def refused(
    deployed: dict[str, Any], model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> Callable[[], str]:
    """Fetch from the deployed dev, expect a one-line failure, and check the current model was
    kept byte for byte; returns the error line."""

    def fetch_refused() -> str:
        before = contents(model_dir)
        code, _, err = fetch(capsys, model_dir)
        assert code == 1
        assert contents(model_dir) == before
        assert [p.name for p in model_dir.parent.iterdir()] == ["model"]  # no staging left
        return err

    return fetch_refused


def test_installs_latest_and_compares_metrics(
    clients: AwsClients,
    deployed: dict[str, Any],
    model_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    publish(clients.s3, BUCKET, "dev", "torchlambda-training-dev:build-2", NEW)
    code, out, err = fetch(capsys, model_dir)
    assert (code, err) == (0, "")
    assert contents(model_dir) == {**NEW, "README": b"kept across fetches\n"}
    assert f"installed dev build build-2 (model_version {version_of(NEW)})" in out
    row = next(line for line in out.splitlines() if "validation.mse" in line)
    assert row.split()[1:] == ["0.4", "0.12"]  # current beside new
    assert f"current {version_of(OLD)}" in out
    assert [p.name for p in model_dir.parent.iterdir()] == ["model"]  # no staging left behind


def test_fetches_a_named_build_rather_than_latest(
    clients: AwsClients,
    deployed: dict[str, Any],
    model_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    publish(clients.s3, BUCKET, "dev", "build-2", NEW)
    publish(clients.s3, BUCKET, "dev", "build-3", model_files(seed=3, validation_mse=0.3))
    code, _, _ = fetch(capsys, model_dir, "--build", "build-2")
    assert code == 0
    assert (model_dir / "model.pth").read_bytes() == NEW["model.pth"]


def replace_card(clients: AwsClients, card: dict[str, Any]) -> None:
    """Publish NEW, then swap its card for `card` behind the publisher's back."""
    publish(clients.s3, BUCKET, "dev", "build-2", NEW)
    key = model_key("dev", "build-2", "model.json")
    clients.s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(card).encode())


def test_corrupted_download_keeps_the_old_model(
    clients: AwsClients, refused: Callable[[], str]
) -> None:
    publish(clients.s3, BUCKET, "dev", "build-2", NEW)
    damaged = bytearray(NEW["model.pth"])
    damaged[-10] ^= 0xFF
    clients.s3.put_object(
        Bucket=BUCKET, Key=model_key("dev", "build-2", "model.pth"), Body=bytes(damaged)
    )
    err = refused()
    assert err.startswith("error: downloaded model.pth has sha256 ")
    assert "current model kept" in err and err.count("\n") == 1


def test_pointer_naming_other_weights_is_refused(
    clients: AwsClients, refused: Callable[[], str]
) -> None:
    publish(clients.s3, BUCKET, "dev", "build-2", NEW)
    pointer = {"build_id": "build-2", "sha256": sha256_of(OLD)}
    clients.s3.put_object(Bucket=BUCKET, Key=pointer_key("dev"), Body=json.dumps(pointer))
    assert "latest.json names sha256" in refused()


def test_weights_that_do_not_fit_the_architecture_are_refused(
    clients: AwsClients, refused: Callable[[], str]
) -> None:
    card = json.loads(NEW["model.json"])
    card["architecture"]["hidden_sizes"] = [10, 10]  # sha256 still matches; the shapes do not
    card["model_id"] = model_identity(ArchitectureSpec(hidden_sizes=(10, 10)), card["sha256"])
    replace_card(clients, card)
    assert "downloaded model does not load" in refused()


def test_an_edited_architecture_is_refused(clients: AwsClients, refused: Callable[[], str]) -> None:
    card = json.loads(NEW["model.json"])
    card["architecture"]["activation"] = "tanh"  # same weights, every prediction changes
    replace_card(clients, card)
    err = refused()
    assert "the card was edited after training" in err and err.count("\n") == 1


def test_incomplete_build_is_reported(clients: AwsClients, refused: Callable[[], str]) -> None:
    publish(clients.s3, BUCKET, "dev", "build-2", NEW)
    clients.s3.delete_object(Bucket=BUCKET, Key=model_key("dev", "build-2", "training.png"))
    assert refused() == (
        f"error: s3://{BUCKET}/models/dev/build-2/training.png is missing: "
        "that build did not publish a complete model\n"
    )


def test_nothing_published_yet(
    deployed: dict[str, Any], model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = fetch(capsys, model_dir)
    assert code == 1
    assert "no model published for dev yet" in err and "make train-remote ENV=dev" in err


def test_first_fetch_creates_the_directory(
    clients: AwsClients,
    deployed: dict[str, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    publish(clients.s3, BUCKET, "dev", "build-2", NEW)
    code, out, _ = fetch(capsys, tmp_path / "model")
    assert code == 0
    assert contents(tmp_path / "model") == NEW
    assert "current (none)" in out


@pytest.mark.parametrize("build", ["..", "a/b", ""])
def test_malformed_build_id_is_refused_before_any_download(
    deployed: dict[str, Any], model_dir: Path, capsys: pytest.CaptureFixture[str], build: str
) -> None:
    code, _, err = fetch(capsys, model_dir, "--build", build)
    assert code == 1 and "is not a build id" in err


def crown(clients: AwsClients, build_id: str, sha256: str) -> None:
    """champion.json naming `build_id`, as a promotion writes it (the fields fetch-model reads)."""
    document = {"schema_version": 1, "environment": "dev", "build_id": build_id, "sha256": sha256}
    clients.s3.put_object(Bucket=BUCKET, Key=champion_key("dev"), Body=json.dumps(document))


def test_installs_the_champion_rather_than_latest(
    clients: AwsClients,
    deployed: dict[str, Any],
    model_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    publish(clients.s3, BUCKET, "dev", "build-2", NEW)
    publish(clients.s3, BUCKET, "dev", "build-3", model_files(seed=3, validation_mse=0.3))
    crown(clients, "build-2", sha256_of(NEW))
    code, out, err = fetch(capsys, model_dir, "--from", "champion")
    assert (code, err) == (0, "")
    assert contents(model_dir) == {**NEW, "README": b"kept across fetches\n"}
    assert out.splitlines()[0] == (
        f"installed dev build build-2 (model_version {version_of(NEW)}) in {model_dir}: "
        "dev's champion"
    )


def test_a_champion_naming_other_weights_is_refused(
    clients: AwsClients,
    deployed: dict[str, Any],
    model_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    publish(clients.s3, BUCKET, "dev", "build-2", NEW)
    crown(clients, "build-2", sha256_of(OLD))
    before = contents(model_dir)
    code, _, err = fetch(capsys, model_dir, "--from", "champion")
    assert code == 1
    assert err == (
        f"error: champion.json names sha256 {sha256_of(OLD)[:12]} but build build-2 holds "
        f"{sha256_of(NEW)[:12]}; current model kept\n"
    )
    assert contents(model_dir) == before


def test_no_champion_yet(
    clients: AwsClients,
    deployed: dict[str, Any],
    model_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    publish(clients.s3, BUCKET, "dev", "build-2", NEW)
    code, _, err = fetch(capsys, model_dir, "--from", "champion")
    assert code == 1
    assert err == (
        "error: dev has no champion yet; run `make retrain ENV=dev`, or `make promote ENV=dev "
        f"BUILD=<id>` for a published build (s3://{BUCKET}/models/dev/champion.json is missing)\n"
    )


def test_an_unknown_pointer_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["fetch-model", "--env", "dev", "--from", "best"])
    assert exited.value.code == 2
    assert capsys.readouterr().err == (
        "error: FROM='best': expected latest (the newest published build) or champion (the build "
        "promoted for the environment)\n"
    )


def test_a_build_and_a_pointer_together_are_refused(
    model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = fetch(capsys, model_dir, "--build", "build-2", "--from", "champion")
    assert code == 1
    assert err == "error: BUILD=build-2 and FROM=champion each choose a build; give one\n"


# ---- AS=challenger ---------------------------------------------------------------------------


@pytest.fixture
def challenger_dir(tmp_path: Path) -> Path:
    """lambda_image/challenger as a fresh clone has it: only its note."""
    directory = tmp_path / "challenger"
    directory.mkdir()
    (directory / "README.md").write_text("the challenger's note\n")
    return directory


def build_record(directory: Path) -> ChallengerBuild | None:
    return ChallengerBuild.read(directory)


def test_installs_a_challenger_with_the_record_of_its_build(
    clients: AwsClients,
    deployed: dict[str, Any],
    challenger_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    publish(clients.s3, BUCKET, "dev", "build-2", NEW)
    code, out, err = fetch(capsys, challenger_dir, "--as", "challenger")
    assert (code, err) == (0, "")
    assert set(contents(challenger_dir)) == {*NEW, "README.md", CHALLENGER_BUILD_FILE}
    assert build_record(challenger_dir) == ChallengerBuild(
        environment="dev", build_id="build-2", sha256=sha256_of(NEW), model_version=version_of(NEW)
    )
    lines = out.splitlines()
    assert lines[0] == (
        f"installed dev build build-2 (model_version {version_of(NEW)}) in {challenger_dir} "
        "as the challenger"
    )
    assert lines[-1] == (
        "dev runs no experiment: set experiment=Shadow() or Split(weight=...) for it in "
        "infra/config.py to serve this challenger"
    )
    assert [p.name for p in challenger_dir.parent.iterdir()] == ["challenger"]  # no staging left


def test_a_challenger_defaults_to_the_configured_build(
    clients: AwsClients,
    deployed: dict[str, Any],
    challenger_dir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shadow = dataclasses.replace(DEV, experiment=Shadow(challenger_build=f"{PROJECT}:build-2"))
    monkeypatch.setitem(ENVIRONMENTS, "dev", shadow)
    publish(clients.s3, BUCKET, "dev", "build-2", NEW)
    publish(clients.s3, BUCKET, "dev", "build-3", model_files(seed=3, validation_mse=0.3))
    code, out, _ = fetch(capsys, challenger_dir, "--as", "challenger")
    assert code == 0
    assert (challenger_dir / "model.pth").read_bytes() == NEW["model.pth"]
    record = build_record(challenger_dir)
    assert record is not None and record.build_id == "build-2"
    assert "runs no experiment" not in out
    # Naming a pointer overrides the configured build.
    code, _, _ = fetch(capsys, challenger_dir, "--as", "challenger", "--from", "latest")
    record = build_record(challenger_dir)
    assert code == 0 and record is not None and record.build_id == "build-3"


def test_a_refused_challenger_keeps_the_installed_one_and_its_record(
    clients: AwsClients,
    deployed: dict[str, Any],
    challenger_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    publish(clients.s3, BUCKET, "dev", "build-2", NEW)
    assert fetch(capsys, challenger_dir, "--as", "challenger")[0] == 0
    before = contents(challenger_dir)
    publish(clients.s3, BUCKET, "dev", "build-3", model_files(seed=3, validation_mse=0.3))
    damaged = bytearray(NEW["model.pth"])
    damaged[-10] ^= 0xFF
    key = model_key("dev", "build-3", "model.pth")
    clients.s3.put_object(Bucket=BUCKET, Key=key, Body=bytes(damaged))
    code, _, err = fetch(capsys, challenger_dir, "--as", "challenger")
    assert code == 1 and "current model kept" in err
    assert contents(challenger_dir) == before


def test_a_champion_fetch_leaves_a_challengers_record_alone(
    clients: AwsClients,
    deployed: dict[str, Any],
    model_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The record belongs to a challenger's directory: a champion's fetch neither writes nor
    # replaces one (a file of that name is carried over like any other).
    (model_dir / CHALLENGER_BUILD_FILE).write_text("{}")
    publish(clients.s3, BUCKET, "dev", "build-2", NEW)
    assert fetch(capsys, model_dir)[0] == 0
    assert (model_dir / CHALLENGER_BUILD_FILE).read_text() == "{}"


def test_an_unknown_variant_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["fetch-model", "--env", "dev", "--as", "candidate"])
    assert exited.value.code == 2
    assert capsys.readouterr().err == (
        "error: AS='candidate': expected champion (lambda_image/model, the default) or "
        "challenger (lambda_image/challenger, an experiment's)\n"
    )

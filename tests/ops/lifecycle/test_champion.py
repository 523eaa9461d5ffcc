"""`make champion` against moto's S3: champion.json as the workflow's functions or `make promote`
leave it, beside latest.json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ops.aws import AwsClients
from ops.cli import main
from tests.ops.conftest import BUCKET
from tests.ops.lifecycle.conftest import FIRST, SECOND, Publish, split_fitting
from tests.ops.model_files import sha256_of, version_of
from torchlambda.contract import champion_key
from torchlambda.lifecycle.champion import promote
from torchlambda.lifecycle.evaluation import evaluate, write_evaluation

EXECUTION = "arn:aws:states:us-west-2:123456789012:execution:torchlambda-retrain-dev:manual-1"


def show(capsys: pytest.CaptureFixture[str]) -> list[str]:
    code = main(["champion", "--env", "dev"])
    captured = capsys.readouterr()
    assert (code, captured.err) == (0, "")
    return captured.out.splitlines()


def crown(clients: AwsClients, build_id: str, tmp_path: Path, **promotion: Any) -> None:
    """Evaluate and promote `build_id` as the workflow's two functions do."""
    evaluation = evaluate(
        clients.s3, BUCKET, "dev", build_id, evaluation_set="candidate", work_dir=tmp_path
    )
    promote(clients.s3, BUCKET, "dev", evaluation, **{"promoted_by": EXECUTION, **promotion})


def test_no_champion_yet_says_how_to_get_one(
    artifacts: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert show(capsys) == [
        "dev has no champion yet; run `make retrain ENV=dev`, or `make promote ENV=dev "
        "BUILD=<id>` for a published build"
    ]


def test_the_first_champion_and_why(
    clients: AwsClients, publish_build: Publish, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    publish_build("first", FIRST, split_fitting(FIRST))
    crown(clients, "torchlambda-training-dev:first", tmp_path)
    out = show(capsys)
    assert out[0] == (
        f"champion: build first (model_version {version_of(FIRST)}, sha256 {sha256_of(FIRST)[:12]})"
    )
    assert out[1].startswith("promoted 20") and out[1].endswith(
        f"by the retrain workflow ({EXECUTION})"
    )
    assert out[2].startswith("  scored on models/dev/first/test.csv: 200 rows")
    assert [line.split() for line in out[4:6]] == [
        ["champion", "first", version_of(FIRST), sha256_of(FIRST)[:12], "0"],
        ["previous", "none", "-", "-", "-"],
    ]
    assert out[6:] == [
        "  no champion before it: the first model is judged on the absolute gate alone",
        "previous champion: none (the first champion)",
        "it is also the newest published build (latest.json)",
    ]


def test_a_newer_candidate_is_pointed_out(
    clients: AwsClients, publish_build: Publish, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    publish_build("first", FIRST, split_fitting(FIRST))
    crown(clients, "first", tmp_path)
    publish_build("second", SECOND, split_fitting(SECOND))
    crown(clients, "second", tmp_path)
    publish_build("third", FIRST, split_fitting(SECOND))
    out = show(capsys)
    assert out[0].startswith("champion: build second ")
    assert "  improvement over the previous champion: +100.00% (relative MSE)" in out
    assert (
        f"previous champion: build first (sha256 {sha256_of(FIRST)[:12]}); roll back with "
        "`make promote ENV=dev BUILD=first FORCE='rollback: <why>'`"
    ) in out
    assert out[-1].startswith(f"newer candidate: build third (sha256 {sha256_of(FIRST)[:12]}), ")
    assert out[-1].endswith(
        "not evaluated yet; `make promote ENV=dev BUILD=third` evaluates it against the champion"
    )


def test_a_build_evaluated_and_rejected_is_told_apart(
    clients: AwsClients, publish_build: Publish, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    publish_build("first", FIRST, split_fitting(FIRST))
    crown(clients, "first", tmp_path)
    publish_build("second", SECOND, split_fitting(FIRST))
    evaluation = evaluate(
        clients.s3, BUCKET, "dev", "second", evaluation_set="candidate", work_dir=tmp_path
    )
    write_evaluation(clients.s3, BUCKET, evaluation)  # as the workflow's evaluator; then rejected
    out = show(capsys)
    assert out[-1] == (
        f"latest.json names build second (sha256 {sha256_of(SECOND)[:12]}), evaluated and not "
        f"the champion: {evaluation['summary']}"
    )


def test_after_a_rollback_the_latest_build_is_not_called_newer(
    clients: AwsClients, publish_build: Publish, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    publish_build("first", FIRST, split_fitting(FIRST))
    crown(clients, "first", tmp_path)
    publish_build("second", SECOND, split_fitting(SECOND))
    crown(clients, "second", tmp_path)
    crown(clients, "first", tmp_path, promoted_by="cli:alice@laptop", forced="rollback: drill")
    out = show(capsys)
    assert out[:3] == [
        f"champion: build first (model_version {version_of(FIRST)}, sha256 "
        f"{sha256_of(FIRST)[:12]})",
        out[1],
        "forced past the gate: rollback: drill",
    ]
    assert out[1].endswith(" by cli:alice@laptop")
    assert out[-1] == (
        f"latest.json names build second (sha256 {sha256_of(SECOND)[:12]}), the champion this one "
        "replaced"
    )


def test_an_unreadable_champion_is_one_line(
    clients: AwsClients, artifacts: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    clients.s3.put_object(Bucket=BUCKET, Key=champion_key("dev"), Body=b"{not json")
    assert main(["champion", "--env", "dev"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: s3://{BUCKET}/models/dev/champion.json is not a champion ")
    assert err.count("\n") == 1

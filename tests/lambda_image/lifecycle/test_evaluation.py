"""The evaluator against S3 on 127.0.0.1: both models scored on the same rows, sha256-verified,
and nothing written when the candidate, the champion or the set is not what it should be."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from tests.lambda_image.lifecycle.conftest import (
    HOLDOUT,
    ROWS,
    Builds,
    Evaluate,
    Rows,
    book_csv,
    crown,
    expected_mse,
    keys,
    put,
    read,
)
from tests.lambda_image.model_sources.conftest import BUCKET, ENVIRONMENT, Published
from torchlambda import contract
from torchlambda.lifecycle import events
from torchlambda.lifecycle.errors import (
    ChampionUnreadable,
    EvaluationExists,
    EvaluationSetError,
    InvalidEvent,
    ModelRefused,
)
from torchlambda.lifecycle.evaluation import evaluate, write_evaluation
from torchlambda.lifecycle.gate import Gate, relative_improvement

CODEBUILD_ID = "torchlambda-training-test:build-good"
# The candidate's own split.
SPLIT_KEY = contract.held_out_split_key(ENVIRONMENT, "build-good")
LENIENT = Gate(max_mse=1e9)  # these models are untrained: judge the improvement alone


def version(model: Path) -> str:
    card = json.loads((model / contract.CARD_FILE).read_text())
    return str(card["model_id"])[: contract.MODEL_VERSION_LENGTH]


def assert_scored(scored: dict[str, Any], build: Published, rows: Rows) -> None:
    assert scored[events.BUILD_ID] == build.build_id
    assert scored[events.SHA256] == build.sha256
    assert scored[events.MODEL_VERSION] == version(build.source)
    assert scored[events.MSE] == pytest.approx(expected_mse(build.source, rows), rel=1e-5)


def tamper(s3: Any, build: Published, weights_of: Path) -> None:
    """Replace the build's weights in S3 with another model's; its card stays."""
    key = contract.model_key(ENVIRONMENT, build.build_id, contract.WEIGHTS_FILE)
    put(s3, key, (weights_of / contract.WEIGHTS_FILE).read_bytes())


def test_a_better_candidate_is_scored_against_the_champion(
    s3: Any, evaluate_build: Evaluate, builds: Builds, labelled: Rows, with_holdout: bytes
) -> None:
    etag = crown(s3, builds.poor)
    evaluation = evaluate_build(CODEBUILD_ID)
    assert evaluation[events.ENVIRONMENT] == ENVIRONMENT
    assert evaluation[events.EVALUATION_SET] == {
        events.SOURCE: HOLDOUT,
        events.SHA256: hashlib.sha256(with_holdout).hexdigest(),
        events.ROWS: ROWS,
    }
    assert_scored(evaluation[events.CANDIDATE], builds.good, labelled)
    assert_scored(evaluation[events.CHAMPION], builds.poor, labelled)
    assert evaluation[events.CHAMPION_ETAG] == etag
    candidate_mse = evaluation[events.CANDIDATE][events.MSE]
    champion_mse = evaluation[events.CHAMPION][events.MSE]
    assert candidate_mse < champion_mse
    assert evaluation[events.IMPROVEMENT] == relative_improvement(champion_mse, candidate_mse)
    summary = evaluation[events.SUMMARY]
    for build in (builds.good, builds.poor):
        assert build.build_id in summary and version(build.source) in summary
    assert f"{ROWS} rows of {HOLDOUT}" in summary and "\n" not in summary
    assert evaluation[events.EVALUATED_AT].endswith("Z")
    assert LENIENT.judge(evaluation).promote
    # evaluate itself writes nothing: the handler writes evaluation.json.
    assert keys(s3, contract.MODELS_PREFIX) == sorted(
        [contract.champion_key(ENVIRONMENT)]
        + [
            contract.model_key(ENVIRONMENT, build, name)
            for build in ("build-good", "build-poor")
            for name in (contract.CARD_FILE, contract.WEIGHTS_FILE)
        ]
    )


@pytest.mark.usefixtures("with_holdout")
def test_a_worse_candidate_shows_a_negative_improvement(
    s3: Any, evaluate_build: Evaluate, builds: Builds
) -> None:
    crown(s3, builds.good)
    evaluation = evaluate_build("build-poor")
    assert evaluation[events.CANDIDATE][events.BUILD_ID] == "build-poor"
    assert evaluation[events.CHAMPION][events.BUILD_ID] == "build-good"
    assert evaluation[events.IMPROVEMENT] < 0
    verdict = LENIENT.judge(evaluation)
    assert not verdict.promote and "less than the gate's" in verdict.reason


@pytest.mark.usefixtures("with_holdout")
def test_the_first_model_has_no_champion(
    evaluate_build: Evaluate, builds: Builds, labelled: Rows
) -> None:
    evaluation = evaluate_build("build-good")
    assert_scored(evaluation[events.CANDIDATE], builds.good, labelled)
    assert evaluation[events.CHAMPION] is None
    assert evaluation[events.CHAMPION_ETAG] is None
    assert evaluation[events.IMPROVEMENT] is None
    assert "no champion yet" in evaluation[events.SUMMARY]
    assert LENIENT.judge(evaluation).promote


@pytest.mark.usefixtures("builds")
def test_the_candidates_own_test_split_can_be_the_set(
    s3: Any, evaluate_build: Evaluate, labelled: Rows
) -> None:
    body = book_csv(labelled[:40])
    put(s3, SPLIT_KEY, body)
    evaluation = evaluate_build(CODEBUILD_ID, contract.CANDIDATE_TEST_SPLIT)
    assert evaluation[events.EVALUATION_SET] == {
        events.SOURCE: SPLIT_KEY,
        events.SHA256: hashlib.sha256(body).hexdigest(),
        events.ROWS: 40,
    }


@pytest.mark.usefixtures("with_holdout")
def test_tampered_candidate_weights_are_refused(
    s3: Any, evaluate_build: Evaluate, builds: Builds
) -> None:
    tamper(s3, builds.good, weights_of=builds.poor.source)
    with pytest.raises(ModelRefused, match=r"^candidate build-good: s3://\S+/model\.pth: sha256 "):
        evaluate_build("build-good")


@pytest.mark.usefixtures("with_holdout")
def test_tampered_champion_weights_are_refused(
    s3: Any, evaluate_build: Evaluate, builds: Builds
) -> None:
    crown(s3, builds.poor)
    tamper(s3, builds.poor, weights_of=builds.good.source)
    with pytest.raises(ModelRefused, match=r"^champion build-poor: s3://\S+/model\.pth: sha256 "):
        evaluate_build("build-good")


@pytest.mark.usefixtures("with_holdout")
def test_a_champion_pointer_pinning_other_weights_is_refused(
    s3: Any, evaluate_build: Evaluate, builds: Builds
) -> None:
    poor = builds.poor
    crown(s3, Published(poor.build_id, poor.prefix, builds.good.sha256, poor.source))
    with pytest.raises(ModelRefused, match=r"^champion build-poor: .* not the pinned"):
        evaluate_build("build-good")


@pytest.mark.usefixtures("with_holdout")
def test_a_candidate_that_was_never_published_is_named(evaluate_build: Evaluate) -> None:
    with pytest.raises(ModelRefused, match=r"^candidate nope: .*was build nope published to test"):
        evaluate_build("nope")


@pytest.mark.usefixtures("builds")
@pytest.mark.parametrize(
    ("setting", "missing", "advice"),
    [
        (HOLDOUT, HOLDOUT, "upload the holdout there"),
        (contract.CANDIDATE_TEST_SPLIT, SPLIT_KEY, "--test-split"),
    ],
)
def test_a_missing_evaluation_set_names_its_key_and_how_to_provide_it(
    evaluate_build: Evaluate, setting: str, missing: str, advice: str
) -> None:
    with pytest.raises(EvaluationSetError) as raised:
        evaluate_build("build-good", setting)
    message = str(raised.value)
    assert message.startswith(f"evaluation set s3://{BUCKET}/{missing}: not found")
    assert advice in message and "\n" not in message


@pytest.mark.usefixtures("builds")
@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (b"1.0,abc", "'abc': x must be a decimal number"),
        (b"1.0,2e6", "'2e6': x must be finite with |x| <= 1e+06"),
        (b"nan,1.0", "'nan': y must be a decimal number"),
        (b"1e39,1.0", "'1e39': y must be finite and within float32's range"),
        (b"1.0,2.0,3.0", "3 columns"),
        (b"1.0,", "x is empty"),
    ],
)
def test_a_bad_row_stops_the_evaluation_at_its_line(
    s3: Any, evaluate_build: Evaluate, labelled: Rows, row: bytes, reason: str
) -> None:
    put(s3, HOLDOUT, book_csv(labelled[:5]) + row + b"\n" + book_csv(labelled[5:10]))
    with pytest.raises(EvaluationSetError) as raised:
        evaluate_build("build-good")
    message = str(raised.value)
    assert message.startswith(f"evaluation set s3://{BUCKET}/{HOLDOUT}: line 6: ")
    assert reason in message


@pytest.mark.usefixtures("builds", "with_holdout")
def test_an_unreadable_champion_pointer_stops_the_evaluation(
    s3: Any, evaluate_build: Evaluate
) -> None:
    put(s3, contract.champion_key(ENVIRONMENT), b'{"build_id": "../x", "sha256": "00"}')
    with pytest.raises(ChampionUnreadable, match="is not a champion document"):
        evaluate_build("build-good")


@pytest.mark.parametrize("build_id", ["", "project:", "../etc", "a/b"])
def test_a_build_id_that_is_no_key_segment_is_an_invalid_event(
    tmp_path: Path, build_id: str
) -> None:
    with pytest.raises(InvalidEvent, match="safe S3 key segment"):
        evaluate(
            None, BUCKET, ENVIRONMENT, build_id, evaluation_set=HOLDOUT, work_dir=tmp_path
        )  # refused before any request: no client needed


@pytest.mark.usefixtures("builds", "with_holdout")
def test_the_work_dir_is_left_empty(s3: Any, evaluate_build: Evaluate, tmp_path: Path) -> None:
    evaluate_build("build-good")
    put(s3, HOLDOUT, b"y,x\n1,oops\n")
    with pytest.raises(EvaluationSetError, match="line 2"):
        evaluate_build("build-good")
    assert list((tmp_path / "work").iterdir()) == []


@pytest.mark.usefixtures("builds", "with_holdout")
def test_the_evaluation_is_written_beside_the_candidate_once(
    s3: Any, evaluate_build: Evaluate
) -> None:
    evaluation = evaluate_build("build-good")
    key = write_evaluation(s3, BUCKET, evaluation)
    assert key == contract.evaluation_key(ENVIRONMENT, "build-good")
    assert json.loads(read(s3, key)) == evaluation
    later = evaluate_build("build-good")
    with pytest.raises(EvaluationExists, match="was evaluated before"):
        write_evaluation(s3, BUCKET, later)
    assert json.loads(read(s3, key)) == evaluation

"""The champion pointer against S3 on 127.0.0.1: read, promoted by a conditional write, and of
two promotions from one evaluation exactly one wins."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ops.model.store import ModelPointer
from tests.lambda_image.lifecycle.conftest import (
    Builds,
    Evaluate,
    crown,
    keys,
    put,
    read,
)
from tests.lambda_image.model_sources.conftest import BUCKET, ENVIRONMENT
from torchlambda import contract
from torchlambda.lifecycle import events
from torchlambda.lifecycle.champion import CHAMPION_SCHEMA_VERSION, promote, read_champion
from torchlambda.lifecycle.errors import (
    ChampionMoved,
    ChampionUnreadable,
    InvalidEvent,
    ModelRefused,
)

KEY = contract.champion_key(ENVIRONMENT)
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:Retrain-test:run-1"


class RecordingS3:
    """Passes calls to a real client, recording each put's arguments."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.puts: list[dict[str, Any]] = []

    def put_object(self, **kwargs: Any) -> Any:
        self.puts.append(kwargs)
        return self._client.put_object(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def promoted(s3: Any, evaluation: dict[str, Any], **options: Any) -> dict[str, Any]:
    return promote(s3, BUCKET, ENVIRONMENT, evaluation, **({"promoted_by": EXECUTION} | options))


def stored(s3: Any) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(read(s3, KEY))
    return document


@pytest.fixture
def first_evaluation(s3: Any, evaluate_build: Evaluate, builds: Builds, with_holdout: bytes) -> Any:
    """build-poor evaluated with no champion yet."""
    return evaluate_build("build-poor")


def test_no_champion_before_the_first_promotion(s3: Any) -> None:
    assert read_champion(s3, BUCKET, ENVIRONMENT) is None


def test_the_first_promotion_creates_the_pointer(
    s3: Any, first_evaluation: dict[str, Any], builds: Builds
) -> None:
    recording = RecordingS3(s3)
    champion = promoted(recording, first_evaluation)
    assert [put["Key"] for put in recording.puts] == [KEY]
    assert recording.puts[0]["IfNoneMatch"] == "*" and "IfMatch" not in recording.puts[0]
    assert stored(s3) == champion
    card = json.loads((builds.poor.source / contract.CARD_FILE).read_text())
    candidate = first_evaluation[events.CANDIDATE]
    assert champion[events.SCHEMA_VERSION] == CHAMPION_SCHEMA_VERSION
    assert champion[events.ENVIRONMENT] == ENVIRONMENT
    assert champion[events.BUILD_ID] == "build-poor"
    assert champion[events.SHA256] == builds.poor.sha256 == card["sha256"]
    assert champion[events.MODEL_ID] == card["model_id"]
    assert champion[events.MODEL_VERSION] == card["model_id"][:12]
    assert champion[events.METRICS] == card["metrics"]
    assert champion[events.EVALUATION] == {
        events.EVALUATION_SET: first_evaluation[events.EVALUATION_SET],
        events.CANDIDATE: candidate,
        events.CHAMPION: None,
        events.IMPROVEMENT: None,
        events.EVALUATED_AT: first_evaluation[events.EVALUATED_AT],
    }
    assert champion[events.PREVIOUS] is None
    assert champion[events.PROMOTED_AT].endswith("Z")
    assert champion[events.PROMOTED_BY] == EXECUTION
    assert champion[events.FORCED] is None
    read_back = read_champion(s3, BUCKET, ENVIRONMENT)
    assert read_back is not None and read_back.document == champion
    assert read_back.etag == s3.head_object(Bucket=BUCKET, Key=KEY)["ETag"]
    assert (read_back.build_id, read_back.sha256) == ("build-poor", builds.poor.sha256)


def test_the_champion_installs_as_the_latest_pointer_does(
    s3: Any, first_evaluation: dict[str, Any]
) -> None:
    """`make fetch-model` reads champion.json with the parser it reads latest.json with."""
    champion = promoted(s3, first_evaluation)
    pointer = ModelPointer.parse(read(s3, KEY), f"s3://{BUCKET}/{KEY}")
    assert (pointer.build_id, pointer.sha256) == (
        champion[events.BUILD_ID],
        champion[events.SHA256],
    )


def test_a_better_candidate_replaces_the_champion_it_beat(
    s3: Any, first_evaluation: dict[str, Any], evaluate_build: Evaluate, builds: Builds
) -> None:
    promoted(s3, first_evaluation)
    etag = s3.head_object(Bucket=BUCKET, Key=KEY)["ETag"]
    evaluation = evaluate_build("build-good")
    assert evaluation[events.CHAMPION_ETAG] == etag
    recording = RecordingS3(s3)
    champion = promoted(recording, evaluation)
    assert recording.puts[0]["IfMatch"] == etag and "IfNoneMatch" not in recording.puts[0]
    assert champion[events.BUILD_ID] == "build-good"
    assert champion[events.PREVIOUS] == {
        events.BUILD_ID: "build-poor",
        events.SHA256: builds.poor.sha256,
    }
    assert champion[events.EVALUATION][events.CHAMPION] == evaluation[events.CHAMPION]
    assert champion[events.EVALUATION][events.IMPROVEMENT] == evaluation[events.IMPROVEMENT]
    assert stored(s3) == champion


@pytest.mark.parametrize("crowned", [False, True])
def test_of_two_promotions_from_one_evaluation_exactly_one_wins(
    s3: Any, evaluate_build: Evaluate, builds: Builds, with_holdout: bytes, crowned: bool
) -> None:
    if crowned:  # If-Match on the champion's ETag; else If-None-Match for the first
        crown(s3, builds.poor)
    evaluation = evaluate_build("build-good")
    winner = promoted(s3, evaluation, promoted_by="execution-1")
    with pytest.raises(ChampionMoved) as raised:
        promoted(s3, evaluation, promoted_by="execution-2")
    assert str(raised.value).startswith(
        f"s3://{BUCKET}/{KEY}: the champion moved since the candidate was evaluated; "
        "nothing was replaced"
    )
    assert stored(s3) == winner and winner[events.PROMOTED_BY] == "execution-1"


def test_a_champion_deleted_since_the_evaluation_is_not_recreated(
    s3: Any, evaluate_build: Evaluate, builds: Builds, with_holdout: bytes
) -> None:
    crown(s3, builds.poor)
    evaluation = evaluate_build("build-good")
    s3.delete_object(Bucket=BUCKET, Key=KEY)
    with pytest.raises(ChampionMoved):
        promoted(s3, evaluation)
    assert KEY not in keys(s3)


def test_a_forced_promotion_records_its_reason(s3: Any, first_evaluation: dict[str, Any]) -> None:
    reason = "rollback: build-good misbehaves in prod"
    champion = promoted(s3, first_evaluation, promoted_by="cli:alice", forced=reason)
    assert stored(s3)[events.FORCED] == reason
    assert champion[events.PROMOTED_BY] == "cli:alice"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"forced": " "}, "a forced promotion needs a reason"),
        ({"promoted_by": ""}, "promoted_by must name who promotes"),
    ],
)
def test_a_promotion_must_say_who_and_why(
    s3: Any, first_evaluation: dict[str, Any], options: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidEvent, match=message):
        promoted(s3, first_evaluation, **options)
    assert KEY not in keys(s3)


def test_an_evaluation_from_another_environment_is_refused(
    s3: Any, first_evaluation: dict[str, Any]
) -> None:
    with pytest.raises(InvalidEvent, match="cannot be promoted in prod"):
        promote(s3, BUCKET, "prod", first_evaluation, promoted_by=EXECUTION)
    assert keys(s3, contract.environment_models_prefix("prod")) == []


def test_a_candidate_card_changed_since_the_evaluation_is_refused(
    s3: Any, first_evaluation: dict[str, Any], builds: Builds
) -> None:
    card_key = contract.model_key(ENVIRONMENT, "build-poor", contract.CARD_FILE)
    put(s3, card_key, (builds.good.source / contract.CARD_FILE).read_bytes())
    with pytest.raises(ModelRefused, match="not the evaluated"):
        promoted(s3, first_evaluation)
    assert KEY not in keys(s3)


def test_an_edited_evaluation_is_refused(s3: Any, first_evaluation: dict[str, Any]) -> None:
    edited = first_evaluation | {events.CHAMPION_ETAG: '"an-etag"'}  # and no champion
    with pytest.raises(InvalidEvent, match="must all be set"):
        promoted(s3, edited)
    assert KEY not in keys(s3)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"not json", "not a JSON object"),
        (b'{"build_id": "b", "sha256": "00"}', "sha256 is not the weights' sha256"),
        (b'{"sha256": "00"}', "build_id is not a build id"),
    ],
)
def test_a_champion_that_is_no_champion_document_is_unreadable(
    s3: Any, body: bytes, problem: str
) -> None:
    put(s3, KEY, body)
    with pytest.raises(ChampionUnreadable) as raised:
        read_champion(s3, BUCKET, ENVIRONMENT)
    assert str(raised.value).startswith(
        f"s3://{BUCKET}/{KEY} is not a champion document ({problem}); restore a previous version"
    )

"""Both modes locally, end to end: `make serve` with an experiment, predictions and feedback over
HTTP, then `make ab-report-local` on the log the server kept, down to its verdict."""

from __future__ import annotations

import json
import random
import urllib.request
from pathlib import Path

import pytest

from ops.cli import main
from tests.lambda_image.lambda_models import reference_prediction, write_model
from tests.ops.smoke.local_api import local_server
from torchlambda import contract

PAIRS = 400


def post(url: str, path: str, payload: object, headers: dict[str, str] | None = None) -> dict:
    request = urllib.request.Request(
        url + path,
        data=json.dumps(payload).encode(),
        headers={"content-type": "application/json", **(headers or {})},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("experiment")
    return write_model(root / "champion", seed=0), write_model(root / "challenger", seed=1)


@pytest.mark.parametrize("mode", ["shadow", "split"])
def test_an_experiment_runs_locally_from_requests_to_verdict(
    models: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], mode: str
) -> None:
    champion, challenger = models
    env = {
        contract.ENV_EXPERIMENT: mode,
        contract.ENV_CHALLENGER_DIR: str(challenger),
        contract.ENV_SPLIT_WEIGHT: "0.5",
    }
    log = tmp_path / "serve.log"
    # The truth is the challenger's own prediction plus a little noise: it must be judged better.
    rng = random.Random(7)
    xs = [rng.uniform(-10, 10) for _ in range(PAIRS)]
    truth = [y + rng.gauss(0, 0.01) for y in reference_prediction(challenger, xs)]
    with local_server(champion, env, log) as url:
        variants = {
            post(url, "/predict", {"x": [1.0, 2.0]}, {"x-user-id": f"user-{i}"})["variant"]
            for i in range(40)
        }
        recorded = post(
            url, "/feedback", {"pairs": [{"x": x, "y": y} for x, y in zip(xs, truth, strict=True)]}
        )
    assert recorded["recorded"] == PAIRS
    assert variants == ({"champion"} if mode == "shadow" else {"champion", "challenger"})

    assert main(["ab-report-local", "--log", str(log)]) == 0
    out = capsys.readouterr().out
    assert f"experiment {mode}" in out
    assert f"{PAIRS} labelled observations" in out
    assert "verdict: challenger better" in out, out
    # The report names the very models the server loaded.
    for directory in (champion, challenger):
        card = json.loads((directory / contract.CARD_FILE).read_text())
        assert card["model_id"][: contract.MODEL_VERSION_LENGTH] in out

"""The evaluation set setting: a key under data/, or the candidate's own test split."""

from __future__ import annotations

import pytest

from torchlambda import contract
from torchlambda.lifecycle.errors import EvaluationSetError
from torchlambda.lifecycle.evaluation_set import set_key, setting_fault


@pytest.mark.parametrize(
    ("setting", "key"),
    [
        (contract.DEFAULT_HOLDOUT_KEY, contract.DEFAULT_HOLDOUT_KEY),
        ("data/sets/2026.csv", "data/sets/2026.csv"),
        (contract.CANDIDATE_TEST_SPLIT, "models/dev/b1/test.csv"),
    ],
)
def test_the_setting_names_the_key(setting: str, key: str) -> None:
    assert setting_fault(setting) is None
    assert set_key(setting, "dev", "b1") == key


@pytest.mark.parametrize(
    "setting", ["", "data/", "holdout.csv", "models/dev/b1/test.csv", "Candidate"]
)
def test_anything_else_is_refused(setting: str) -> None:
    fault = setting_fault(setting)
    assert fault == (
        f"EVALUATION_SET={setting!r}: expected a key under data/ (such as data/holdout.csv) or "
        "'candidate' for the candidate's own test split"
    )
    with pytest.raises(EvaluationSetError, match="expected a key under data/"):
        set_key(setting, "dev", "b1")

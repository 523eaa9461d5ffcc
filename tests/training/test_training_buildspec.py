"""The CodeBuild buildspec: its commands exist, parse, and need only what the source zip holds."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from training import publish, train

DLC_PYTHON = "/opt/venv/bin/python"
# Set by the CDK project on the CodeBuild project, plus the one CodeBuild sets itself.
CDK_VARIABLES = {
    "ARTIFACTS_BUCKET": "torchlambda-artifacts-dev",
    "ENVIRONMENT_NAME": "dev",
    "TRAINING_DATA_KEY": "data/train.csv",
    "MAX_VALIDATION_MSE": "25",
}
CODEBUILD_VARIABLES = {"CODEBUILD_BUILD_ID": "torchlambda-training-dev:0f9c2d4e-1111-2222-3333"}
# What the source zip must contain, at these paths relative to its root; the default dataset and
# the benchmark may be left out (the data comes from the bucket).
SOURCE_ZIP_PATHS = (
    "training",
    "tooling",
    "lambda_image/app/torchlambda/__init__.py",
    "lambda_image/app/torchlambda/contract.py",
    "lambda_image/app/torchlambda/build_ids.py",
    "lambda_image/app/torchlambda/s3_conditional.py",
    "lambda_image/app/torchlambda/predictor",
)
NOT_NEEDED = ("data", "benchmarks", "__pycache__")


@pytest.fixture(scope="module")
def buildspec(repository: Path) -> dict[str, Any]:
    spec = yaml.safe_load((repository / "training" / "buildspec.yml").read_text())
    assert isinstance(spec, dict)
    return spec


def commands(buildspec: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (phase, command)
        for phase, body in buildspec["phases"].items()
        for command in body.get("commands", [])
    ]


def expand(command: str) -> list[str]:
    values = CDK_VARIABLES | CODEBUILD_VARIABLES
    expanded = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: values[m[1] or m[2]], command)
    return shlex.split(expanded)


def test_shape(buildspec: dict[str, Any]) -> None:
    assert str(buildspec["version"]) == "0.2"
    assert list(buildspec["phases"]) == ["install", "build"]
    for phase in buildspec["phases"].values():
        assert phase["on-failure"] == "ABORT"


def test_uses_only_the_variables_the_project_sets(buildspec: dict[str, Any]) -> None:
    text = "\n".join(command for _, command in commands(buildspec))
    used = set(re.findall(r"\$\{?(\w+)", text))
    assert used == set(CDK_VARIABLES) | set(CODEBUILD_VARIABLES)


def test_every_command_runs_a_module_of_the_source_with_the_dlc_python(
    buildspec: dict[str, Any], repository: Path
) -> None:
    for _, command in commands(buildspec):
        argv = expand(command)
        assert argv[:2] == [DLC_PYTHON, "-m"], command
        module_file = repository / (argv[2].replace(".", "/") + ".py")
        assert module_file.is_file(), argv[2]
        assert module_file.is_relative_to(repository / "training")
        for argument in argv[3:]:
            if argument.startswith("training/"):
                assert (repository / argument).is_file(), argument


def test_train_then_publish_with_arguments_their_parsers_accept(
    buildspec: dict[str, Any],
) -> None:
    build = [expand(command) for command in buildspec["phases"]["build"]["commands"]]
    assert [argv[2] for argv in build] == ["training.train", "training.publish"]
    train_args = train.build_parser().parse_args(build[0][3:])
    publish_args = publish.build_parser().parse_args(build[1][3:])
    assert train_args.data == "s3://torchlambda-artifacts-dev/data/train.csv"
    assert train_args.max_val_mse == publish_args.max_val_mse == 25.0
    assert train_args.device == "auto"
    assert publish_args.model_dir == train_args.out
    # The split goes beside the model directory (which must hold the model alone), then up.
    assert publish_args.test_split == train_args.test_split_out
    assert not train_args.test_split_out.is_relative_to(train_args.out)
    assert publish_args.environment == "dev"
    assert publish.clean_build_id(publish_args.build_id) == "0f9c2d4e-1111-2222-3333"


@pytest.mark.slow
def test_the_archive_holds_the_source_zip_paths(repository: Path) -> None:
    """The CDK asset's exclude list re-includes each path, its parents, and a directory's files."""
    from infra.constructs.training_project import SOURCE_EXCLUDES  # aws_cdk: only this test

    for relative in SOURCE_ZIP_PATHS:
        path = Path(relative)
        wanted = [f"!{parent}" for parent in reversed(path.parents[:-1])] + [f"!{path}"]
        if (repository / path).is_dir():
            wanted.append(f"!{path}/**")
        missing = [pattern for pattern in wanted if pattern not in SOURCE_EXCLUDES]
        assert not missing, (
            f"the source archive leaves out {relative}: SOURCE_EXCLUDES lacks {missing}"
        )


@pytest.mark.slow
def test_the_source_zip_paths_are_enough(
    tmp_path: Path, repository: Path, buildspec: dict[str, Any]
) -> None:
    for relative in SOURCE_ZIP_PATHS:
        if (repository / relative).is_dir():
            shutil.copytree(
                repository / relative,
                tmp_path / relative,
                ignore=shutil.ignore_patterns(*NOT_NEEDED),
            )
        else:
            (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(repository / relative, tmp_path / relative)
    # The venv's editable install points at the repository: take it off the path, so that only
    # the zip's copy (found through the buildspec's PYTHONPATH) can be imported.
    editable = str(repository / "lambda_image" / "app")
    probe = (
        f"import sys; sys.path.remove({editable!r}); "
        "import training.train, training.publish, training.install_missing, torchlambda; "
        "print(torchlambda.__file__)"
    )
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env["PYTHONPATH"] = buildspec["env"]["variables"]["PYTHONPATH"]
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()).is_relative_to(tmp_path)

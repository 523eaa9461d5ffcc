"""The challenger an experiment serves, read at synth from lambda_image/challenger without torch
(or aws_cdk).

``make fetch-model ENV=<env> AS=challenger`` installs a published build there, verified, with a
record of which build it is (``contract.CHALLENGER_BUILD_FILE``); any trained model directory put
there by hand serves too, unless the environment names a build. The image bakes the directory in
at ``contract.CHALLENGER_DIR_IN_IMAGE``; synthesis pins the weights' sha256 (the function refuses
other weights at init) and checks that the function's memory holds both models.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from infra.config import ConfigError, EnvironmentConfig
from infra.model_version import MODEL_DIR, ModelVersionError, model_version
from infra.settings.experiment import Shadow, Split
from infra.settings.model_source import RUNTIME_MEMORY_MB, ImageSource, memory_needed_mb
from torchlambda import contract
from torchlambda.build_ids import clean_build_id
from torchlambda.predictor.digest import is_sha256, sha256_file

ROOT = MODEL_DIR.parents[1]
# Beside the champion's, as the image holds them (the Dockerfile copies each to /var/task/).
CHALLENGER_DIR = MODEL_DIR.parent / contract.CHALLENGER_DIR_IN_IMAGE.name
BYTES_PER_MB = 1e6  # as the model sources' size_mb counts


class ChallengerError(ValueError):
    """The challenger directory holds no usable challenger; the message is one line."""


def shown(path: Path) -> str:
    """A path as a person types it: relative to the repository where it lies inside it."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


@dataclass(frozen=True)
class ChallengerBuild:
    """Which published build the challenger is: what `make ab-report --promote` promotes."""

    environment: str
    build_id: str
    sha256: str
    model_version: str

    def to_json(self) -> bytes:
        return (json.dumps(asdict(self), indent=2) + "\n").encode("utf-8")

    @classmethod
    def read(cls, directory: Path) -> ChallengerBuild | None:
        """The record in `directory`, or None when there is none (a model put there by hand)."""
        path = directory / contract.CHALLENGER_BUILD_FILE
        if not path.exists():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ChallengerError(f"{shown(path)} is unreadable ({error})") from None
        fields = ("environment", "build_id", "sha256", "model_version")
        if not isinstance(data, dict) or not all(isinstance(data.get(f), str) for f in fields):
            raise ChallengerError(
                f"{shown(path)} must be a JSON object with the strings {', '.join(fields)}"
            )
        return cls(**{name: data[name] for name in fields})


@dataclass(frozen=True)
class ChallengerModel:
    version: str
    sha256: str
    weights_bytes: int
    build: ChallengerBuild | None  # None: no record of a published build

    @property
    def size_mb(self) -> float:
        return self.weights_bytes / BYTES_PER_MB


def read_challenger(directory: Path = CHALLENGER_DIR) -> ChallengerModel:
    """The challenger in `directory`: its card's version, its weights' sha256 (checked against
    the card and any build record) and size. Raises ChallengerError saying what is wrong."""
    weights = directory / contract.WEIGHTS_FILE
    card_path = directory / contract.CARD_FILE
    if not weights.is_file():
        raise ChallengerError(f"{shown(weights)} is missing")
    if not card_path.is_file():
        raise ChallengerError(
            f"{shown(card_path)} is missing: a challenger needs its card, which records its "
            "version and weights' sha256"
        )
    try:
        version = model_version(directory)
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except ModelVersionError as error:
        raise ChallengerError(str(error)) from None
    recorded = card.get("sha256")
    if not (isinstance(recorded, str) and is_sha256(recorded)):
        raise ChallengerError(f"{shown(card_path)}: sha256 is not the weights' 64 hex digits")
    actual = sha256_file(weights)
    if actual != recorded:
        raise ChallengerError(
            f"{shown(weights)} has sha256 {actual[:12]} but its card records {recorded[:12]}: "
            "a corrupt or replaced file"
        )
    build = ChallengerBuild.read(directory)
    if build is not None and (build.sha256, build.model_version) != (actual, version):
        raise ChallengerError(
            f"{shown(directory / contract.CHALLENGER_BUILD_FILE)} records build "
            f"{build.build_id} ({build.model_version}) but the directory holds {version}: the "
            "model was replaced after it was fetched"
        )
    return ChallengerModel(version, actual, weights.stat().st_size, build)


@dataclass(frozen=True)
class ServedExperiment:
    """An experiment as the inference function runs it: its settings and the pinned challenger."""

    settings: Shadow | Split
    challenger: ChallengerModel

    def environment(self) -> dict[str, str]:
        return {
            **self.settings.variables(),
            contract.ENV_CHALLENGER_DIR: str(contract.CHALLENGER_DIR_IN_IMAGE),
            contract.ENV_CHALLENGER_SHA256: self.challenger.sha256,
        }


def fetch_command(config: EnvironmentConfig) -> str:
    """What installs the challenger `config` names."""
    build = config.experiment.challenger_build
    return f"make fetch-model ENV={config.name} AS=challenger" + (
        f" BUILD={build}" if build else ""
    )


def served_experiment(
    config: EnvironmentConfig,
    challenger_dir: Path | None = None,
    champion_dir: Path = MODEL_DIR,
) -> ServedExperiment | None:
    """The experiment `config` runs with the challenger the image holds, or None for none.

    Raises ConfigError, one line per fault, when the challenger is missing, is not the build the
    config names, or does not fit in memory beside the champion. `challenger_dir` defaults to
    CHALLENGER_DIR as this module holds it when called.
    """
    settings = config.experiment
    if not isinstance(settings, Shadow | Split):
        return None
    directory = CHALLENGER_DIR if challenger_dir is None else challenger_dir
    where = f"{config.name}: experiment {settings.mode}"
    fix = f"run `{fetch_command(config)}`"
    if not (directory / contract.WEIGHTS_FILE).exists():
        raise ConfigError(f"{where} needs a challenger in {shown(directory)}: {fix}")
    try:
        challenger = read_challenger(directory)
    except ChallengerError as error:
        raise ConfigError(f"{where}: {error}; {fix}") from None
    faults = [
        *_build_faults(config, challenger, directory, fix),
        *_memory_faults(config, challenger, champion_dir),
    ]
    if faults:
        raise ConfigError("\n".join(f"{where}: {fault}" for fault in faults))
    return ServedExperiment(settings, challenger)


def _build_faults(
    config: EnvironmentConfig, challenger: ChallengerModel, directory: Path, fix: str
) -> list[str]:
    """The challenger must be a build of this environment, the one the config names if any."""
    build, wanted = challenger.build, config.experiment.challenger_build
    if build is not None and build.environment != config.name:
        return [
            f"{shown(directory)} holds a build of {build.environment}, not {config.name}: {fix}"
        ]
    # Named as CodeBuild does (project:uuid) or as it is published (uuid): the config checks both.
    if wanted is not None and (build is None or build.build_id != clean_build_id(wanted)):
        held = "no published build" if build is None else f"build {build.build_id}"
        return [f"challenger_build={wanted} but {shown(directory)} holds {held}: {fix}"]
    return []


def _memory_faults(
    config: EnvironmentConfig, challenger: ChallengerModel, champion_dir: Path
) -> list[str]:
    """Both models are loaded at init, each once: memory_mb holds them beside the runtime."""
    source = config.model_source
    if isinstance(source, ImageSource):
        weights = champion_dir / contract.WEIGHTS_FILE
        if not weights.is_file():
            return [f"{shown(weights)} is missing: train (`make train`) or fetch a champion"]
        champion_mb = weights.stat().st_size / BYTES_PER_MB
    else:
        champion_mb = source.size_mb
    needed = memory_needed_mb(champion_mb, challenger.size_mb)
    memory = config.function.memory_mb
    if memory >= needed:
        return []
    return [
        f"function memory_mb={memory} cannot hold the champion ({champion_mb:,.1f} MB), the "
        f"challenger ({challenger.size_mb:,.1f} MB) and the {RUNTIME_MEMORY_MB} MB runtime: "
        f"set it >= {needed}"
    ]

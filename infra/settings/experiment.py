"""A champion/challenger experiment in serving: none, shadow or split (docs/experiments.md).

Both models live in the one function version: the champion wherever the model source says, the
challenger baked into the image beside it (``lambda_image/challenger/``, read at synth by
``infra.challenger``). ``challenger_build`` says which published build ``make fetch-model
AS=challenger`` installs there; None takes the newest build training published (the lifecycle's
latest candidate, pointer ``latest``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from torchlambda import contract
from torchlambda.build_ids import BuildIdError, clean_build_id
from torchlambda.experiment.settings import HEADER_NAME


def _challenger_description(build: str | None) -> str:
    return f"build {build}" if build else "newest build"


def _build_faults(build: str | None) -> Iterator[str]:
    if build is None:
        return
    try:
        clean_build_id(build)
    except BuildIdError:
        yield (
            f"experiment challenger_build={build!r} is not a build id; use the id a training "
            "build published (CodeBuild's project:uuid, or just the uuid), or None for the newest"
        )


@dataclass(frozen=True)
class NoExperiment:
    """The champion answers every request; nothing else is loaded."""

    mode: ClassVar[contract.ExperimentMode] = "none"
    enabled: ClassVar[bool] = False
    challenger_build: ClassVar[str | None] = None

    @property
    def description(self) -> str:
        return "none"

    def variables(self) -> dict[str, str]:
        return {}

    def faults(self) -> Iterator[str]:
        return iter(())


@dataclass(frozen=True)
class Shadow:
    """The champion answers every request; the challenger predicts the same x, logged beside it.
    The caller never sees the challenger, so it is safe anywhere; it costs a second forward pass."""

    challenger_build: str | None = None
    mode: ClassVar[contract.ExperimentMode] = "shadow"
    enabled: ClassVar[bool] = True

    @property
    def description(self) -> str:
        return f"shadow, challenger: {_challenger_description(self.challenger_build)}"

    def variables(self) -> dict[str, str]:
        return {contract.ENV_EXPERIMENT: self.mode}

    def faults(self) -> Iterator[str]:
        yield from _build_faults(self.challenger_build)


@dataclass(frozen=True)
class Split:
    """The challenger answers `weight` of the callers, each kept on one variant by a hash of the
    `sticky_header`'s value (the request id where a request has none)."""

    weight: float
    sticky_header: str = contract.DEFAULT_STICKY_HEADER
    challenger_build: str | None = None
    mode: ClassVar[contract.ExperimentMode] = "split"
    enabled: ClassVar[bool] = True

    @property
    def description(self) -> str:
        return (
            f"split, {self.weight * 100:.4g}% of callers by `{self.sticky_header}`, challenger: "
            f"{_challenger_description(self.challenger_build)}"
        )

    def variables(self) -> dict[str, str]:
        return {
            contract.ENV_EXPERIMENT: self.mode,
            contract.ENV_SPLIT_WEIGHT: repr(float(self.weight)),
            contract.ENV_STICKY_HEADER: self.sticky_header,
        }

    def faults(self) -> Iterator[str]:
        if not 0 < self.weight <= contract.MAX_SPLIT_WEIGHT:
            yield (
                f"experiment split weight={self.weight} must be in (0, "
                f"{contract.MAX_SPLIT_WEIGHT}]: the challenger's share of callers (more than "
                "half would make it the champion; promote it instead)"
            )
        if HEADER_NAME.fullmatch(self.sticky_header) is None:
            yield (
                f"experiment split sticky_header={self.sticky_header!r} must be a lowercase HTTP "
                f"header name such as {contract.DEFAULT_STICKY_HEADER!r} (the API lowercases them)"
            )
        yield from _build_faults(self.challenger_build)


Experiment = NoExperiment | Shadow | Split

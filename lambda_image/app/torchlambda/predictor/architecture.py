"""The one definition of the network: a small spec and the ``nn.Sequential`` it builds.

The default spec reproduces the book's MLP exactly, so a ``model.pth`` trained with the book loads
(state_dict keys 0, 3, 6, 9: each hidden block is Linear, Dropout, activation).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from itertools import pairwise
from typing import Any

from torch import nn

ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU}
# Bounds checked before anything is allocated: a card is data, and data must not be able to ask
# for terabytes. 16M parameters is 64 MB of float32, far beyond what this API serves.
MAX_WIDTH = 4096
MAX_HIDDEN_LAYERS = 16
MAX_PARAMETERS = 16_000_000
# The HTTP API maps one number x to one number y.
SERVED_SIZE = 1


class SpecError(ValueError):
    """An architecture spec (usually from a model card) is malformed."""


@dataclass(frozen=True)
class ArchitectureSpec:
    input_size: int = 1
    hidden_sizes: tuple[int, ...] = (100, 100, 100)
    dropout: float = 0.01
    activation: str = "relu"
    output_size: int = 1

    def __post_init__(self) -> None:
        sizes = (self.input_size, *self.hidden_sizes, self.output_size)
        if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in sizes):
            raise SpecError(f"layer sizes must be positive integers, got {sizes}")
        if (self.input_size, self.output_size) != (SERVED_SIZE, SERVED_SIZE):
            raise SpecError(
                f"input_size and output_size must be {SERVED_SIZE} (one x to one y), "
                f"got {self.input_size} and {self.output_size}"
            )
        if len(self.hidden_sizes) > MAX_HIDDEN_LAYERS or max(sizes) > MAX_WIDTH:
            raise SpecError(
                f"at most {MAX_HIDDEN_LAYERS} hidden layers of at most {MAX_WIDTH} units, "
                f"got {list(self.hidden_sizes)}"
            )
        if self.parameter_count > MAX_PARAMETERS:
            raise SpecError(
                f"{self.parameter_count:,} parameters is over the limit of {MAX_PARAMETERS:,}"
            )
        if not isinstance(self.dropout, (int, float)) or not 0 <= self.dropout < 1:
            raise SpecError(f"dropout must be in [0, 1), got {self.dropout!r}")
        if self.activation not in ACTIVATIONS:
            raise SpecError(
                f"activation {self.activation!r} is not one of {', '.join(sorted(ACTIVATIONS))}"
            )

    @property
    def parameter_count(self) -> int:
        """Weights and biases of every Linear layer, computed without building anything."""
        widths = (self.input_size, *self.hidden_sizes, self.output_size)
        return sum((fan_in + 1) * fan_out for fan_in, fan_out in pairwise(widths))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["hidden_sizes"] = list(self.hidden_sizes)
        return data

    @classmethod
    def from_dict(cls, data: object) -> ArchitectureSpec:
        if not isinstance(data, Mapping):  # null, [] and "" too: never silently the default
            raise SpecError(f"architecture must be an object, got {type(data).__name__}")
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise SpecError(f"unknown architecture fields: {', '.join(sorted(unknown))}")
        values = dict(data)
        if "hidden_sizes" in values:
            if not isinstance(values["hidden_sizes"], (list, tuple)):
                raise SpecError("hidden_sizes must be a list of integers")
            values["hidden_sizes"] = tuple(values["hidden_sizes"])
        return cls(**values)


DEFAULT_SPEC = ArchitectureSpec()


def build_model(spec: ArchitectureSpec = DEFAULT_SPEC) -> nn.Sequential:
    layers: list[nn.Module] = []
    width = spec.input_size
    for hidden in spec.hidden_sizes:
        layers += [
            nn.Linear(width, hidden),
            nn.Dropout(spec.dropout),
            ACTIVATIONS[spec.activation](),
        ]
        width = hidden
    layers.append(nn.Linear(width, spec.output_size))
    return nn.Sequential(*layers)

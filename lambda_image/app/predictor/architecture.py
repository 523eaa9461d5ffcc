"""The one definition of the network: a small spec and the ``nn.Sequential`` it builds.

The default spec reproduces the book's MLP exactly, so a ``model.pth`` trained with the book loads
(state_dict keys 0, 3, 6, 9: each hidden block is Linear, Dropout, activation).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from torch import nn

ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU}


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
        if not isinstance(self.dropout, (int, float)) or not 0 <= self.dropout < 1:
            raise SpecError(f"dropout must be in [0, 1), got {self.dropout!r}")
        if self.activation not in ACTIVATIONS:
            raise SpecError(
                f"activation {self.activation!r} is not one of {', '.join(sorted(ACTIVATIONS))}"
            )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["hidden_sizes"] = list(self.hidden_sizes)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ArchitectureSpec:
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

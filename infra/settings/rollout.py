"""How CodeDeploy moves the `live` alias to a new version: all at once, or a canary first.

A strategy builds itself through a ``RolloutBuilder`` (the CDK construct implements one), so no
code outside this module asks which strategy it holds.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol, TypeVar

CANARY_MAX_MINUTES = 2880  # CodeDeploy's limit on a canary's wait

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class RolloutBuilder(Protocol[T_co]):
    """Turns a strategy into whatever its caller needs (a deployment config, a table cell)."""

    def all_at_once(self) -> T_co: ...

    def canary(self, *, percentage: int, minutes: int) -> T_co: ...


@dataclass(frozen=True)
class AllAtOnce:
    """Shift all traffic to a new version at once (CodeDeploy still records and can roll back)."""

    @property
    def description(self) -> str:
        return "all at once"

    def faults(self) -> Iterator[str]:
        return iter(())

    def build(self, builder: RolloutBuilder[T]) -> T:
        return builder.all_at_once()


@dataclass(frozen=True)
class Canary:
    """Send `percentage` of traffic to the new version for `minutes`, then the rest."""

    percentage: int
    minutes: int

    @property
    def description(self) -> str:
        return f"canary {self.percentage}% for {self.minutes} min"

    def faults(self) -> Iterator[str]:
        if not 1 <= self.percentage <= 99:
            yield f"canary percentage={self.percentage} must be 1..99"
        if not 1 <= self.minutes <= CANARY_MAX_MINUTES:
            yield (
                f"canary minutes={self.minutes} must be 1..{CANARY_MAX_MINUTES} "
                "(CodeDeploy's limit)"
            )

    def build(self, builder: RolloutBuilder[T]) -> T:
        return builder.canary(percentage=self.percentage, minutes=self.minutes)


DeploymentStrategy = AllAtOnce | Canary

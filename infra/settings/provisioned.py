"""Provisioned concurrency on the `live` alias: none, a fixed count, or auto-scaled.

Each choice says what it keeps warm at all times (floor), how far it may grow (ceiling), the
utilization it tracks and on which schedules, so the infrastructure, the settings table and the
cost model read it without asking which choice it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

SCHEDULE_EXPRESSION = re.compile(r"(cron|rate|at)\(.+\)")


@dataclass(frozen=True)
class ScheduledCapacity:
    """A time window with its own auto-scaling bounds (e.g. business hours)."""

    name: str
    cron: str  # Application Auto Scaling cron: "cron(0 8 ? * MON-FRI *)"
    min_capacity: int
    max_capacity: int


@dataclass(frozen=True)
class OnDemand:
    """No provisioned concurrency: nothing is paid while idle, and new environments start cold."""

    floor: ClassVar[int] = 0
    ceiling: ClassVar[int] = 0
    target_utilization: ClassVar[float | None] = None
    schedules: ClassVar[tuple[ScheduledCapacity, ...]] = ()

    @property
    def description(self) -> str:
        return "none (on demand)"

    def faults(self) -> Iterator[str]:
        return iter(())


@dataclass(frozen=True)
class FixedProvisionedConcurrency:
    """A constant number of pre-initialized execution environments on the alias."""

    count: int
    target_utilization: ClassVar[float | None] = None  # a fixed count tracks nothing
    schedules: ClassVar[tuple[ScheduledCapacity, ...]] = ()

    @property
    def floor(self) -> int:
        return self.count

    @property
    def ceiling(self) -> int:
        return self.count

    @property
    def description(self) -> str:
        return f"{self.count} (fixed)"

    def faults(self) -> Iterator[str]:
        if self.count < 1:
            yield (
                f"provisioned concurrency {self.count} must be >= 1 "
                "(use OnDemand() for on-demand only)"
            )


@dataclass(frozen=True)
class AutoScaledProvisionedConcurrency:
    """Target tracking on LambdaProvisionedConcurrencyUtilization between min and max."""

    min_capacity: int
    max_capacity: int
    target_utilization: float = 0.7
    schedules: tuple[ScheduledCapacity, ...] = ()

    @property
    def floor(self) -> int:
        return self.min_capacity

    @property
    def ceiling(self) -> int:
        return self.max_capacity

    @property
    def description(self) -> str:
        return (
            f"{self.min_capacity}..{self.max_capacity} at {self.target_utilization:.0%} utilization"
        )

    def faults(self) -> Iterator[str]:
        if self.min_capacity < 1:
            yield f"auto-scaling min_capacity={self.min_capacity} must be >= 1"
        if self.min_capacity > self.max_capacity:
            yield (
                f"auto-scaling min_capacity={self.min_capacity} > max_capacity={self.max_capacity}"
            )
        if not 0 < self.target_utilization < 1:
            yield f"auto-scaling target_utilization={self.target_utilization} must be in (0, 1)"
        for s in self.schedules:
            if not 0 <= s.min_capacity <= s.max_capacity <= self.max_capacity:
                yield (
                    f"schedule {s.name!r}: need 0 <= min ({s.min_capacity}) <= max "
                    f"({s.max_capacity}) <= max_capacity ({self.max_capacity})"
                )
            if not SCHEDULE_EXPRESSION.fullmatch(s.cron):
                yield f"schedule {s.name!r}: {s.cron!r} is not cron(...), rate(...) or at(...)"


ProvisionedConcurrency = OnDemand | FixedProvisionedConcurrency | AutoScaledProvisionedConcurrency

"""How long things are kept: log retention, and whether stateful resources outlive their stack."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
                      2192, 2557, 2922, 3288, 3653)  # fmt: skip


@dataclass(frozen=True)
class RetentionSettings:
    log_retention_days: int = 7
    retain_stateful_resources: bool = False

    def faults(self) -> Iterator[str]:
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            yield (
                f"log_retention_days={self.log_retention_days} is not a CloudWatch Logs value; "
                f"pick one of {', '.join(map(str, LOG_RETENTION_DAYS))}"
            )

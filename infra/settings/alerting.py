"""Where alarms go beyond the encrypted SNS topic every environment has."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@dataclass(frozen=True)
class AlertingSettings:
    alarm_email: str | None = None  # subscribed to the alarm topic when set

    def faults(self) -> Iterator[str]:
        if self.alarm_email is not None and not EMAIL_PATTERN.fullmatch(self.alarm_email):
            yield f"alarm_email {self.alarm_email!r} is not an e-mail address"

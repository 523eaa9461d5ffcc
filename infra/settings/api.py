"""The HTTP API in front of the function: throttling, authorization and CORS."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

ApiAuth = Literal["none", "iam"]
ORIGIN_PATTERN = re.compile(r"\*|https?://[A-Za-z0-9.-]+(:\d{1,5})?")


@dataclass(frozen=True)
class Throttling:
    rate_limit: float  # steady-state requests per second
    burst_limit: int


@dataclass(frozen=True)
class ApiSettings:
    throttling: Throttling = Throttling(rate_limit=10, burst_limit=20)
    auth: ApiAuth = "none"
    cors_origins: tuple[str, ...] = ()

    def faults(self) -> Iterator[str]:
        t = self.throttling
        if not (t.rate_limit > 0 and t.burst_limit >= t.rate_limit):
            yield (
                f"throttling rate={t.rate_limit} burst={t.burst_limit}: need burst >= rate > 0 "
                "(burst is the bucket the rate refills)"
            )
        if self.auth not in ("none", "iam"):
            yield f"api_auth={self.auth!r}; use 'none' or 'iam'"
        for origin in self.cors_origins:
            if not ORIGIN_PATTERN.fullmatch(origin):
                yield f"CORS origin {origin!r} is not '*' or scheme://host[:port]"

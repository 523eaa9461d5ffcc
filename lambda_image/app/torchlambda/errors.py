"""The API's error type: every refusal carries an HTTP status, a stable code and a short message."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ApiError(Exception):
    status: int
    code: str
    message: str
    allow: str | None = None  # the Allow header of a 405

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"


def bad_request(code: str, message: str) -> ApiError:
    return ApiError(400, code, message)

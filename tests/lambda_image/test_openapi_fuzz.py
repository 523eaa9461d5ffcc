"""Fuzz `make serve` with its own OpenAPI description: schemathesis sends each operation the
description's examples, boundary and missing or wrong values, and generated requests (valid ones
and ones the description calls invalid). No answer may be a 5xx; each answer's status,
Content-Type, headers and body must be described; a request the description calls valid must be
accepted, and one it calls invalid refused with one of the function's 4xx.

Bounded and reproducible: a fixed seed, derandomized generation, no example database, and
MAX_EXAMPLES generated requests per operation (about 160 requests in all, a few seconds).
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis

from lambda_image.local import openapi
from tests.ops.smoke.local_api import local_server

# A real server in a subprocess, on a socket.
pytestmark = [pytest.mark.integration, pytest.mark.slow]

MAX_EXAMPLES = 40
SEED = 20240601
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "positive_data_acceptance",
    "negative_data_rejection",
)
# What a request the description calls invalid must get: the function's own 4xx refusals.
REFUSED = sorted({int(s) for op in openapi.OPERATIONS.values() for s in op.refusals if s < 500})
CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
        "checks": {
            "enabled": False,
            **{name: {"enabled": True} for name in CHECKS},
            "negative_data_rejection": {"enabled": True, "expected-statuses": REFUSED},
        },
    }
)
# Built at collection, as parametrize needs it then: the document the server serves, which
# test_the_server_serves_this_description checks byte for byte. (A schema loaded from the running
# server through schemathesis.pytest.from_fixture fails on pytest 9.2: it sets Node._nodeid.)
schema = schemathesis.openapi.from_dict(openapi.document(), config=CONFIG)


@pytest.fixture(scope="module")
def server_url(model_dir: Path) -> Iterator[str]:
    with local_server(model_dir) as url:  # python -m lambda_image.local.serve --port 0
        yield url


def test_the_server_serves_this_description(server_url: str) -> None:
    with urllib.request.urlopen(server_url + openapi.DOCUMENT_PATH, timeout=30) as reply:
        assert reply.headers["content-type"] == openapi.JSON
        assert reply.read() == openapi.render()


@schema.parametrize()
def test_make_serve_answers_as_its_description_says(
    case: schemathesis.Case[Any], server_url: str
) -> None:
    case.call_and_validate(base_url=server_url)

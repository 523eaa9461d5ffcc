"""API Gateway's own payload 2.0 sample event, rendered from the template the wheel ships."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# ---- API Gateway's sample event ------------------------------------------------------------------

PLACEHOLDER = re.compile(r"\{\{\{([A-Za-z0-9_]+)\}\}\}")
# The placeholders a request does not decide: `sam local generate-event`'s account and stage, and
# the domain of this project's region.
HTTP_API_DEFAULTS = {
    "account_id": "123456789012",
    "dns_suffix": "us-west-2.amazonaws.com",
    "stage": "$default",
}


def render_template(text: str, values: Mapping[str, str]) -> Any:
    """The template's JSON with every ``{{{name}}}`` replaced, as a string value, by ``values``.

    Every placeholder sits inside a JSON string, so each value is escaped as one (``sam`` inserts
    it raw). A placeholder without a value, or a value without a placeholder, is an error: a
    template that changes with the pinned wheel is noticed, not half rendered.
    """
    names = set(PLACEHOLDER.findall(text))
    if missing := sorted(names - set(values)):
        raise ValueError(f"no value for the template's {', '.join(missing)}")
    if unused := sorted(set(values) - names):
        raise ValueError(f"the template has no {', '.join(unused)}")
    rendered = PLACEHOLDER.sub(lambda match: json.dumps(values[match[1]])[1:-1], text)
    return json.loads(rendered)


def http_api_event(template: Path, method: str, path: str, body: str) -> Any:
    """A payload 2.0 event for one request, from the wheel's template (body base64, as there)."""
    values = {
        **HTTP_API_DEFAULTS,
        "method": method,
        "path": path.lstrip("/"),  # the template writes "/{{{path}}}"
        "body": base64.b64encode(body.encode("utf-8")).decode("ascii"),
    }
    return render_template(template.read_text(encoding="utf-8"), values)

"""Renders the per-environment settings as the Markdown table in README.md.

`make docs` rewrites the table between its markers; a test fails when README and config disagree.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path

from infra.config import (
    ENVIRONMENTS,
    AutoScaledProvisionedConcurrency,
    Canary,
    EnvironmentConfig,
    FixedProvisionedConcurrency,
)

README = Path(__file__).resolve().parents[1] / "README.md"
START, END = "<!-- environments:start -->", "<!-- environments:end -->"


def provisioned(c: EnvironmentConfig) -> str:
    pc = c.provisioned_concurrency
    if isinstance(pc, FixedProvisionedConcurrency):
        return f"{pc.count} (fixed)"
    if isinstance(pc, AutoScaledProvisionedConcurrency):
        return f"{pc.min_capacity}..{pc.max_capacity} at {pc.target_utilization:.0%} utilization"
    return "none (on demand)"


def rollout(c: EnvironmentConfig) -> str:
    if isinstance(c.deployment, Canary):
        return f"canary {c.deployment.percentage}% for {c.deployment.minutes} min"
    return "all at once"


ROWS: tuple[tuple[str, Callable[[EnvironmentConfig], str]], ...] = (
    ("Region", lambda c: c.region),
    ("Memory", lambda c: f"{c.memory_mb} MB, {c.architecture}"),
    ("Timeout", lambda c: f"{c.timeout_seconds} s"),
    ("Reserved concurrency", lambda c: str(c.reserved_concurrency or "unreserved")),
    ("Provisioned concurrency", provisioned),
    ("API auth", lambda c: "IAM (SigV4)" if c.api_auth == "iam" else "none (public)"),
    ("Throttling", lambda c: f"{c.throttling.rate_limit:g} rps, burst {c.throttling.burst_limit}"),
    ("CORS origins", lambda c: ", ".join(c.cors_origins) or "none"),
    ("Rollout", rollout),
    ("Log retention", lambda c: f"{c.log_retention_days} days"),
    ("Stateful resources", lambda c: "retained" if c.retain_stateful_resources else "destroyed"),
    ("Inference base", lambda c: f"`{c.inference_image.name}` ({c.inference_image.registry})"),
    ("Training image", lambda c: f"`{c.training_image.name}` on {c.training_compute}"),
    ("Quality gate", lambda c: f"validation MSE <= {c.max_validation_mse:g}"),
)


def render() -> str:
    envs = list(ENVIRONMENTS.values())
    lines = [
        "| setting | " + " | ".join(c.name for c in envs) + " |",
        "|---|" + "---|" * len(envs),
    ]
    lines += [f"| {label} | " + " | ".join(cell(c) for c in envs) + " |" for label, cell in ROWS]
    return "\n".join(lines)


BLOCK = re.compile(re.escape(START) + r"\n(.*?)" + re.escape(END), re.DOTALL)


def block_in(text: str) -> str:
    match = BLOCK.search(text)
    if match is None:
        raise ValueError(f"README.md has no {START} ... {END} block")
    return match.group(1).rstrip("\n")


def main() -> None:
    text = README.read_text()
    if BLOCK.search(text) is None:
        sys.exit(f"error: README.md has no {START} ... {END} block")
    README.write_text(BLOCK.sub(lambda _: f"{START}\n{render()}\n{END}", text))
    print(f"updated the environments table in {README.name}", file=sys.stderr)


if __name__ == "__main__":
    main()

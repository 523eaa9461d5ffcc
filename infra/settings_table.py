"""Renders the per-environment settings as the Markdown table in README.md.

`make docs` rewrites the table between its markers; a test fails when README and config disagree.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path

from infra.config import ENVIRONMENTS, EnvironmentConfig

README = Path(__file__).resolve().parents[1] / "README.md"
START, END = "<!-- environments:start -->", "<!-- environments:end -->"

ROWS: tuple[tuple[str, Callable[[EnvironmentConfig], str]], ...] = (
    ("Region", lambda c: c.region),
    ("Memory", lambda c: f"{c.function.memory_mb} MB, {c.function.architecture}"),
    ("Timeout", lambda c: f"{c.function.timeout_seconds} s"),
    ("Reserved concurrency", lambda c: str(c.function.reserved_concurrency or "unreserved")),
    ("Provisioned concurrency", lambda c: c.provisioned.description),
    ("API auth", lambda c: "IAM (SigV4)" if c.api.auth == "iam" else "none (public)"),
    (
        "Throttling",
        lambda c: f"{c.api.throttling.rate_limit:g} rps, burst {c.api.throttling.burst_limit}",
    ),
    ("CORS origins", lambda c: ", ".join(c.api.cors_origins) or "none"),
    ("Rollout", lambda c: c.rollout.description),
    ("Log retention", lambda c: f"{c.retention.log_retention_days} days"),
    (
        "Stateful resources",
        lambda c: "retained" if c.retention.retain_stateful_resources else "destroyed",
    ),
    (
        "Inference base",
        lambda c: f"`{c.function.image.name}` ({c.function.image.registry})",
    ),
    (
        "Model source",
        lambda c: f"{c.model_source.description}, /tmp {c.function.ephemeral_storage_mb} MB",
    ),
    ("Experiment", lambda c: c.experiment.description),
    ("Training image", lambda c: f"`{c.training.image.name}` on {c.training.compute}"),
    ("Quality gate", lambda c: f"validation MSE <= {c.training.max_validation_mse:g}"),
    ("Retrain triggers", lambda c: c.lifecycle.triggers_description),
    (
        "Promotion gate",
        lambda c: (
            f"MSE <= {c.lifecycle.gate.max_mse:g} on {c.lifecycle.evaluation_set_description}, "
            f">= {c.lifecycle.gate.min_relative_improvement:.0%} better than the champion"
        ),
    ),
    (
        "Batch workers",
        lambda c: (
            f"{c.batch.max_concurrency} at a time, {c.batch.worker_reserved_concurrency} "
            f"reserved, {c.batch.worker_memory_mb} MB, {c.batch.worker_timeout_seconds} s"
        ),
    ),
    (
        "Batch tolerance",
        lambda c: f"{c.batch.tolerated_failure_percentage:g}% of objects or rows failed",
    ),
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

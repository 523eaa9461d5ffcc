"""The text `make cost` prints: a line-item table per option, the volumes where they cross."""

from __future__ import annotations

from infra.config import EnvironmentConfig
from ops.cost.model import Comparison, MonthlyCost
from ops.cost.prices import PRICES, Prices
from ops.cost.units import format_count

LINE_ITEMS = (
    ("Lambda requests", "lambda_requests"),
    ("Lambda duration", "lambda_duration"),
    ("PC allocation", "provisioned_allocation"),
    ("PC duration", "provisioned_duration"),
    ("HTTP API requests", "api_requests"),
    ("instance", "instance"),
)


def describe_provisioned(config: EnvironmentConfig) -> str:
    pc = config.provisioned
    if not pc.floor:
        return "none (on-demand only)"
    return f"{pc.description}, floor {pc.floor} always allocated"


def cost_lines(
    config: EnvironmentConfig, comparison: Comparison, prices: Prices = PRICES
) -> list[str]:
    workload = comparison.workload
    options: list[tuple[str, MonthlyCost]] = [
        (f"{config.name} as configured", comparison.configured),
        ("on-demand only", comparison.on_demand),
        (f"{prices.instance_name} always-on", comparison.instance),
    ]
    lines = [
        f"Monthly cost of {config.name} ({config.region}): "
        f"{format_count(workload.monthly_requests)} requests/month, "
        f"{workload.duration_ms:g} ms each, "
        f"{config.function.memory_mb} MB {config.function.architecture}",
        f"Provisioned concurrency: {describe_provisioned(config)}; average concurrency "
        f"{comparison.configured.average_concurrency:.3g}",
        f"Prices: {prices.region} list prices as of {prices.as_of} (ops/cost/prices.py), "
        f"{prices.hours_per_month}-hour month, steady traffic",
        "",
        f"{'USD per month':<20}" + "".join(f"{name:>24}" for name, _ in options),
    ]
    for label, attribute in LINE_ITEMS:
        amounts = [getattr(cost, attribute) for _, cost in options]
        if any(amounts):
            lines.append(f"{label:<20}" + "".join(f"{_money(amount):>24}" for amount in amounts))
    lines.append(f"{'total':<20}" + "".join(f"{cost.total:>24,.2f}" for _, cost in options))
    lines.append("")
    lines.append(
        f"Break-even with {prices.instance_name} (${comparison.instance.total:,.2f}): "
        f"as configured at {_volume(comparison.configured_meets_instance)}, "
        f"on-demand only at {_volume(comparison.on_demand_meets_instance)}"
    )
    if config.provisioned.ceiling:
        lines.append(
            "Provisioned concurrency is cheaper than on-demand only from "
            f"{_volume(comparison.provisioned_pays_off)}"
        )
    return lines


def _money(amount: float) -> str:
    return f"{amount:,.2f}" if amount else "-"  # a dash: the item does not apply to that option


def _volume(requests: float | None) -> str:
    if requests is None:
        return "no volume up to 1T requests/month"
    if requests <= 1:
        return "any volume (its fixed monthly cost alone reaches it)"
    return f"{format_count(requests)} requests/month"

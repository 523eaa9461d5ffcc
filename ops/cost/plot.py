"""The cost plot: monthly cost against monthly requests for each option, written as a PNG."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: never open a window, work without a display

import matplotlib.pyplot as plt

from ops.cost.model import Comparison, LambdaSetup, cost_curve
from ops.cost.prices import PRICES, Prices
from ops.cost.units import format_count
from tooling.atomic import write_file_atomically

LOWEST_VOLUME, HIGHEST_VOLUME, POINTS = 1e5, 1e9, 200


def plot_costs(
    path: Path,
    title: str,
    setup: LambdaSetup,
    comparison: Comparison,
    prices: Prices = PRICES,
) -> None:
    ratio = (HIGHEST_VOLUME / LOWEST_VOLUME) ** (1 / (POINTS - 1))
    volumes = [LOWEST_VOLUME * ratio**i for i in range(POINTS)]
    duration_ms = comparison.workload.duration_ms

    figure, axes = plt.subplots(figsize=(8, 5), dpi=110)
    if setup.provisioned is not None:
        axes.plot(volumes, cost_curve(setup, duration_ms, volumes, prices), label="as configured")
    axes.plot(
        volumes,
        cost_curve(setup.without_provisioned_concurrency(), duration_ms, volumes, prices),
        label="on-demand only",
    )
    instance_total = comparison.instance.total
    axes.axhline(
        instance_total,
        color="grey",
        linestyle="--",
        label=f"always-on {prices.instance_name} (${instance_total:,.2f})",
    )
    crossings = (
        (comparison.configured_meets_instance, (-8, 8), "right"),
        (comparison.on_demand_meets_instance, (8, -14), "left"),
    )
    for volume, offset, alignment in crossings:
        if volume is not None and LOWEST_VOLUME <= volume <= HIGHEST_VOLUME:
            axes.plot([volume], [instance_total], "ko", markersize=4)
            axes.annotate(
                format_count(volume),
                (volume, instance_total),
                textcoords="offset points",
                xytext=offset,
                ha=alignment,
                fontsize=8,
            )
    requests = comparison.workload.monthly_requests
    axes.axvline(requests, color="black", linewidth=0.6, alpha=0.5)
    axes.annotate(
        f"{format_count(requests)}/month",
        (requests, 1),
        xycoords=("data", "axes fraction"),
        textcoords="offset points",
        xytext=(3, -12),
        fontsize=8,
        color="dimgrey",
    )
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("requests per month")
    axes.set_ylabel("USD per month")
    axes.set_title(title, fontsize=9)
    axes.grid(True, which="both", alpha=0.25)
    axes.legend(fontsize=8)
    figure.text(
        0.99,
        0.01,
        f"{prices.region} list prices as of {prices.as_of}; "
        f"{prices.hours_per_month}-hour month; steady traffic",
        ha="right",
        fontsize=7,
        color="grey",
    )
    figure.tight_layout()

    buffer = BytesIO()
    # No software/date metadata: the same inputs give the same bytes (a stable committed plot).
    figure.savefig(buffer, format="png", metadata={"Software": None})
    plt.close(figure)
    write_file_atomically(path, buffer.getvalue())

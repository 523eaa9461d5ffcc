"""The A/B report's lines: what was compared, each variant's live figures, the paired comparison,
the verdict and the sample size a verdict needs."""

from __future__ import annotations

from collections.abc import Sequence

from ops.experiment.comparison import (
    BOOTSTRAP_RESAMPLES,
    CONFIDENCE,
    MIN_OBSERVATIONS,
    POWER,
    Comparison,
    Verdict,
)
from ops.experiment.feedback_log import Selection
from ops.experiment.variants import LiveFigures, VariantFigures

NO_CHALLENGER = "no challenger was served; nothing to compare"  # experiment none


def plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def selection_lines(selection: Selection, more_hint: str) -> list[str]:
    """The pair compared, and each thing the log held that the comparison leaves out."""
    pair = selection.pair
    lines = [
        f"experiment {selection.experiment}: {pair.describe()}; "
        f"{plural(selection.observations, 'labelled observation')} in "
        f"{plural(selection.events, 'feedback event')}"
    ]
    if selection.skipped:
        events = sum(count for _, count, _ in selection.skipped)
        observations = sum(count for _, _, count in selection.skipped)
        others = ", ".join(
            f"{other.describe()} ({plural(count, 'event')})"
            for other, count, _ in selection.skipped
        )
        lines.append(
            f"skipped {plural(events, 'feedback event')} ({observations:,} labelled "
            f"observations) of other version pairs, newest first: {others}"
        )
    if selection.unreadable:
        lines.append(f"skipped {plural(selection.unreadable, 'unreadable feedback line')}")
    if selection.read_limit is not None:
        lines.append(
            f"read only the oldest {selection.read_limit:,} labelled observations (the most a "
            f"report reads); {more_hint}"
        )
    return lines


def figures_table(live: LiveFigures) -> list[str]:
    header = ("variant", "model_version", "predictions", "errors", "latency p50", "latency p99")
    cells = [header, *(_figure_cells(figures) for figures in live.variants)]
    widths = [max(len(row[column]) for row in cells) for column in range(len(header))]

    def aligned(row: tuple[str, ...]) -> str:
        # Names to the left, numbers to the right.
        return "  ".join(
            cell.ljust(width) if column < 2 else cell.rjust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        )

    lines = [aligned(row).rstrip() for row in cells]
    if len(live.variants) > 1:
        lines.append(
            f"challenger failures (the champion answered instead): {live.challenger_failures:,}"
        )
    return lines


def _figure_cells(figures: VariantFigures) -> tuple[str, ...]:
    return (
        figures.variant,
        figures.model_version,
        f"{figures.predictions:,}",
        f"{figures.errors:,}",
        _milliseconds(figures.latency_p50_ms),
        _milliseconds(figures.latency_p99_ms),
    )


def _milliseconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g} ms"


def comparison_lines(
    comparison: Comparison, gate: str, min_relative_improvement: float
) -> list[str]:
    """Both MSEs, their difference with its interval, the verdict and the sample size; `gate`
    names the environment whose gate sets the smallest difference worth acting on."""
    relative = comparison.relative_difference
    share = "" if relative is None else f": {relative:+.2%} of the champion's MSE"
    interval = comparison.interval
    spread = (
        f"none: fewer than {MIN_OBSERVATIONS} observations"
        if interval is None
        else f"[{interval[0]:+.4g}, {interval[1]:+.4g}] (bootstrap, "
        f"{BOOTSTRAP_RESAMPLES:,} resamples)"
    )
    return [
        f"paired comparison on {plural(comparison.observations, 'labelled observation')}, each "
        "scored by both models:",
        f"  MSE champion    {comparison.champion_mse:.6g}",
        f"  MSE challenger  {comparison.challenger_mse:.6g}",
        f"  difference      {comparison.difference:+.4g} (champion's less challenger's{share})",
        f"  {CONFIDENCE:.0%} interval    {spread}",
        verdict_line(comparison),
        sample_size_line(comparison, gate, min_relative_improvement),
    ]


def verdict_line(comparison: Comparison) -> str:
    coverage = f"{CONFIDENCE:.0%} interval"
    if comparison.verdict is Verdict.BETTER:
        return f"verdict: {Verdict.BETTER}: the whole {coverage} of the difference is above 0"
    if comparison.verdict is Verdict.WORSE:
        return f"verdict: {Verdict.WORSE}: the whole {coverage} of the difference is below 0"
    if comparison.interval is None:
        return (
            f"verdict: {Verdict.NOT_ENOUGH_DATA}: {comparison.observations:,} labelled "
            f"observations, fewer than the {MIN_OBSERVATIONS} a verdict needs"
        )
    return f"verdict: {Verdict.NOT_ENOUGH_DATA}: the {coverage} of the difference includes 0"


def sample_size_line(comparison: Comparison, gate: str, min_relative_improvement: float) -> str:
    have = f"{comparison.observations:,} read"
    if comparison.needed is None:
        if comparison.observations < 2:
            return f"sample size: unknown until 2 observations show how the errors vary; {have}"
        if comparison.sized_for <= 0:
            return (
                "sample size: nothing to size it for: the difference is 0, and so is the "
                f"smallest worth acting on ({gate}'s gate: {min_relative_improvement:.2%} of the "
                "champion's MSE)"
            )
        return f"sample size: beyond reach, the difference is vanishingly small; {have}"
    if comparison.sized_for > abs(comparison.difference):
        target = (
            f"{comparison.sized_for:.4g}, the smallest worth acting on ({gate}'s gate: "
            f"{min_relative_improvement:.2%} of the champion's MSE)"
        )
    else:
        target = f"{comparison.sized_for:.4g} (the one observed)"
    return (
        f"sample size: about {comparison.needed:,} labelled observations detect a difference of "
        f"{target} with {POWER:.0%} power at {1 - CONFIDENCE:.0%} two-sided; {have}"
    )


def no_challenger_lines(selection: Selection, champion_mse: float) -> list[str]:
    """Feedback the challenger did not score: none was served, or it failed on every batch."""
    reason = (
        NO_CHALLENGER
        if selection.experiment == "none"
        else f"the {selection.experiment} experiment's challenger scored none of this feedback "
        "(it failed each time: its warnings in the function's log say why); nothing to compare"
    )
    observations = plural(selection.observations, "labelled observation")
    return [f"{reason} (the champion's MSE on {observations}: {champion_mse:.6g})"]


def report_lines(
    heading: str,
    selection: Selection,
    live: LiveFigures,
    compared: Sequence[str],
    more_hint: str,
) -> list[str]:
    return [
        heading,
        *selection_lines(selection, more_hint),
        "",
        *figures_table(live),
        "",
        *compared,
    ]

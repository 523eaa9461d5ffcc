"""Each variant's figures from the request log lines: the answering model's, the shadow runs as the
challenger's, failures the champion covered counted apart, other version pairs left out."""

from __future__ import annotations

from ops.experiment.feedback_log import VersionPair
from ops.experiment.variants import LiveFigures, RequestTally, VariantFigures
from tests.ops.experiment.log_lines import CHALLENGER_VERSION, CHAMPION_VERSION, served
from torchlambda.contract import CHALLENGER, CHAMPION
from torchlambda.experiment.request_record import ShadowRun

PAIR = VersionPair(CHAMPION_VERSION, CHALLENGER_VERSION)


def test_split_counts_each_variant_by_the_model_that_answered() -> None:
    tally = RequestTally()
    for latency in range(1, 101):  # the champion: 1..100 ms
        tally.add(served(CHAMPION, float(latency)))
    tally.add(served(CHALLENGER, 2.0, predictions=3))
    tally.add(served(CHALLENGER, 4.0))
    tally.add(served(CHALLENGER, None, predictions=0, error_code="bad_x"))
    # The challenger failed and the champion answered this one.
    tally.add(served(CHAMPION, 5.0, challenger_failure="RuntimeError: boom"))
    # Another experiment's requests, and one served without an experiment.
    tally.add(served(CHAMPION, 900.0, challenger_version="bbbbbbbbbbbb"))
    tally.add(served(CHAMPION, 900.0, experiment="none", challenger_version=None))
    assert tally.figures(PAIR) == LiveFigures(
        variants=(
            VariantFigures(CHAMPION, CHAMPION_VERSION, 101, 0, 50.0, 99.0),
            VariantFigures(CHALLENGER, CHALLENGER_VERSION, 4, 1, 2.0, 4.0),
        ),
        challenger_failures=1,
    )


def test_shadow_runs_are_the_challengers_figures() -> None:
    tally = RequestTally()
    for latency in (1.0, 2.0, 3.0):
        shadow = ShadowRun(latency_ms=latency * 10, failure=None, max_abs_diff=0.1)
        tally.add(served(CHAMPION, latency, experiment="shadow", predictions=2, shadow=shadow))
    # The function records a failed shadow run twice over: as the run, and as the request's
    # challenger failure. It is one failure.
    boom = "RuntimeError: boom"
    failed = ShadowRun(latency_ms=None, failure=boom, max_abs_diff=None)
    tally.add(
        served(
            CHAMPION,
            1.0,
            experiment="shadow",
            predictions=5,
            shadow=failed,
            challenger_failure=boom,
        )
    )
    champion, challenger = tally.figures(PAIR).variants
    assert (champion.predictions, champion.latency_p50_ms) == (11, 1.0)
    assert (challenger.predictions, challenger.errors) == (6, 0)  # the failed run predicted none
    assert (challenger.latency_p50_ms, challenger.latency_p99_ms) == (20.0, 30.0)
    assert tally.figures(PAIR).challenger_failures == 1


def test_a_pair_never_served_has_empty_figures_and_no_latency() -> None:
    assert RequestTally().figures(VersionPair(CHAMPION_VERSION, None)) == LiveFigures(
        variants=(VariantFigures(CHAMPION, CHAMPION_VERSION, 0, 0, None, None),),
        challenger_failures=0,
    )

"""`make ab-report-local` end to end through the CLI, on a log written as the local server writes
it: the report and its verdict (exit 0 whatever it is), and one line for each way it cannot be."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ops.cli import main
from ops.experiment import feedback_log
from tests.ops.experiment.log_lines import (
    CHALLENGER_VERSION,
    CHAMPION_VERSION,
    feedback_lines,
    labelled,
    powertools_line,
    request_line,
    served,
)
from torchlambda.contract import CHALLENGER, CHAMPION

SERVER_BANNER = "serving the handler on http://127.0.0.1:3000 (Ctrl-C to stop)"


def report(
    capsys: pytest.CaptureFixture[str], log: Path, *extra: str
) -> tuple[int, list[str], str]:
    code = main(["ab-report-local", "--log", str(log), *extra])
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err


def write_log(path: Path, *lines: str) -> Path:
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def split_traffic() -> list[str]:
    return [
        request_line(served(CHAMPION, 0.2, predictions=3)),
        request_line(served(CHAMPION, 0.4, predictions=1)),
        request_line(served(CHALLENGER, 0.3, predictions=2)),
        request_line(served(CHALLENGER, None, predictions=0, error_code="invalid_x")),
    ]


def test_a_better_challenger_is_reported_with_its_figures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = write_log(
        tmp_path / "serve.log",
        SERVER_BANNER,
        *split_traffic(),
        *feedback_lines(labelled(1, 400, champion_bias=0.3), experiment="split"),
        "Traceback (most recent call last): a plain line from the server",
    )
    code, out, err = report(capsys, log)
    assert (code, err) == (0, "")
    assert out[:2] == [
        f"A/B report from the local server's log {log}",
        f"experiment split: champion {CHAMPION_VERSION} and challenger {CHALLENGER_VERSION}; "
        "400 labelled observations in 4 feedback events",
    ]
    table = [line.split() for line in out[3:6]]
    assert table == [
        ["variant", "model_version", "predictions", "errors", "latency", "p50", "latency", "p99"],
        ["champion", CHAMPION_VERSION, "4", "0", "0.2", "ms", "0.4", "ms"],
        ["challenger", CHALLENGER_VERSION, "2", "1", "0.3", "ms", "0.3", "ms"],
    ]
    assert out[6] == "challenger failures (the champion answered instead): 0"
    assert out[8] == "paired comparison on 400 labelled observations, each scored by both models:"
    assert out[13] == (
        "verdict: challenger better: the whole 95% interval of the difference is above 0"
    )
    assert out[14].startswith("sample size: about ")
    assert out[14].endswith(" with 80% power at 5% two-sided; 400 read")


def test_too_little_feedback_says_how_much_is_needed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = write_log(tmp_path / "serve.log", *feedback_lines(labelled(2, 100)))
    code, out, _ = report(capsys, log, "--env", "prod")
    assert code == 0
    assert "verdict: not enough data: the 95% interval of the difference includes 0" in out
    assert out[-1].startswith("sample size: about ")
    assert "the smallest worth acting on (prod's gate: 1.00% of the champion's MSE)" in out[-1]


def test_what_the_comparison_leaves_out_is_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(feedback_log, "MAX_OBSERVATIONS", 120)
    earlier = labelled(3, 40)
    log = write_log(
        tmp_path / "serve.log",
        *feedback_lines(earlier, champion_version="aaaaaaaaaaaa", challenger_version="b" * 12),
        powertools_line("feedback", {"experiment": "split", "x": "not a list"}),
        *feedback_lines(labelled(4, 100), per_event=50),
        *feedback_lines(labelled(5, 50)),  # past the bound: not read
    )
    code, out, _ = report(capsys, log)
    assert code == 0
    assert out[1:5] == [
        f"experiment shadow: champion {CHAMPION_VERSION} and challenger {CHALLENGER_VERSION}; "
        "100 labelled observations in 2 feedback events",
        "skipped 1 feedback event (40 labelled observations) of other version pairs, newest "
        "first: champion aaaaaaaaaaaa and challenger bbbbbbbbbbbb (1 event)",
        "skipped 1 unreadable feedback line",
        "read only the oldest 120 labelled observations (the most a report reads); start a new "
        f"log (move {log} away) to measure newer ones",
    ]


def test_feedback_without_a_challenger_is_nothing_to_compare(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = labelled(5, 50, champion_noise=0.1)
    log = write_log(tmp_path / "serve.log", *feedback_lines(data, challenger_version=None))
    code, out, err = report(capsys, log)
    assert (code, err) == (0, "")
    assert out[1] == (
        f"experiment none: champion {CHAMPION_VERSION} without a challenger; 50 labelled "
        "observations in 1 feedback event"
    )
    assert [line.split()[0] for line in out[3:5]] == ["variant", "champion"]  # one row
    mse = float(((data.champion_y - data.y) ** 2).mean())
    assert out[-1] == (
        f"no challenger was served; nothing to compare (the champion's MSE on 50 labelled "
        f"observations: {mse:.6g})"
    )


def test_a_challenger_that_failed_on_every_batch_is_nothing_to_compare(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The function logs feedback the challenger failed to score without its predictions.
    record = json.loads(feedback_lines(labelled(6, 40), challenger_version=None)[0])
    log = write_log(tmp_path / "serve.log", json.dumps(record | {"experiment": "shadow"}))
    code, out, _ = report(capsys, log)
    assert code == 0
    assert out[-1].startswith(
        "the shadow experiment's challenger scored none of this feedback (it failed each time: "
        "its warnings in the function's log say why); nothing to compare (the champion's MSE on "
        "40 labelled observations: "
    )


@pytest.mark.parametrize(
    "lines",
    [
        [],
        [SERVER_BANNER, *split_traffic(), powertools_line("feedback", {"experiment": "split"})],
    ],
    ids=["empty", "requests and unreadable feedback only"],
)
def test_no_feedback_is_an_error_that_says_how_to_send_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], lines: list[str]
) -> None:
    log = write_log(tmp_path / "serve.log", *lines)
    code, out, err = report(capsys, log)
    assert (code, out) == (1, [])
    assert err == (
        f"error: no feedback in {log} (the local server's log): send labelled observations to "
        'the API with POST /feedback (a body like {"x": 1.5, "y": 4.1}, or {"pairs": [{"x": 1.5, '
        '"y": 4.1}, ...]} for a batch), then run this again\n'
    )


def test_a_missing_log_says_how_to_make_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = report(capsys, tmp_path / "none.log")
    assert code == 1
    assert err.startswith(f"error: SERVE_LOG={tmp_path / 'none.log'} does not exist: serve an ")
    assert "`make serve EXPERIMENT=shadow`" in err and err.count("\n") == 1


def test_a_log_that_cannot_be_read_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = report(capsys, tmp_path)  # a directory
    assert (code, err) == (1, f"error: SERVE_LOG={tmp_path} cannot be read: Is a directory\n")


def test_an_empty_serve_log_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["ab-report-local", "--log", ""])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.endswith(
        "error: SERVE_LOG is empty: give the file `make serve` appends the function's log "
        "lines to\n"
    )

"""The command line: `make cost` end to end, and one actionable line for every bad argument."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ops.cli import main
from ops.cost.units import format_count, parse_count


def test_cost_prints_the_comparison_and_writes_the_plot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plot = tmp_path / "plots" / "cost-prod.png"
    code = main(["cost", "--env", "prod", "--requests", "10M", "--plot", str(plot)])
    out = capsys.readouterr().out
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == (
        "Monthly cost of prod (us-west-2): 10M requests/month, 20 ms each, 1769 MB x86_64"
    )
    total = next(line for line in lines if line.startswith("total")).split()
    assert total == ["total", "52.67", "17.76", "69.12"]
    assert "Break-even with m6i.large ($69.12): as configured at 20.7M requests/month, " in out
    assert "on-demand only at 38.9M requests/month" in out
    assert plot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert [p.name for p in plot.parent.iterdir()] == ["cost-prod.png"]  # no temporary left


def test_cost_follows_requests_and_duration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "cost",
            "--env",
            "dev",
            "--requests",
            "1M",
            "--duration-ms",
            "100",
            "--plot",
            str(tmp_path / "c.png"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "none (on-demand only)" in out
    # dev: 1,769 MB on demand; 1M x 0.1 s x 1.7275390625 GB x $0.0000166667 = $2.88.
    assert (
        next(line for line in out.splitlines() if line.startswith("Lambda duration")).split()[2]
        == "2.88"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["cost", "--env", "prod", "--requests", "abc"],
            "error: REQUESTS='abc' is not a request count",
        ),
        (
            ["cost", "--env", "prod", "--duration-ms", "0"],
            "error: expected DURATION_MS to be a number of milliseconds in (0, 900000], got '0'",
        ),
        (
            ["cost", "--env", "prod", "--duration-ms", "fast"],
            "error: expected DURATION_MS to be a number of milliseconds in (0, 900000], got 'fast'",
        ),
        (
            ["cost", "--env", "qa"],
            "error: ENV=qa: unknown environment 'qa'; valid names: dev, staging, prod",
        ),
        (["cost"], "error: the following arguments are required: --env"),
        (
            ["smoke", "--url", "http://x", "--requests", "-3"],
            "error: expected SMOKE_REQUESTS to be a whole number >= 1, got '-3'",
        ),
        (
            ["smoke", "--url", "http://x", "--deadline", "0"],
            "error: expected SMOKE_DEADLINE to be a number of seconds > 0, got '0'",
        ),
        (
            ["smoke", "--url", "http://x", "--deadline", "soon"],
            "error: expected SMOKE_DEADLINE to be a number of seconds > 0, got 'soon'",
        ),
        (["deploy"], "error: the following arguments are required: --env"),
        (["logs"], "error: the following arguments are required: --env"),
        (
            ["logs", "--env", "dev", "--since", "soon"],
            "error: SINCE='soon' is not a duration like 90s, 10m, 2h or 1d",
        ),
        (
            ["logs", "--env", "dev", "--since", "0m"],
            "error: SINCE='0m' is not a duration like 90s, 10m, 2h or 1d",
        ),
    ],
)
def test_bad_arguments_are_one_actionable_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(message), captured.err
    assert captured.err.count("\n") == 1 and captured.out == ""


def test_smoke_url_must_be_http(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["smoke", "--url", "127.0.0.1:8080"]) == 1
    assert capsys.readouterr().err.startswith("error: URL='127.0.0.1:8080' is not an http(s) URL")


@pytest.mark.parametrize(
    ("text", "value"),
    [("10M", 10e6), ("2.5M", 2.5e6), ("500k", 500e3), ("1B", 1e9), ("1_000_000", 1e6), ("0", 0)],
)
def test_parse_count(text: str, value: float) -> None:
    assert parse_count(text) == value


@pytest.mark.parametrize("text", ["abc", "-1", "10 M", "1e6", "M", ""])
def test_parse_count_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="is not a request count"):
        parse_count(text)


def test_format_count() -> None:
    assert [format_count(v) for v in (950, 38_921_000, 10e6, 1.5e9)] == [
        "950",
        "38.9M",
        "10M",
        "1.5B",
    ]


REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("make_arguments", "command"),
    [
        (["cost", "ENV=prod", "REQUESTS=5M", "DURATION_MS=12"],
         "-m ops cost --env 'prod' --requests '5M' --duration-ms '12'"),
        (["train-remote", "ENV=dev", "DATA=my data.csv"],
         "-m ops train-remote --env 'dev' --data 'my data.csv'"),
        (["fetch-model", "ENV=staging", "BUILD=abc"],
         "-m ops fetch-model --env 'staging' --build 'abc'"),
        (["copy-model", "ENV=prod", "BUILD=abc"], "-m ops copy-model --env 'prod' --build 'abc'"),
        (["copy-model", "ENV=prod"], "-m ops copy-model --env 'prod'"),
        (["cost", "ENV=prod", "SIZE_MB=2048", "INITS=360"],
         "-m ops cost --env 'prod' --size-mb '2048' --inits '360'"),
        (["smoke", "URL=http://127.0.0.1:3000"], "-m ops smoke --url 'http://127.0.0.1:3000'"),
        (["smoke", "ENV=prod"], "-m ops smoke --env 'prod'"),
        (["smoke", "ENV=dev", "SMOKE_DEADLINE=30"], "-m ops smoke --env 'dev' --deadline '30'"),
        (["logs", "ENV=dev"], "-m ops logs --env 'dev'"),
        # A filter pattern reaches the CLI as typed: `$` included, not expanded by make.
        (["logs", "ENV=prod", "SINCE=1h", 'FILTER={ $.level = "ERROR" }'],
         "-m ops logs --env 'prod' --since '1h' --filter '{ $.level = \"ERROR\" }'"),
        (["deploy", "ENV=dev"], "-m ops deploy --env 'dev'"),
        (["diff", "ENV=staging"], "-m ops diff --env 'staging'"),
        (["destroy", "ENV=dev"], "-m ops destroy --env 'dev'"),
        # The environments' quality gate (infra/config.py), not an ungated local run.
        (["train"], "--out 'lambda_image/model' --max-val-mse '6.0'"),
        (["train", "TRAIN_OUT=lambda_image/challenger", "SEED=1"],
         "--out 'lambda_image/challenger' --max-val-mse '6.0' --seed '1'"),
    ],
)  # fmt: skip
def test_make_targets_pass_their_variables_through(make_arguments: list[str], command: str) -> None:
    dry_run = subprocess.run(
        ["make", "--dry-run", *make_arguments],
        cwd=REPO_ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    last = dry_run.stdout.strip().splitlines()[-1]
    assert " ".join(last.split()).endswith(command)

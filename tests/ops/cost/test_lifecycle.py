"""Retraining's and the delivery pipeline's cost against figures worked out by hand from the prices
in ops/cost/prices.py, the schedules counted, and the workflow's states read from its definition."""

from __future__ import annotations

import dataclasses
import json
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, get_args

import pytest

from infra.config import ENVIRONMENTS, EnvironmentConfig, get_environment
from infra.settings.alerting import AlertingSettings
from infra.settings.function import FunctionSettings
from infra.settings.images import ImageChoice
from infra.settings.lifecycle import LifecycleSettings
from infra.settings.model_source import EfsSource, NewVpc
from infra.settings.rollout import AllAtOnce, Canary
from infra.settings.training import TrainingCompute, TrainingSettings
from ops.cli import main
from ops.cost.lifecycle import (
    CODEBUILD_INSTANCES,
    PROMOTED_PATH,
    PROMOTER_MEMORY_MB,
    REJECTED_PATH,
    PipelineAction,
    RetrainSetup,
    lifecycle_cost,
    pipeline_actions,
    pipeline_cost,
    retrain_cost,
    retrain_setup,
    retrains_per_month,
    scheduled_per_month,
    stack_count,
)
from ops.cost.prices import PRICES
from ops.cost.report import lifecycle_lines
from ops.errors import OpsError

DEV = get_environment("dev")
STAGING = get_environment("staging")
PROD = get_environment("prod")
REPO_ROOT = Path(__file__).resolve().parents[3]
# The catalog's one arm64 image, past its end of patch (the reason says why that is fine here).
ARM64 = FunctionSettings(
    architecture="arm64",
    image=ImageChoice(
        name="pytorch-inference-arm64:2.6.0-cpu-py312-ubuntu22.04-ec2",
        registry="private",
        allow_past_end_of_patch="a cost figure, never deployed",
    ),
)


def approx(value: float) -> object:
    return pytest.approx(value, rel=1e-9, abs=1e-15)


def with_lifecycle(config: EnvironmentConfig, **settings: Any) -> EnvironmentConfig:
    return dataclasses.replace(config, lifecycle=LifecycleSettings(**settings))


def test_prices_of_the_lifecycle() -> None:
    assert dict(PRICES.codebuild_linux_per_minute) == {
        "general1.small": 0.005,
        "general1.medium": 0.01,
        "general1.large": 0.02,
        "gpu1.large": 0.65,
    }
    assert PRICES.codepipeline_v2_per_action_minute == 0.002
    assert PRICES.eventbridge_per_million_custom_events == 1.00
    assert PRICES.sns_per_million_publishes == 0.50
    assert PRICES.sns_per_hundred_thousand_emails == 2.00


def test_every_training_compute_has_a_codebuild_price() -> None:
    assert set(CODEBUILD_INSTANCES) == set(get_args(TrainingCompute))
    assert set(CODEBUILD_INSTANCES.values()) <= set(PRICES.codebuild_linux_per_minute)


def test_a_retrain_on_known_numbers() -> None:
    setup = RetrainSetup(
        training_compute="medium",
        training_minutes=12.5,
        evaluator_memory_mb=2048,
        architecture="x86_64",
        alarm_email=True,
    )
    cost = retrain_cost(setup)
    assert setup.training_instance == "general1.medium"
    assert cost.training == approx(13 * 0.01)  # 12.5 minutes, billed as 13
    assert cost.state_transitions == 8
    assert cost.step_functions == approx(8 * 0.000025)
    # The evaluator: 2 GB x 30 s = 60 GB-s; the promoter: 0.5 GB x 2 s = 1 GB-s.
    assert cost.lambda_duration == approx(61 * 0.0000166667)
    assert cost.lambda_requests == approx(2 * 0.0000002)
    assert cost.s3_requests == approx(8 * 0.000005 + 9 * 0.0000004)  # $0.0000436
    assert cost.event == approx(0.000001)
    assert cost.notification == approx(0.0000005 + 0.00002)  # the publish, the e-mail
    assert cost.total == approx(
        0.13 + 0.0002 + 0.0010166687 + 0.0000004 + 0.0000436 + 0.000001 + 0.0000205
    )


def test_a_gpu_retrain_trains_on_gpu1_large() -> None:
    setup = dataclasses.replace(retrain_setup(DEV), training_compute="gpu", alarm_email=False)
    assert retrain_cost(setup).training == approx(10 * 0.65)
    assert retrain_cost(setup).notification == approx(0.0000005)


def test_the_setup_comes_from_the_config() -> None:
    config = dataclasses.replace(
        DEV,
        function=ARM64,
        training=TrainingSettings(compute="large"),
        lifecycle=LifecycleSettings(evaluator_memory_mb=3008),
        alerting=AlertingSettings(alarm_email="ops@example.com"),
    )
    assert retrain_setup(config, 7) == RetrainSetup("large", 7, 3008, "arm64", alarm_email=True)


def test_a_retrain_needs_a_positive_duration() -> None:
    with pytest.raises(ValueError, match="training_minutes=0 must be > 0"):
        dataclasses.replace(retrain_setup(DEV), training_minutes=0)


@pytest.mark.parametrize(
    ("schedule", "per_month"),
    [
        ("rate(1 day)", 30),
        ("rate(7 days)", 30 / 7),
        ("rate(6 hours)", 120),
        ("rate(30 minutes)", 1440),
        ("cron(0 3 * * ? *)", 30),  # daily at 03:00
        ("cron(0 3 ? * MON *)", 30 / 7),  # weekly
        ("cron(0 9 ? * MON-FRI *)", 5 * 30 / 7),  # working days
        ("cron(0 9 ? * 2,4,6 *)", 3 * 30 / 7),  # Monday, Wednesday, Friday by number
        ("cron(0 3 1,15 * ? *)", 2),  # twice a month
        ("cron(0,30 * * * ? *)", 2 * 24 * 30),  # every half hour
        ("cron(0 3 1 JAN,JUL ? *)", 2 / 12),  # twice a year
    ],
)
def test_schedules_are_counted_over_a_30_day_month(schedule: str, per_month: float) -> None:
    assert scheduled_per_month(schedule, 720) == approx(per_month)


@pytest.mark.parametrize(
    "schedule",
    [
        "cron(0/15 * * * ? *)",  # steps
        "cron(0 3 L * ? *)",  # the month's last day
        "cron(0 3 ? * MON#1 *)",  # the first Monday
        "cron(0 3 1 * MON *)",  # both days set: EventBridge refuses it
        "cron(0 3 * * ? 2027)",  # one year
        "cron(0 3 * * ? * *)",  # seven fields
        "cron(0 25 * * ? *)",  # no such hour
        "cron(0 3 ? * FRI-MON *)",  # a range backwards
        "rate(0 days)",
    ],
)
def test_schedules_it_cannot_count_are_refused(schedule: str) -> None:
    with pytest.raises(ValueError, match=r"schedule"):
        scheduled_per_month(schedule, 720)


def test_retrains_a_month_follow_the_config() -> None:
    dev = retrains_per_month(DEV)  # new data retrains dev
    assert (dev.per_month, dev.basis) == (4, "4 assumed from new data under data/")
    assert retrains_per_month(STAGING).per_month == 0  # by hand only
    both = with_lifecycle(DEV, schedule="rate(7 days)", retrain_on_new_data=True)
    assert retrains_per_month(both).per_month == approx(30 / 7 + 4)
    assert retrains_per_month(both).basis == (
        "schedule rate(7 days) + 4 assumed from new data under data/"
    )
    given = retrains_per_month(both, 12)
    assert (given.per_month, given.given) == (12, True)


def test_a_schedule_it_cannot_count_asks_for_retrains() -> None:
    config = with_lifecycle(STAGING, schedule="cron(0/15 * * * ? *)")
    with pytest.raises(OpsError) as raised:
        retrains_per_month(config)
    assert str(raised.value) == (
        "staging: cannot count the retrains of schedule 'cron(0/15 * * * ? *)': "
        "pass RETRAINS=<retrains a month>"
    )
    assert retrains_per_month(config, 96).per_month == 96  # RETRAINS= is the way out


def test_a_pipeline_run_of_the_shipped_environments() -> None:
    # Five stacks each (no EFS), one x86_64 image, prod's 5-minute canary, three smoke tests.
    assert pipeline_actions(tuple(ENVIRONMENTS.values())) == (
        PipelineAction("Source", 1, 1, builds=False),
        PipelineAction("Synth", 1, 5, builds=True),
        PipelineAction("SelfMutate", 1, 2, builds=True),
        PipelineAction("Image asset", 1, 10, builds=True),
        PipelineAction("File assets", 15 + 3, 1, builds=True),
        PipelineAction("Change sets", 15, 1, builds=False),
        PipelineAction("Stack deploys", 15, 3, builds=False),
        PipelineAction("Canary wait (prod)", 1, 5, builds=False),
        PipelineAction("Smoke tests", 3, 2, builds=True),
    )
    cost = pipeline_cost(runs_per_month=20)
    assert cost.action_minutes == 1 + 5 + 2 + 10 + 18 + 15 + 45 + 5 + 6  # 107
    assert cost.build_minutes == 5 + 2 + 10 + 18 + 6  # 41
    assert cost.codepipeline == approx(107 * 0.002)  # $0.214
    assert cost.codebuild == approx(41 * 0.005)  # $0.205
    assert cost.per_run == approx(0.419)
    assert cost.per_month == approx(20 * 0.419)  # $8.38
    assert pipeline_cost(runs_per_month=0).per_month == 0


def test_the_pipeline_follows_the_environments() -> None:
    efs = dataclasses.replace(
        PROD, model_source=EfsSource("build-7", "ab" * 32, 100.0, network=NewVpc())
    )
    assert stack_count(PROD) == 5
    assert stack_count(efs) == 6  # and the model store
    arm = dataclasses.replace(DEV, function=ARM64)
    slow = dataclasses.replace(STAGING, rollout=Canary(percentage=20, minutes=30))
    actions = {action.name: action for action in pipeline_actions((arm, slow, efs))}
    assert actions["Image asset"].count == 2  # an image per architecture
    assert actions["File assets"].count == 5 + 5 + 6 + 3
    assert actions["Canary wait (staging)"].minutes == 30
    assert actions["Canary wait (prod)"].minutes == 5
    all_at_once = dataclasses.replace(PROD, rollout=AllAtOnce())
    assert not [a for a in pipeline_actions((all_at_once,)) if a.name.startswith("Canary")]


def test_lifecycle_lines_of_dev() -> None:
    lines = lifecycle_lines(DEV, lifecycle_cost(DEV))
    assert lines[:10] == [
        "Retraining dev (ops/cost/lifecycle.py): training on CodeBuild general1.small (compute "
        "'small') for 10 min (TRAIN_MINUTES= overrides); evaluator 1769 MB x86_64 for 30 s, "
        "promoter 512 MB for 2 s; priced on the promoted path (a rejection enters 6 states, "
        "without the promoter or the event)",
        "Retrains: 4/month (4 assumed from new data under data/; RETRAINS= overrides)",
        "USD                                    per retrain     per month",
        "CodeBuild training (10 min)                $0.0500        $0.200",
        "Step Functions (8 transitions)           $0.000200     $0.000800",
        # 1.7275390625 GB x 30 s + 0.5 GB x 2 s = 52.826 GB-s, and two requests.
        "Lambda (2 invocations)                   $0.000881      $0.00352",
        "S3 (8 PUT/LIST + 9 GET)                 $0.0000436     $0.000174",
        "EventBridge (1 event)                  $0.00000100   $0.00000400",
        "SNS (1 notification)                  $0.000000500   $0.00000200",
        "total                                      $0.0511        $0.205",
    ]
    assert lines[-1] == (
        "per run: 107 action minutes $0.214 + 41 build minutes $0.205 = $0.419; per month $8.38"
    )


def test_cost_prints_retraining_and_delivery(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["cost", "--env", "staging", "--plot", str(tmp_path / "c.png")]
    overrides = ["--retrains", "3", "--train-minutes", "20", "--pipeline-runs", "5"]
    assert main([*argv, *overrides]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "Retrains: 3/month (RETRAINS)" in out
    assert "CodeBuild training (20 min)                 $0.100        $0.300" in out
    assert out[-2].endswith("per month $2.10")  # 5 x $0.419
    assert main(argv) == 0
    assert (
        "Retrains: 0/month (no schedule, no data trigger: by hand only; RETRAINS= overrides)"
        in capsys.readouterr().out.splitlines()
    )


def test_cost_refuses_a_schedule_it_cannot_count(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = with_lifecycle(DEV, schedule="cron(0 3 L * ? *)")
    monkeypatch.setattr("ops.cli.get_environment", lambda name: config)
    assert main(["cost", "--env", "dev", "--plot", str(tmp_path / "c.png")]) == 1
    err = capsys.readouterr().err
    assert err == (
        "error: dev: cannot count the retrains of schedule 'cron(0 3 L * ? *)': "
        "pass RETRAINS=<retrains a month>\n"
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--retrains", "-1"], "error: expected RETRAINS to be retrains a month, e.g. 4, 30 or 0"),
        (["--retrains", "weekly"], "error: expected RETRAINS to be retrains a month"),
        (["--retrains", "nan"], "error: expected RETRAINS to be retrains a month"),
        (
            ["--train-minutes", "0"],
            "error: expected TRAIN_MINUTES to be a training build's minutes in (0, 480], got '0'",
        ),
        (["--train-minutes", "481"], "error: expected TRAIN_MINUTES to be"),
        (["--train-minutes", "ten"], "error: expected TRAIN_MINUTES to be"),
        (
            ["--pipeline-runs", "-1"],
            "error: expected RUNS to be delivery pipeline runs a month, a whole number >= 0, "
            "got '-1'",
        ),
        (["--pipeline-runs", "2.5"], "error: expected RUNS to be delivery pipeline runs"),
    ],
)
def test_bad_lifecycle_arguments_are_one_line(
    capsys: pytest.CaptureFixture[str], arguments: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["cost", "--env", "dev", *arguments])
    assert exited.value.code == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(message), captured.err
    assert captured.err.count("\n") == 1 and captured.out == ""


def test_make_cost_passes_the_lifecycle_variables() -> None:
    dry_run = subprocess.run(
        ["make", "--dry-run", "cost", "ENV=dev", "RETRAINS=3", "TRAIN_MINUTES=12", "RUNS=5"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    last = " ".join(dry_run.stdout.strip().splitlines()[-1].split())
    assert last.endswith(
        "-m ops cost --env 'dev' --retrains '3' --train-minutes '12' --pipeline-runs '5'"
    )


# --- The figures the cost model copies from the infrastructure ---------------------------------
def test_the_promoters_memory_is_the_constructs() -> None:
    from infra.constructs.lifecycle_functions import PROMOTER_MEMORY_MB as CONSTRUCTS

    assert PROMOTER_MEMORY_MB == CONSTRUCTS


def _definition() -> Mapping[str, Any]:
    """The retrain workflow's synthesized definition, its tokens replaced by placeholders."""
    import aws_cdk as cdk
    from aws_cdk import assertions
    from aws_cdk import aws_codebuild as codebuild
    from aws_cdk import aws_lambda as lambda_
    from aws_cdk import aws_sns as sns

    from infra.constructs.retrain_workflow import RetrainWorkflow

    stack = cdk.Stack(cdk.App(), "Workflow", env=cdk.Environment(region="us-west-2"))
    arn = "arn:aws:lambda:us-west-2:111111111111:function:"
    RetrainWorkflow(
        stack,
        "Retrain",
        environment_name=DEV.name,
        lifecycle=DEV.lifecycle,
        retention=DEV.retention,
        training_project=codebuild.Project.from_project_name(stack, "Project", "training"),
        evaluator=lambda_.Function.from_function_arn(stack, "Evaluator", arn + "evaluate"),
        promoter=lambda_.Function.from_function_arn(stack, "Promoter", arn + "promote"),
        topic=sns.Topic.from_topic_arn(stack, "Topic", "arn:aws:sns:us-west-2:111111111111:alarms"),
    )
    machines = assertions.Template.from_stack(stack).find_resources(
        "AWS::StepFunctions::StateMachine"
    )
    (machine,) = machines.values()
    definition = machine["Properties"]["DefinitionString"]
    if isinstance(definition, dict):  # Fn::Join around the tokens
        definition = "".join(
            part if isinstance(part, str) else "TOKEN" for part in definition["Fn::Join"][1]
        )
    parsed: Mapping[str, Any] = json.loads(definition)
    return parsed


def _successful_paths(
    states: Mapping[str, Any], name: str, before: tuple[str, ...] = ()
) -> Iterator[tuple[str, ...]]:
    """Every path from `name` to a Succeed state, following Next, Choices and Default (the
    catches lead to the failure states only)."""
    path, state = (*before, name), states[name]
    if state["Type"] == "Succeed":
        yield path
    following = [choice["Next"] for choice in state.get("Choices", [])]
    following += [state[key] for key in ("Default", "Next") if key in state]
    for next_name in dict.fromkeys(following):
        yield from _successful_paths(states, next_name, path)


def test_the_priced_paths_are_the_workflows() -> None:
    definition = _definition()
    paths = set(_successful_paths(definition["States"], definition["StartAt"]))
    above_max = tuple(
        "RejectAboveMax" if state == "RejectNoImprovement" else state for state in REJECTED_PATH
    )
    assert paths == {PROMOTED_PATH, REJECTED_PATH, above_max}
    assert len(PROMOTED_PATH) == max(len(path) for path in paths)  # priced on the longest

"""What the model lifecycle adds to the bill: one retrain, the retrains a month the configuration
starts, and the delivery pipeline's runs (docs/cost.md, "Retraining and delivery").

A retrain is one execution of the environment's retrain workflow (docs/lifecycle.md): a Standard
state machine, billed a transition for each state it enters, runs the training project on
CodeBuild, the evaluator and the promoter on Lambda, puts one custom event on the default bus and
publishes one notification. It is priced on the promoted path, the longer of its two outcomes.
The delivery pipeline (CDK Pipelines, a V2 CodePipeline) is one for every environment: a run
bills each action's minutes, and CodeBuild bills the minutes of those that run a build besides.

Durations are assumptions, each a constant below that `make cost` prints with its value: take
real ones from an execution's history and a pipeline run's action timings. Left out: retries
(each one more transition, build or invocation), failed executions, logs, traces, storage, the
pipeline's artifact bucket, and free tiers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from infra.config import ENVIRONMENTS, EnvironmentConfig
from infra.outputs import Component
from infra.settings.model_source import EfsSource
from infra.settings.training import TrainingCompute
from ops.cost.model import LambdaSetup, Workload, lambda_cost
from ops.cost.prices import PRICES, Prices
from ops.errors import OpsError

# --- One retrain -------------------------------------------------------------------------------
# The workflow's states on each outcome (infra/constructs/retrain_workflow.py; a test walks the
# synthesized definition). RejectAboveMax takes RejectNoImprovement's place when the candidate is
# above the gate's maximum: as many transitions.
PROMOTED_PATH = (
    "Train",
    "Evaluate",
    "Gate",
    "Promote",
    "Announce",
    "RecordPromotion",
    "NotifyPromoted",
    "Promoted",
)
REJECTED_PATH = ("Train", "Evaluate", "Gate", "RejectNoImprovement", "NotifyRejected", "Rejected")
# The training project's compute (infra/constructs/training_project.py) by its price's name:
# "gpu" is the LARGE compute type on a GPU image.
CODEBUILD_INSTANCES: Mapping[TrainingCompute, str] = MappingProxyType(
    {
        "small": "general1.small",
        "medium": "general1.medium",
        "large": "general1.large",
        "gpu": "gpu1.large",
    }
)
# The training build's whole duration (provisioning, the DLC's pull, training, publishing), as
# the build's history shows it. TRAIN_MINUTES= overrides.
TRAIN_MINUTES = 10.0
# Billed durations, init included: the evaluator loads two models and scores the evaluation set;
# the promoter reads a card and writes a pointer.
EVALUATE_SECONDS = 30.0
PROMOTE_SECONDS = 2.0
# infra/constructs/lifecycle_functions.py's (a test compares them).
PROMOTER_MEMORY_MB = 512
# About one retrain's S3 requests. PUT-class: training lists the pointer's ETag and puts the
# weights, card, plot, test split and latest.json; evaluation.json; champion.json. GET: training's
# source archive and data; the evaluator's two models (weights and card each), champion.json and
# the evaluation set; the promoter's card.
RETRAIN_S3_PUT_REQUESTS = 8
RETRAIN_S3_GET_REQUESTS = 9
# Retrains a month where new data under data/ starts them (about an upload a week): nothing
# offline counts uploads. RETRAINS= overrides.
DATA_TRIGGERED_RETRAINS = 4.0

# --- The delivery pipeline ---------------------------------------------------------------------
SHIPPED = tuple(ENVIRONMENTS.values())  # its waves, in order (infra/settings/delivery.py)
PIPELINE_RUNS = 20  # a month: pushes to the branch and dev's promotions together. RUNS= overrides.
# CDK Pipelines' default for every CodeBuild step it creates.
PIPELINE_INSTANCE = "general1.small"
# Each action's minutes, whole: AWS rounds each action and each build up to the minute.
SOURCE_MINUTES = 1
SYNTH_MINUTES = 5  # install, fetch the champion model, `cdk synth` every environment
SELF_MUTATE_MINUTES = 2
IMAGE_MINUTES = 10  # build the inference image on its DLC base and push it, once
FILE_ASSET_MINUTES = 1  # a template or an archive, each its own action
# File assets besides the stacks' templates, the same in every environment so published once:
# the training source archive and custom resources' code.
OTHER_FILE_ASSETS = 3
CHANGE_SET_MINUTES = 1  # each stack's Prepare
STACK_DEPLOY_MINUTES = 3  # each stack's Deploy; a canary's wait comes on top of the serving one
SMOKE_MINUTES = 2  # the smoke test after each wave


@dataclass(frozen=True)
class RetrainSetup:
    """What one retrain runs on."""

    training_compute: TrainingCompute
    training_minutes: float
    evaluator_memory_mb: int
    architecture: str  # the lifecycle functions run the inference image
    alarm_email: bool  # the alarm topic e-mails each notification

    def __post_init__(self) -> None:
        if not self.training_minutes > 0:
            raise ValueError(f"training_minutes={self.training_minutes} must be > 0")

    @property
    def training_instance(self) -> str:
        return CODEBUILD_INSTANCES[self.training_compute]


@dataclass(frozen=True)
class RetrainCost:
    """One retrain's bill on the promoted path, in dollars, line by line."""

    state_transitions: int
    training: float
    step_functions: float
    lambda_requests: float
    lambda_duration: float
    s3_requests: float
    event: float
    notification: float

    @property
    def total(self) -> float:
        return (
            self.training
            + self.step_functions
            + self.lambda_requests
            + self.lambda_duration
            + self.s3_requests
            + self.event
            + self.notification
        )


def retrain_setup(
    config: EnvironmentConfig, training_minutes: float = TRAIN_MINUTES
) -> RetrainSetup:
    return RetrainSetup(
        training_compute=config.training.compute,
        training_minutes=training_minutes,
        evaluator_memory_mb=config.lifecycle.evaluator_memory_mb,
        architecture=config.function.architecture,
        alarm_email=config.alerting.alarm_email is not None,
    )


def retrain_cost(setup: RetrainSetup, prices: Prices = PRICES) -> RetrainCost:
    # CodeBuild bills each build in whole minutes.
    training = (
        math.ceil(setup.training_minutes)
        * prices.codebuild_linux_per_minute[setup.training_instance]
    )
    functions = [
        lambda_cost(LambdaSetup(memory, setup.architecture), Workload(1, 1000 * seconds), prices)
        for memory, seconds in (
            (setup.evaluator_memory_mb, EVALUATE_SECONDS),
            (PROMOTER_MEMORY_MB, PROMOTE_SECONDS),
        )
    ]
    emails = 1 if setup.alarm_email else 0
    return RetrainCost(
        state_transitions=len(PROMOTED_PATH),
        training=training,
        step_functions=len(PROMOTED_PATH) * prices.step_functions_per_thousand_transitions / 1000,
        lambda_requests=sum(cost.lambda_requests for cost in functions),
        lambda_duration=sum(cost.lambda_duration for cost in functions),
        s3_requests=(
            RETRAIN_S3_PUT_REQUESTS * prices.s3_per_thousand_put_requests
            + RETRAIN_S3_GET_REQUESTS * prices.s3_per_thousand_get_requests
        )
        / 1000,
        event=prices.eventbridge_per_million_custom_events / 1e6,
        notification=prices.sns_per_million_publishes / 1e6
        + emails * prices.sns_per_hundred_thousand_emails / 1e5,
    )


# --- Retrains a month --------------------------------------------------------------------------
RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
CRON = re.compile(r"cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)")
MINUTES_PER_UNIT = {"minute": 1, "hour": 60, "day": 24 * 60}
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")  # EventBridge numbers them 1..7


@dataclass(frozen=True)
class Retrains:
    per_month: float
    basis: str  # how they were counted, printed beside the count
    given: bool = False  # RETRAINS= gave the count


def retrains_per_month(
    config: EnvironmentConfig, given: float | None = None, prices: Prices = PRICES
) -> Retrains:
    """Given (RETRAINS=), else what the schedule starts plus what new data is assumed to."""
    if given is not None:
        return Retrains(given, "RETRAINS", given=True)
    lifecycle = config.lifecycle
    counts: list[float] = []
    bases: list[str] = []
    if lifecycle.schedule is not None:
        try:
            counts.append(scheduled_per_month(lifecycle.schedule, prices.hours_per_month))
        except ValueError as error:
            raise OpsError(f"{config.name}: {error}: pass RETRAINS=<retrains a month>") from None
        bases.append(f"schedule {lifecycle.schedule}")
    if lifecycle.retrain_on_new_data:
        counts.append(DATA_TRIGGERED_RETRAINS)
        bases.append(f"{DATA_TRIGGERED_RETRAINS:g} assumed from new data under data/")
    if not counts:
        return Retrains(0.0, "no schedule, no data trigger: by hand only")
    return Retrains(sum(counts), " + ".join(bases))


def scheduled_per_month(schedule: str, hours_per_month: int) -> float:
    """Executions a month of an EventBridge schedule expression: any rate, or a cron made of
    values, lists and ranges (no steps, L, W or #); ValueError for anything else."""
    month_minutes = hours_per_month * 60
    rate = RATE.fullmatch(schedule)
    if rate:
        every = int(rate.group(1)) * MINUTES_PER_UNIT[rate.group(2).removesuffix("s")]
        if every < 1:
            raise ValueError(f"schedule {schedule!r} never fires")
        return month_minutes / every
    cron = CRON.fullmatch(schedule)
    runs = _cron_per_month(cron.groups(), month_minutes / (24 * 60)) if cron else None
    if runs is None:
        raise ValueError(f"cannot count the retrains of schedule {schedule!r}")
    return runs


def _cron_per_month(fields: Sequence[str], days_per_month: float) -> float | None:
    minute, hour, day_of_month, month, day_of_week, year = fields
    minutes = _values(minute, 0, 59)
    hours = _values(hour, 0, 23)
    months = _values(month, 1, 12, MONTHS)
    days = _days_per_month(day_of_month, day_of_week, days_per_month)
    if minutes is None or hours is None or months is None or days is None or year != "*":
        return None
    return len(minutes) * len(hours) * days * len(months) / 12


def _days_per_month(day_of_month: str, day_of_week: str, days_per_month: float) -> float | None:
    """Days a month it fires on: EventBridge wants one of the two fields to be `?`."""
    if day_of_month == "?":
        weekdays = _values(day_of_week, 1, 7, WEEKDAYS)
        return None if weekdays is None else len(weekdays) * days_per_month / 7
    if day_of_week != "?":
        return None
    if day_of_month == "*":
        return days_per_month
    dates = _values(day_of_month, 1, 31)
    return None if dates is None else len(dates)


def _values(field: str, low: int, high: int, names: Sequence[str] = ()) -> set[int] | None:
    """The values a cron field takes, or None for a form this does not count."""
    if field == "*":
        return set(range(low, high + 1))
    values: set[int] = set()
    for item in field.split(","):
        ends = item.split("-")
        first = _value(ends[0], low, high, names)
        last = _value(ends[-1], low, high, names)
        if len(ends) > 2 or first is None or last is None or first > last:
            return None
        values.update(range(first, last + 1))
    return values


def _value(token: str, low: int, high: int, names: Sequence[str]) -> int | None:
    if token.upper() in names:
        return names.index(token.upper()) + low
    if token.isdigit() and low <= int(token) <= high:
        return int(token)
    return None


# --- A pipeline run -----------------------------------------------------------------------------
@dataclass(frozen=True)
class PipelineAction:
    """Actions alike in one run: how many, each one's minutes, and whether a build runs it."""

    name: str
    count: int
    minutes: int
    builds: bool  # CodeBuild bills its minutes too

    @property
    def action_minutes(self) -> int:
        return self.count * self.minutes


class _CanaryWait:
    """A rollout's wait before the rest of the traffic moves (a RolloutBuilder of minutes)."""

    def all_at_once(self) -> int:
        return 0

    def canary(self, *, percentage: int, minutes: int) -> int:
        return minutes


def stack_count(config: EnvironmentConfig) -> int:
    """The environment's stacks (infra/stage.py): every component, the model store only for EFS."""
    return sum(
        1
        for component in Component
        if component != Component.MODEL_STORE or isinstance(config.model_source, EfsSource)
    )


def pipeline_actions(environments: Sequence[EnvironmentConfig]) -> tuple[PipelineAction, ...]:
    """One run's actions, the waves in the environments' order; the approval before prod is left
    out, as it is billed nothing however long it waits."""
    templates = sum(stack_count(config) for config in environments)
    # The image is built once and its digest shipped everywhere: one per architecture.
    images = len({config.function.architecture for config in environments})
    actions = [
        PipelineAction("Source", 1, SOURCE_MINUTES, builds=False),
        PipelineAction("Synth", 1, SYNTH_MINUTES, builds=True),
        PipelineAction("SelfMutate", 1, SELF_MUTATE_MINUTES, builds=True),
        PipelineAction("Image asset", images, IMAGE_MINUTES, builds=True),
        PipelineAction("File assets", templates + OTHER_FILE_ASSETS, FILE_ASSET_MINUTES, True),
        PipelineAction("Change sets", templates, CHANGE_SET_MINUTES, builds=False),
        PipelineAction("Stack deploys", templates, STACK_DEPLOY_MINUTES, builds=False),
    ]
    for config in environments:
        wait = config.rollout.build(_CanaryWait())
        if wait:
            actions.append(PipelineAction(f"Canary wait ({config.name})", 1, wait, builds=False))
    actions.append(PipelineAction("Smoke tests", len(environments), SMOKE_MINUTES, builds=True))
    return tuple(actions)


@dataclass(frozen=True)
class PipelineCost:
    """One pipeline run's bill, in dollars, and the month's runs."""

    actions: tuple[PipelineAction, ...]
    runs_per_month: int
    action_minutes: int  # a run's, billed by CodePipeline
    build_minutes: int  # a run's, billed by CodeBuild besides
    codepipeline: float
    codebuild: float

    @property
    def per_run(self) -> float:
        return self.codepipeline + self.codebuild

    @property
    def per_month(self) -> float:
        return self.per_run * self.runs_per_month


def pipeline_cost(
    environments: Sequence[EnvironmentConfig] = SHIPPED,
    runs_per_month: int = PIPELINE_RUNS,
    prices: Prices = PRICES,
) -> PipelineCost:
    actions = pipeline_actions(environments)
    action_minutes = sum(action.action_minutes for action in actions)
    build_minutes = sum(action.action_minutes for action in actions if action.builds)
    return PipelineCost(
        actions=actions,
        runs_per_month=runs_per_month,
        action_minutes=action_minutes,
        build_minutes=build_minutes,
        codepipeline=action_minutes * prices.codepipeline_v2_per_action_minute,
        codebuild=build_minutes * prices.codebuild_linux_per_minute[PIPELINE_INSTANCE],
    )


@dataclass(frozen=True)
class LifecycleCost:
    """Everything `make cost` reports on retraining and delivery for one environment."""

    setup: RetrainSetup
    retrain: RetrainCost
    retrains: Retrains
    pipeline: PipelineCost

    @property
    def retrains_per_month(self) -> float:
        return self.retrain.total * self.retrains.per_month


def lifecycle_cost(
    config: EnvironmentConfig,
    *,
    retrains: float | None = None,
    training_minutes: float = TRAIN_MINUTES,
    pipeline_runs: int = PIPELINE_RUNS,
    prices: Prices = PRICES,
) -> LifecycleCost:
    setup = retrain_setup(config, training_minutes)
    return LifecycleCost(
        setup=setup,
        retrain=retrain_cost(setup, prices),
        retrains=retrains_per_month(config, retrains, prices),
        pipeline=pipeline_cost(runs_per_month=pipeline_runs, prices=prices),
    )

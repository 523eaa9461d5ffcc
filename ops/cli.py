"""Command line of the ops tools and deploys (`python -m ops <command>`); the Makefile's targets
call it.

Every failure ends as one `error: ...` line on stderr and a non-zero exit status; each command's
module is imported only when it runs, so `cost` never pays for torch or `smoke` for S3.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from infra.config import ConfigError, EnvironmentConfig, get_environment
from infra.settings.lifecycle import MAX_TRAINING_MINUTES
from ops.cost.lifecycle import PIPELINE_RUNS, TRAIN_MINUTES
from ops.cost.model_source import LARGEST_MODEL_MB
from ops.cost.units import parse_count
from ops.errors import OpsError, explain_aws_error
from ops.logs.duration import parse_duration
from ops.model.store import Pointer
from tooling.arguments import USAGE_ERROR, OneLineParser, checked
from torchlambda.build_ids import BuildIdError, clean_build_id
from torchlambda.contract import CHALLENGER, CHAMPION, Variant

DEFAULT_DURATION_MS = 20.0
MAX_DURATION_MS = 900_000  # Lambda's 15-minute ceiling
DEFAULT_SMOKE_DEADLINE_S = 120.0  # the whole smoke run: about 70 requests, normally a few seconds


class MakeParser(OneLineParser):
    """The Makefile's variables reach these arguments, so each message names the variable to fix:
    argparse's name for the argument (`argument --env: `) would only mislead."""

    def one_line(self, message: str) -> str:
        return re.sub(r"^argument [^:]+: ", "", message)


def environment(name: str) -> EnvironmentConfig:
    try:
        return get_environment(name)
    except ConfigError as error:
        raise argparse.ArgumentTypeError(f"ENV={name}: {error}") from None


def request_count(text: str) -> float:
    try:
        return parse_count(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"REQUESTS={error}") from None


duration_ms = checked(
    float,
    lambda ms: 0 < ms <= MAX_DURATION_MS,
    f"DURATION_MS to be a number of milliseconds in (0, {MAX_DURATION_MS}]",
)
# The cost command's model-source arguments (ops.cost.model_source loads nothing heavy).
model_size_mb = checked(
    float,
    lambda mb: 0 < mb <= LARGEST_MODEL_MB,
    f"SIZE_MB to be the model's size in MB in (0, {LARGEST_MODEL_MB:,}] (Lambda's memory must "
    "hold it beside the runtime)",
)
init_count = checked(
    parse_count, lambda n: n >= 0, "INITS to be model loads a month, e.g. 360, 2.5k or 0"
)
# The cost command's lifecycle arguments (ops.cost.lifecycle loads nothing heavy either).
retrain_count = checked(
    float, lambda n: 0 <= n < math.inf, "RETRAINS to be retrains a month, e.g. 4, 30 or 0"
)
train_minutes = checked(
    float,
    lambda minutes: 0 < minutes <= MAX_TRAINING_MINUTES,
    f"TRAIN_MINUTES to be a training build's minutes in (0, {MAX_TRAINING_MINUTES}]",
)
pipeline_runs = checked(
    int, lambda n: n >= 0, "RUNS to be delivery pipeline runs a month, a whole number >= 0"
)
smoke_requests = checked(int, lambda n: n >= 1, "SMOKE_REQUESTS to be a whole number >= 1")
smoke_deadline = checked(
    float, lambda s: 0 < s < math.inf, "SMOKE_DEADLINE to be a number of seconds > 0"
)


def batch_input(text: str) -> str:
    if not text.strip():  # `make batch` without INPUT: never the current directory
        raise argparse.ArgumentTypeError(
            "INPUT is empty: give a local .csv or .jsonl file (or a directory of them), or an "
            "s3:// URI below the artifacts bucket's batch/in/"
        )
    return text


def since(text: str) -> int:
    try:
        return parse_duration(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"SINCE={error}") from None


def serve_log(text: str) -> Path:
    if not text.strip():  # `make ab-report-local SERVE_LOG=`
        raise argparse.ArgumentTypeError(
            "SERVE_LOG is empty: give the file `make serve` appends the function's log lines to"
        )
    return Path(text)


def build_to_promote(text: str) -> str:
    if not text.strip():  # `make promote` without BUILD
        raise argparse.ArgumentTypeError(
            "BUILD is empty: give the id of a published build to promote (`make champion` "
            "names the champion and the newest build)"
        )
    try:
        return clean_build_id(text.strip())
    except BuildIdError:
        raise argparse.ArgumentTypeError(
            f"BUILD={text!r} is not a build id; use the id a training build published "
            "(CodeBuild's project:uuid, or just the uuid)"
        ) from None


def force_reason(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError(
            "FORCE is empty: give the reason to promote past the gate, e.g. "
            "FORCE='rollback: the new model misbehaves'"
        )
    return text.strip()


def model_pointer(text: str) -> Pointer:
    try:
        return Pointer(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"FROM={text!r}: expected latest (the newest published build) or champion (the "
            "build promoted for the environment)"
        ) from None


def model_variant(text: str) -> Variant:
    for variant in (CHAMPION, CHALLENGER):
        if text == variant:
            return variant
    raise argparse.ArgumentTypeError(
        f"AS={text!r}: expected champion (lambda_image/model, the default) or challenger "
        "(lambda_image/challenger, an experiment's)"
    )


def add_fetch_command(commands: Any) -> None:
    """fetch-model: a published build into the image's champion or challenger directory."""
    fetch = commands.add_parser("fetch-model", help="install a published model into the image")
    fetch.add_argument("--env", type=environment, required=True)
    fetch.add_argument(
        "--build",
        help="build id (default: the one --from points at; a challenger's: the config's "
        "challenger_build, if set)",
    )
    fetch.add_argument(
        "--from",
        dest="source",
        type=model_pointer,
        help="latest (default: the newest published build) or champion (the promoted one)",
    )
    fetch.add_argument(
        "--as",
        dest="variant",
        type=model_variant,
        default=CHAMPION,
        help="champion (default: lambda_image/model) or challenger (lambda_image/challenger)",
    )
    fetch.add_argument("--model-dir", type=Path, help=argparse.SUPPRESS)
    fetch.set_defaults(run=run_fetch_model)


def add_lifecycle_commands(commands: Any) -> None:
    """retrain, promote and champion: the model lifecycle (docs/lifecycle.md)."""
    retrain = commands.add_parser(
        "retrain", help="run the retrain workflow (train, evaluate, gate, promote), follow it"
    )
    retrain.add_argument("--env", type=environment, required=True)
    retrain.add_argument("--poll-seconds", type=float, default=5.0, help=argparse.SUPPRESS)
    retrain.set_defaults(run=run_retrain)

    promote = commands.add_parser(
        "promote",
        help="make a published build the champion, through the gate",
        description="Evaluate BUILD against the environment's champion on the configured "
        "evaluation set, judge it with the environment's gate, and move champion.json to it. "
        "FORCE=<reason> promotes a build the gate refuses and records why. To roll back, "
        "promote the previous champion (`make champion` names it): "
        "make promote ENV=prod BUILD=<previous build> FORCE='rollback: <why>'",
    )
    promote.add_argument("--env", type=environment, required=True)
    promote.add_argument("--build", type=build_to_promote, required=True, help="build id")
    promote.add_argument(
        "--force", type=force_reason, help="why to promote even if the gate refuses (recorded)"
    )
    promote.set_defaults(run=run_promote)

    champion = commands.add_parser("champion", help="what an environment serves, and why")
    champion.add_argument("--env", type=environment, required=True)
    champion.set_defaults(run=run_champion)


def add_experiment_commands(commands: Any) -> None:
    """ab-report and ab-report-local: champion against challenger (docs/experiments.md)."""
    report = commands.add_parser(
        "ab-report",
        help="champion against challenger on the feedback the function logged, with a verdict",
    )
    report.add_argument("--env", type=environment, required=True)
    report.add_argument(
        "--since", type=since, default="7d", help="feedback from this long ago (default 7d)"
    )
    report.add_argument(
        "--promote",
        action="store_true",
        help="when the verdict is 'challenger better', promote it through the lifecycle gate",
    )
    report.add_argument("--challenger-dir", type=Path, help=argparse.SUPPRESS)
    report.set_defaults(run=run_ab_report)

    local = commands.add_parser(
        "ab-report-local", help="the same report from the local server's log (`make serve`)"
    )
    local.add_argument(
        "--log", type=serve_log, required=True, help="the file `make serve` appends its log to"
    )
    local.add_argument(
        "--env",
        type=environment,
        default="dev",
        help="whose gate sets the smallest difference worth acting on (default dev)",
    )
    local.set_defaults(run=run_ab_report_local)


def build_parser() -> MakeParser:
    parser = MakeParser(prog="python -m ops", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=MakeParser)

    train = commands.add_parser("train-remote", help="train in CodeBuild, then fetch the model")
    train.add_argument("--env", type=environment, required=True)
    train.add_argument("--data", type=Path, help="local CSV to upload as the training data")
    train.add_argument("--poll-seconds", type=float, default=5.0, help=argparse.SUPPRESS)
    train.add_argument("--model-dir", type=Path, help=argparse.SUPPRESS)
    train.set_defaults(run=run_train_remote)

    batch = commands.add_parser("batch", help="score a data set with the batch job, follow it")
    batch.add_argument("--env", type=environment, required=True)
    batch.add_argument(
        "--input",
        type=batch_input,
        required=True,
        help="a local .csv/.jsonl[.gz] file or directory, or an s3:// URI",
    )
    batch.add_argument("--output", type=Path, help="local directory to download the results into")
    batch.add_argument("--poll-seconds", type=float, default=5.0, help=argparse.SUPPRESS)
    batch.set_defaults(run=run_batch)

    add_fetch_command(commands)

    copy = commands.add_parser("copy-model", help="copy a published build onto an EFS environment")
    copy.add_argument("--env", type=environment, required=True)
    copy.add_argument("--build", help="build id (default: the one the config pins)")
    copy.set_defaults(run=run_copy_model)
    add_lifecycle_commands(commands)
    add_experiment_commands(commands)

    smoke = commands.add_parser("smoke", help="check a deployed or local API against the contract")
    smoke.add_argument("--env", type=environment, help="read ApiUrl and auth from the environment")
    smoke.add_argument("--url", help="base URL, e.g. http://127.0.0.1:8080 (overrides ApiUrl)")
    smoke.add_argument("--requests", type=smoke_requests, default=50, help="latency sample size")
    smoke.add_argument(
        "--deadline",
        type=smoke_deadline,
        default=DEFAULT_SMOKE_DEADLINE_S,
        help="seconds the whole run may take (default %(default)g)",
    )
    smoke.set_defaults(run=run_smoke)

    logs = commands.add_parser("logs", help="follow the inference function's logs until Ctrl-C")
    logs.add_argument("--env", type=environment, required=True)
    logs.add_argument(
        "--since", type=since, default="10m", help="show events from this long ago (default 10m)"
    )
    logs.add_argument(
        "--filter",
        dest="filter_pattern",
        metavar="PATTERN",
        help="CloudWatch Logs filter pattern, e.g. ERROR or '{ $.level = \"ERROR\" }'",
    )
    logs.set_defaults(run=run_logs)

    cost = commands.add_parser("cost", help="monthly cost of the environment's configuration")
    cost.add_argument("--env", type=environment, required=True)
    cost.add_argument("--requests", type=request_count, default=10e6)
    cost.add_argument("--duration-ms", type=duration_ms, default=DEFAULT_DURATION_MS)
    cost.add_argument(
        "--size-mb",
        type=model_size_mb,
        help="model size to compare the sources at (default: the configured model's)",
    )
    cost.add_argument(
        "--inits", type=init_count, help="model loads a month (default: estimated from traffic)"
    )
    cost.add_argument(
        "--retrains", type=retrain_count, help="retrains a month (default: from the config)"
    )
    cost.add_argument(
        "--train-minutes",
        type=train_minutes,
        default=TRAIN_MINUTES,
        help="one training build's minutes (default %(default)g)",
    )
    cost.add_argument(
        "--pipeline-runs",
        type=pipeline_runs,
        default=PIPELINE_RUNS,
        help="delivery pipeline runs a month (default %(default)d)",
    )
    cost.add_argument("--plot", type=Path, help="PNG to write (default docs/cost-<env>.png)")
    cost.set_defaults(run=run_cost)

    for action, help_text in (
        ("deploy", "deploy one environment's stacks"),
        ("diff", "compare one environment with what is deployed"),
        ("destroy", "delete one environment's stacks (refuses prod)"),
    ):
        cdk = commands.add_parser(action, help=help_text)
        cdk.add_argument("--env", required=True, help="dev, staging or prod")
        cdk.set_defaults(run=run_deploy)
    return parser


def say(text: str) -> None:
    print(text, flush=True)


def run_train_remote(args: argparse.Namespace) -> int:
    from infra.model_version import MODEL_DIR
    from ops.aws import AwsClients
    from ops.model.build_watch import BuildWatcher
    from ops.model.fetch import report_fetch
    from ops.model.remote_training import train_remote
    from tooling.status_line import StatusLine

    clients = AwsClients(args.env)
    model_dir = args.model_dir or MODEL_DIR
    watcher = BuildWatcher(
        clients.codebuild, clients.logs, StatusLine(), poll_seconds=args.poll_seconds
    )
    fetched = train_remote(clients, args.env, watcher, say, data=args.data, model_dir=model_dir)
    report_fetch(fetched, args.env.name, model_dir, say)
    return 0


def run_batch(args: argparse.Namespace) -> int:
    from ops.aws import AwsClients
    from ops.batch.command import run_batch as batch
    from ops.batch.follow import JobFollower
    from tooling.status_line import StatusLine

    def follower(sfn: Any, s3: Any, bucket: str) -> JobFollower:
        return JobFollower(sfn, s3, bucket, StatusLine(), poll_seconds=args.poll_seconds)

    clients = AwsClients(args.env)
    return batch(clients, args.env, args.input, output=args.output, follower_for=follower, say=say)


def run_fetch_model(args: argparse.Namespace) -> int:
    from infra.challenger import CHALLENGER_DIR
    from infra.model_version import MODEL_DIR
    from ops.aws import AwsClients
    from ops.model.fetch import fetch_model, report_fetch
    from ops.stack_outputs import stack_output

    config: EnvironmentConfig = args.env
    challenger = args.variant == CHALLENGER
    model_dir = args.model_dir or (CHALLENGER_DIR if challenger else MODEL_DIR)
    if args.build is not None and args.source is not None:
        raise OpsError(f"BUILD={args.build} and FROM={args.source} each choose a build; give one")
    build = args.build
    if challenger and build is None and args.source is None:
        build = config.experiment.challenger_build  # None: the newest build, as for a champion
    clients = AwsClients(config)
    bucket = stack_output(clients.cloudformation, config, "ArtifactsBucketName")
    fetched = fetch_model(
        clients.s3,
        bucket,
        config.name,
        build,
        model_dir=model_dir,
        source=args.source or Pointer.LATEST,
        variant=args.variant,
    )
    report_fetch(fetched, config.name, model_dir, say)
    if challenger and not config.experiment.enabled:
        say(
            f"{config.name} runs no experiment: set experiment=Shadow() or Split(weight=...) for "
            "it in infra/config.py to serve this challenger"
        )
    return 0


def run_retrain(args: argparse.Namespace) -> int:
    from ops.aws import AwsClients
    from ops.lifecycle.follow import ExecutionFollower
    from ops.lifecycle.retrain import retrain
    from tooling.status_line import StatusLine

    def follower(sfn: Any) -> ExecutionFollower:
        return ExecutionFollower(sfn, StatusLine(), poll_seconds=args.poll_seconds)

    return retrain(AwsClients(args.env), args.env, follower, say)


def run_promote(args: argparse.Namespace) -> int:
    from ops.aws import AwsClients
    from ops.lifecycle.promote import promote_build

    return promote_build(AwsClients(args.env), args.env, args.build, args.force, say)


def run_champion(args: argparse.Namespace) -> int:
    from ops.aws import AwsClients
    from ops.lifecycle.champion import show_champion

    return show_champion(AwsClients(args.env), args.env, say)


def run_ab_report(args: argparse.Namespace) -> int:
    from infra.challenger import CHALLENGER_DIR
    from ops.experiment.command import ab_report

    return ab_report(
        args.env,
        args.since,
        promote=args.promote,
        challenger_dir=args.challenger_dir or CHALLENGER_DIR,
        say=say,
    )


def run_ab_report_local(args: argparse.Namespace) -> int:
    from ops.experiment.command import ab_report_local

    return ab_report_local(args.log, args.env, say)


def run_copy_model(args: argparse.Namespace) -> int:
    from ops.aws import AwsClients
    from ops.model.copy import copy_model, efs_source, report_copy

    efs_source(args.env)  # refuse an environment without EFS before touching AWS
    answer = copy_model(AwsClients(args.env), args.env, args.build, say)
    report_copy(answer, say)
    return 0


def run_smoke(args: argparse.Namespace) -> int:
    from ops.smoke.command import smoke

    return smoke(args.env, args.url, args.requests, say, deadline_seconds=args.deadline)


def run_logs(args: argparse.Namespace) -> int:
    from ops.logs.command import follow_logs

    def note(text: str) -> None:  # on stderr: stdout holds only the events, for pipes
        print(text, file=sys.stderr, flush=True)

    return follow_logs(args.env, args.since, args.filter_pattern, say, note)


def run_cost(args: argparse.Namespace) -> int:
    from ops.cost.lifecycle import lifecycle_cost
    from ops.cost.model import Workload, compare, setup_from_config
    from ops.cost.model_source import compare_sources, configured_size_mb, source_workload
    from ops.cost.plot import plot_costs
    from ops.cost.report import (
        cost_lines,
        describe_provisioned,
        lifecycle_lines,
        model_source_lines,
    )

    config: EnvironmentConfig = args.env
    setup = setup_from_config(config)
    comparison = compare(setup, Workload(args.requests, args.duration_ms))
    size_mb = configured_size_mb(config)
    sources = compare_sources(
        config,
        source_workload(comparison.configured, args.requests, args.inits),
        model_size_mb=size_mb,
        comparison_size_mb=args.size_mb or size_mb,
    )
    lifecycle = lifecycle_cost(
        config,
        retrains=args.retrains,
        training_minutes=args.train_minutes,
        pipeline_runs=args.pipeline_runs,
    )
    for line in [
        *cost_lines(config, comparison),
        "",
        *model_source_lines(config, sources),
        "",
        *lifecycle_lines(config, lifecycle),
    ]:
        say(line)
    plot = args.plot or Path("docs") / f"cost-{config.name}.png"
    title = (
        f"Monthly cost of {config.name}: "
        f"{config.function.memory_mb} MB {config.function.architecture}, "
        f"{args.duration_ms:g} ms per request\n"
        f"provisioned concurrency {describe_provisioned(config)}"
    )
    plot_costs(plot, title, setup, comparison)
    say(f"Plot: {plot}")
    return 0


def run_deploy(args: argparse.Namespace) -> int:
    from ops.deploy.command import deploy

    return deploy(args.command, args.env)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except OpsError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as error:
        explanation = explain_aws_error(error)
        if explanation is None:
            raise
        print(f"error: {explanation}", file=sys.stderr)
        return 1

"""The text `make cost` prints: a line-item table per option, the volumes where they cross, a
batch job's cost per million rows beside the online API's for the same predictions, what the
model's source adds beside what the other sources would, and what retraining and delivery add."""

from __future__ import annotations

import math

from infra.config import EnvironmentConfig
from infra.settings.model_source import INIT_OVERHEAD_S, ON_DEMAND_INIT_LIMIT_S
from ops.cost.batch import BatchComparison, compare_batch
from ops.cost.lifecycle import (
    EVALUATE_SECONDS,
    PIPELINE_INSTANCE,
    PROMOTE_SECONDS,
    PROMOTER_MEMORY_MB,
    REJECTED_PATH,
    RETRAIN_S3_GET_REQUESTS,
    RETRAIN_S3_PUT_REQUESTS,
    LifecycleCost,
    PipelineCost,
)
from ops.cost.model import Comparison, MonthlyCost
from ops.cost.model_source import (
    REINIT_HOURS,
    SourceComparison,
    SourceCost,
    SourceOption,
    SourceWorkload,
)
from ops.cost.prices import PRICES, Prices
from ops.cost.units import format_count, format_dollars
from torchlambda.contract import MAX_BATCH

LINE_ITEMS = (
    ("Lambda requests", "lambda_requests"),
    ("Lambda duration", "lambda_duration"),
    ("PC allocation", "provisioned_allocation"),
    ("PC duration", "provisioned_duration"),
    ("HTTP API requests", "api_requests"),
    ("instance", "instance"),
)
SOURCE_LINE_ITEMS = (
    ("Lambda /tmp storage", "ephemeral_storage"),
    ("ECR image storage", "image_storage"),
    ("S3 storage", "s3_storage"),
    ("S3 GET requests", "s3_requests"),
    ("EFS storage", "efs_storage"),
    ("EFS reads", "efs_reads"),
    ("VPC S3 gateway endpoint", "s3_gateway_endpoint"),
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
    lines.append("")
    lines.extend(batch_lines(compare_batch(config, prices=prices)))
    return lines


def batch_lines(batch: BatchComparison) -> list[str]:
    """A batch job's cost per `rows` rows, its usage, and the online API's for the same rows."""
    setup, workload, cost, usage = batch.setup, batch.workload, batch.batch, batch.batch.usage
    rows = format_count(workload.rows)
    online = batch.online
    return [
        f"Batch scoring, per {rows} rows (ops/cost/batch.py): jobs of "
        f"{format_count(workload.rows_per_job)} rows in objects of "
        f"{format_count(workload.rows_per_object)}, {setup.max_items_per_batch} object(s) per "
        "worker invocation",
        f"Workers {setup.worker_memory_mb} MB {setup.architecture} at "
        f"{format_count(workload.worker_rows_per_second)} rows/s, "
        f"{workload.output_bytes_per_row:.3g} bytes/row written (gzip CSV); "
        f"job function {setup.job_memory_mb} MB, {workload.job_step_seconds:g} s a step",
        f"batch job, per {rows} rows: {format_dollars(cost.total)} "
        f"(Lambda {format_dollars(cost.lambda_total)}, "
        f"Step Functions {format_dollars(cost.step_functions)}, "
        f"S3 {format_dollars(cost.s3_requests)})",
        f"  each job: objects {usage.objects}, worker invocations {usage.worker_invocations}, "
        f"state transitions {usage.state_transitions}, S3 requests {usage.s3_put_requests} "
        f"PUT/LIST + {usage.s3_get_requests} GET",
        f"online API for the same {rows} predictions in POSTs of {MAX_BATCH:,}: "
        f"{format_dollars(online.total)} (HTTP API {format_dollars(online.api_requests)}, "
        f"Lambda {format_dollars(online.lambda_requests + online.lambda_duration)})",
        f"  {batch.online_posts:,} POSTs of {batch.online_post_duration_ms:g} ms, on demand",
    ]


def model_source_lines(config: EnvironmentConfig, sources: SourceComparison) -> list[str]:
    """The configured source's monthly items, then every source for the comparison's size."""
    configured = sources.configured
    option = configured.option
    lines = [
        f"Model source of {config.name}: {option.label}, a {_megabytes(option.size_mb)} model, "
        f"/tmp {option.ephemeral_storage_mb:,} MB (ops/cost/model_source.py)",
        f"Inits: {describe_inits(sources.workload)}",
    ]
    for label, attribute in SOURCE_LINE_ITEMS:
        amount = getattr(configured, attribute)
        if amount:
            lines.append(f"  {label:<26}{format_dollars(amount):>14}")
    lines.append(f"  {'total per month':<26}{format_dollars(configured.total):>14}")
    if configured.copy_write:
        lines.append(
            f"  and {format_dollars(configured.copy_write)} of EFS writes each time a build is "
            "copied onto the file system"
        )
    lines.append("")
    lines.extend(source_comparison_lines(config, sources))
    return lines


def describe_inits(workload: SourceWorkload) -> str:
    inits = workload.inits
    if inits.given is not None:
        return f"{format_count(inits.given)}/month (INITS)"
    return (
        f"{format_count(inits.per_month)}/month, assumed (INITS= overrides): "
        f"{workload.provisioned_environments:.3g} provisioned environment(s) re-initialized every "
        f"{REINIT_HOURS:g} h + {format_count(inits.on_demand_cold_starts)} on-demand cold starts"
    )


def source_comparison_lines(config: EnvironmentConfig, sources: SourceComparison) -> list[str]:
    """A row per source: its monthly cost, its one-off copy, and how long init reads the model."""
    size = sources.alternatives[0].option.size_mb
    lines = [
        f"Every source for a {_megabytes(size)} model (SIZE_MB= prices another size), "
        f"{format_count(sources.workload.inits.per_month)} inits/month, each with the least /tmp "
        "it needs:",
        f"{'source':<16}{'/tmp MB':>9}{'USD per month':>16}{'one-off copy':>15}   init read",
    ]
    for cost in sources.alternatives:
        option = cost.option
        mark = "  <- configured" if option.kind == config.model_source.kind else ""
        lines.append(
            f"{option.label:<16}{option.ephemeral_storage_mb:>9,}"
            f"{format_dollars(cost.total):>16}{_one_off(cost):>15}   {_init_read(option)}{mark}"
        )
    slow = [
        cost.option.label for cost in sources.alternatives if cost.option.too_slow_for_on_demand
    ]
    if slow and not config.provisioned.floor:
        lines.append(
            f"{', '.join(slow)}: init would pass on-demand's {ON_DEMAND_INIT_LIMIT_S:g} s "
            f"({INIT_OVERHEAD_S:g} s of init besides the read): turn provisioned concurrency on "
            "to serve this size from there"
        )
    return lines


def lifecycle_lines(config: EnvironmentConfig, lifecycle: LifecycleCost) -> list[str]:
    """One retrain's items and the month's retrains, then the delivery pipeline's runs."""
    setup, retrain, retrains = lifecycle.setup, lifecycle.retrain, lifecycle.retrains
    per_month = retrains.per_month
    items = (
        (f"CodeBuild training ({math.ceil(setup.training_minutes)} min)", retrain.training),
        (f"Step Functions ({retrain.state_transitions} transitions)", retrain.step_functions),
        ("Lambda (2 invocations)", retrain.lambda_requests + retrain.lambda_duration),
        (
            f"S3 ({RETRAIN_S3_PUT_REQUESTS} PUT/LIST + {RETRAIN_S3_GET_REQUESTS} GET)",
            retrain.s3_requests,
        ),
        ("EventBridge (1 event)", retrain.event),
        ("SNS (1 notification)", retrain.notification),
        ("total", retrain.total),
    )
    lines = [
        f"Retraining {config.name} (ops/cost/lifecycle.py): training on CodeBuild "
        f"{setup.training_instance} (compute {setup.training_compute!r}) for "
        f"{setup.training_minutes:g} min (TRAIN_MINUTES= overrides); evaluator "
        f"{setup.evaluator_memory_mb} MB {setup.architecture} for {EVALUATE_SECONDS:g} s, "
        f"promoter {PROMOTER_MEMORY_MB} MB for {PROMOTE_SECONDS:g} s; priced on the promoted path "
        f"(a rejection enters {len(REJECTED_PATH)} states, without the promoter or the event)",
        f"Retrains: {per_month:.3g}/month "
        + ("(RETRAINS)" if retrains.given else f"({retrains.basis}; RETRAINS= overrides)"),
        f"{'USD':<36}{'per retrain':>14}{'per month':>14}",
    ]
    lines.extend(
        f"{label:<36}{format_dollars(amount):>14}{format_dollars(amount * per_month):>14}"
        for label, amount in items
    )
    lines.append("")
    lines.extend(pipeline_lines(lifecycle.pipeline))
    return lines


def pipeline_lines(pipeline: PipelineCost) -> list[str]:
    """A run's actions, then what a run and the month's runs cost."""
    lines = [
        "Delivery pipeline, one for every environment (ops/cost/lifecycle.py): CodePipeline V2, "
        f"CodeBuild {PIPELINE_INSTANCE}, {pipeline.runs_per_month} runs/month (RUNS= overrides); "
        "minutes assumed",
        f"{'action':<24}{'count':>7}{'minutes each':>14}{'CodeBuild':>11}",
    ]
    lines.extend(
        f"{action.name:<24}{action.count:>7}{action.minutes:>14}"
        f"{'yes' if action.builds else '-':>11}"
        for action in pipeline.actions
    )
    lines.append(
        f"per run: {pipeline.action_minutes} action minutes {format_dollars(pipeline.codepipeline)}"
        f" + {pipeline.build_minutes} build minutes {format_dollars(pipeline.codebuild)} = "
        f"{format_dollars(pipeline.per_run)}; per month {format_dollars(pipeline.per_month)}"
    )
    return lines


def _one_off(cost: SourceCost) -> str:
    return format_dollars(cost.copy_write) if cost.option.kind == "efs" else "-"


def _init_read(option: SourceOption) -> str:
    seconds, rate = option.init_read_seconds, option.read_mb_s
    if seconds is None or rate is None:
        return "with the image"
    return f"{seconds:.3g} s at {rate:g} MB/s"


def _megabytes(size_mb: float) -> str:
    return f"{size_mb:,.0f} MB" if size_mb >= 10 else f"{size_mb:.3g} MB"


def _money(amount: float) -> str:
    return f"{amount:,.2f}" if amount else "-"  # a dash: the item does not apply to that option


def _volume(requests: float | None) -> str:
    if requests is None:
        return "no volume up to 1T requests/month"
    if requests <= 1:
        return "any volume (its fixed monthly cost alone reaches it)"
    return f"{format_count(requests)} requests/month"

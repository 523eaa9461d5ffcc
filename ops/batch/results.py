"""The end of a job: its summary.json in a few lines, its files downloaded, its failure in one."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from botocore.exceptions import ClientError

from ops.batch.follow import predictions_prefix
from ops.batch.inputs import describe_bytes, listed, plural
from ops.errors import OpsError
from torchlambda.contract import batch_job_prefix, batch_summary_key

LISTED_AT_MOST = 5  # errors objects and failed objects named in the report


def read_summary(s3: Any, bucket: str, job_id: str) -> dict[str, Any] | None:
    """The job's summary.json, or None when the job ended before writing one (or it is not a
    JSON object)."""
    try:
        body = s3.get_object(Bucket=bucket, Key=batch_summary_key(job_id))["Body"].read()
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None
        raise
    try:
        summary = json.loads(body)
    except ValueError:
        return None
    return summary if isinstance(summary, dict) else None


def count(document: Any, *path: str) -> int:
    for name in path:
        document = document.get(name) if isinstance(document, Mapping) else None
    return document if isinstance(document, int) and not isinstance(document, bool) else 0


def one_line(text: object) -> str:
    return " ".join(str(text).split())


def capped(items: list[str], noun: str) -> list[str]:
    shown = items[:LISTED_AT_MOST]
    if len(items) > LISTED_AT_MOST:
        shown.append(f"... and {len(items) - LISTED_AT_MOST} more {noun}")
    return shown


def summary_lines(summary: dict[str, Any] | None, bucket: str, job_id: str) -> list[str]:
    """A short report of the job from its summary (or of its absence)."""
    where = f"s3://{bucket}/{batch_job_prefix(job_id)}"
    if summary is None:
        return [f"no summary at {where}summary.json: the job ended before its summarize step"]
    versions = [str(v) for v in summary.get("model_versions") or []]
    models = ("model " if len(versions) == 1 else "models ") + ", ".join(versions)
    seconds = summary.get("seconds")
    took = f" in {seconds:.1f} s" if isinstance(seconds, int | float) else ""
    rejected_share = summary.get("rows", {}).get("rejected_percentage")
    share = f" ({rejected_share:g}%)" if isinstance(rejected_share, int | float) else ""
    lines = [
        f"job {job_id}: {summary.get('status', 'UNKNOWN')}{took}"
        + (f", {models}" if versions else ""),
        f"rows: {count(summary, 'rows', 'read'):,} read, "
        f"{count(summary, 'rows', 'predicted'):,} predicted, "
        f"{count(summary, 'rows', 'rejected'):,} rejected{share}",
        f"objects: {count(summary, 'objects', 'succeeded'):,} succeeded, "
        f"{count(summary, 'objects', 'failed'):,} failed of {count(summary, 'objects', 'total'):,}",
        f"predictions: s3://{bucket}/{predictions_prefix(job_id)}",
    ]
    errors = [
        f"s3://{bucket}/{report['errors_key']}"
        for report in summary.get("outputs") or []
        if isinstance(report, Mapping) and isinstance(report.get("errors_key"), str)
    ]
    lines += [f"rejected rows: {line}" for line in capped(errors, "errors objects")]
    failed = [
        ": ".join(one_line(item.get(name) or "") for name in ("key", "error", "cause"))
        for item in summary.get("failed_objects") or []
        if isinstance(item, Mapping)
    ]
    lines += [f"failed: {line}" for line in capped(failed, "failed objects")]
    lines.append(f"summary: {where}summary.json")
    return lines


def failure_message(
    job_id: str, execution: Mapping[str, Any], summary: Mapping[str, Any] | None
) -> str:
    """`job <id> <status>: <error>: <cause>`, from the summary or else the execution."""
    source = summary if summary and (summary.get("error") or summary.get("cause")) else None
    if source is not None:
        error, cause = source.get("error"), source.get("cause")
    else:
        error, cause = execution.get("error"), execution.get("cause")
    why = ": ".join(one_line(part) for part in (error, cause) if part) or "no cause given"
    return f"job {job_id} {execution.get('status', 'UNKNOWN')}: {why}"


def local_path(output: Path, relative: str) -> Path:
    """Where a key below the job's prefix lands; a key that would escape OUTPUT is refused."""
    parts = PurePosixPath(relative).parts
    if not parts or any(part in ("", ".", "..") for part in parts) or relative.startswith("/"):
        raise OpsError(f"{relative!r}: not a name to download into OUTPUT={output}")
    return output.joinpath(*parts)


def download_one(s3: Any, bucket: str, key: str, path: Path) -> None:
    """Download to a temporary sibling, then rename it over `path`: never a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.parent / f".{path.name}.{uuid.uuid4().hex[:12]}.part"
    try:
        s3.download_file(bucket, key, str(temporary))
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def download_results(
    s3: Any, bucket: str, job_id: str, output: Path, say: Callable[[str], None]
) -> None:
    """predictions/, errors/ and summary.json of the job into `output`, with the same names."""
    prefix = batch_job_prefix(job_id)
    if output.exists() and not output.is_dir():
        raise OpsError(f"OUTPUT={output}: exists and is not a directory")
    keys: list[tuple[str, int]] = []
    for folder in ("predictions/", "errors/"):
        keys += [(item["Key"], int(item["Size"])) for item in listed(s3, bucket, prefix + folder)]
    keys += [
        (item["Key"], int(item["Size"]))
        for item in listed(s3, bucket, batch_summary_key(job_id))
        if item["Key"] == batch_summary_key(job_id)
    ]
    try:
        for key, _ in keys:
            download_one(s3, bucket, key, local_path(output, key.removeprefix(prefix)))
    except OSError as error:
        where = error.filename or output
        raise OpsError(
            f"OUTPUT={output}: cannot write {where} ({error.strerror or error})"
        ) from None
    size = sum(size for _, size in keys)
    say(f"downloaded {plural(len(keys), 'file')} ({describe_bytes(size)}) to {output}")

"""``make batch-local``: a batch job's scoring on local files, through the worker's own code.

Each input file (or every supported file under an input directory) is scored by
``torchlambda.batch.scoring.score_stream``, as the worker scores an S3 object, into the output
directory under the same relative name (and format, gzip when the input was), its rejected rows
beside it as ``<name>.errors.jsonl``. Every file is written to a temporary name and renamed when
complete. The verdict is the job's (``torchlambda.batch.job.verdict``): it fails when more rows
were rejected than tolerated.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lambda_image.local.function import model_dir, require_model
from tooling.arguments import OneLineParser, checked
from torchlambda import contract
from torchlambda.batch.formats import SUPPORTED_SUFFIXES, UnsupportedInput, format_of, is_supported
from torchlambda.batch.scoring import Counts

if TYPE_CHECKING:  # torch: imported once the arguments are known to be good
    from torchlambda.batch.model import BatchModel

# The environments' default (infra/settings/batch.py): a job fails past 1% rejected rows.
DEFAULT_TOLERATED_PERCENTAGE = 1.0


@dataclass(frozen=True)
class Scored:
    source: Path
    output: Path
    errors: Path | None
    counts: Counts
    seconds: float


def inputs(path: Path) -> list[Path]:
    """The files to score. A file named directly must be supported; in a directory, others are
    skipped with a note (a README beside the data is common)."""
    if path.is_file():
        format_of(path.name)  # raises UnsupportedInput, naming the accepted suffixes
        return [path]
    if not path.is_dir():
        raise UnsupportedInput(f"{path}: no such file or directory")
    files = sorted(p for p in path.rglob("*") if p.is_file())
    for skipped in (p for p in files if not is_supported(p.name)):
        print(f"skipped {skipped}: not *{', *'.join(SUPPORTED_SUFFIXES)}", file=sys.stderr)
    found = [p for p in files if is_supported(p.name)]
    if not found:
        raise UnsupportedInput(f"{path}: holds no *{', *'.join(SUPPORTED_SUFFIXES)} file")
    return found


def score_file(source: Path, output: Path, errors: Path, model: BatchModel) -> Scored:
    from torchlambda.batch.scoring import score_stream
    from torchlambda.batch.sinks import FileSink, LazySink

    started = time.perf_counter()
    lazy_errors = LazySink(lambda: FileSink(errors))
    with source.open("rb") as stream:
        counts = score_stream(
            stream,
            format_of(source.name),
            predict=model.predict,
            max_abs_x=model.max_abs_x,
            output=FileSink(output),
            errors=lazy_errors,
        )
    errors_path = errors if lazy_errors.opened else None
    return Scored(source, output, errors_path, counts, time.perf_counter() - started)


def load_model() -> BatchModel:

    from torchlambda.batch.model import load_batch_model
    from torchlambda.startup import initialize

    require_model()
    # Powertools reads its level from the process's environment; the table is the output here.
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    return initialize({**os.environ, contract.ENV_MODEL_DIR: str(model_dir())}, load_batch_model)


def report(scored: list[Scored], tolerated: float, model_version: str) -> int:
    from torchlambda.batch.job import verdict  # boto3: not needed before the scoring is done

    read = sum(s.counts.rows_read for s in scored)
    rejected = sum(s.counts.rows_rejected for s in scored)
    seconds = sum(s.seconds for s in scored)
    for s in scored:
        rate = s.counts.rows_read / s.seconds if s.seconds else 0.0
        print(
            f"{s.source} -> {s.output}: {s.counts.rows_read:,} rows, "
            f"{s.counts.rows_predicted:,} predicted, {s.counts.rows_rejected:,} rejected, "
            f"{s.seconds:.1f} s ({rate:,.0f} rows/s)"
            + (f"; rejected rows in {s.errors}" if s.errors else "")
        )
    status, error, cause = verdict(
        {},
        objects=len(scored),
        failed=[],
        rows_read=read,
        rows_rejected=rejected,
        tolerated=tolerated,
    )
    print(
        f"{status}: {read:,} rows read, {read - rejected:,} predicted, {rejected:,} rejected "
        f"in {seconds:.1f} s, model {model_version}"
    )
    if error:
        print(f"error: {error}: {cause}", file=sys.stderr)
        return 1
    return 0


tolerated_percentage = checked(float, lambda p: 0 <= p <= 100, "a percentage in 0..100")


def build_parser() -> OneLineParser:
    parser = OneLineParser(prog="make batch-local", description=__doc__)
    parser.add_argument("--input", type=Path, required=True, help="a file or a directory")
    parser.add_argument("--output", type=Path, required=True, help="a directory")
    parser.add_argument(
        "--tolerated-failure-percentage",
        type=tolerated_percentage,
        default=DEFAULT_TOLERATED_PERCENTAGE,
        help="the job fails when more rows than this are rejected (default %(default)s)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = build_parser().parse_args(argv)
    source: Path = arguments.input
    output: Path = arguments.output
    try:
        files = inputs(source)
    except UnsupportedInput as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if output.resolve() == source.resolve() or output.resolve() in source.resolve().parents:
        print(f"error: OUTPUT={output} must not hold the input {source}", file=sys.stderr)
        return 2
    model = load_model()
    base = source if source.is_dir() else source.parent
    scored = []
    for file in files:
        relative = file.relative_to(base)
        target = output / relative
        try:
            scored.append(
                score_file(file, target, output / f"{relative}{contract.ERRORS_SUFFIX}", model)
            )
        except (ValueError, OSError) as error:  # a bad object fails the job, as in the cloud
            print(f"error: {file}: {error}", file=sys.stderr)
            return 1
    return report(scored, arguments.tolerated_failure_percentage, model.version)


if __name__ == "__main__":
    sys.exit(main())

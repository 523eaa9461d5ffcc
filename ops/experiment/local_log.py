"""`make ab-report-local`'s source: the log the local server appends the function's lines to
(`make serve` writes SERVE_LOG): feedback events and one request line per request."""

from __future__ import annotations

from pathlib import Path

from ops.errors import OpsError
from ops.experiment.feedback_log import FeedbackLog, json_record
from ops.experiment.variants import RequestTally
from torchlambda.experiment.feedback import FEEDBACK_MESSAGE
from torchlambda.experiment.request_record import RequestRecord


def read_serve_log(path: Path, feedback: FeedbackLog, requests: RequestTally) -> None:
    """Feed every feedback line to `feedback` and every request line to `requests`; other lines
    (plain text, other JSON) are skipped. A line's place in the file is its time: the server
    appends."""
    try:
        stream = path.open(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise OpsError(
            f"SERVE_LOG={path} does not exist: serve an experiment (`make serve "
            "EXPERIMENT=shadow`, which appends the function's log there), send it requests and "
            "POST /feedback, then run this again"
        ) from None
    except OSError as error:
        raise OpsError(f"SERVE_LOG={path} cannot be read: {error.strerror}") from None
    with stream:
        for number, line in enumerate(stream):
            record = json_record(line)
            if record is None:
                continue
            if record.get("message") == FEEDBACK_MESSAGE:
                feedback.add_record(record, when=number)
                continue
            request = RequestRecord.from_fields(record)
            if request is not None:
                requests.add(request)

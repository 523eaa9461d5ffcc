"""`make ab-report`'s feedback: the inference function's feedback events from CloudWatch Logs.

FilterLogEvents with a JSON filter on the message, so CloudWatch scans and only the feedback lines
travel; every line is still checked here (a pattern is a filter, not a parser). Pages are followed
until the window is read or the FeedbackLog is full.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from ops.experiment.feedback_log import FeedbackLog
from ops.logs.tail import LogGroupNotFound
from torchlambda.experiment.feedback import FEEDBACK_MESSAGE

FEEDBACK_PATTERN = f'{{ $.message = "{FEEDBACK_MESSAGE}" }}'


def read_feedback(
    logs: Any, group: str, *, start_ms: int, end_ms: int, feedback: FeedbackLog
) -> None:
    """Add the group's feedback events logged in [start_ms, end_ms] to `feedback`."""
    request: dict[str, Any] = {
        "logGroupName": group,
        "startTime": start_ms,
        "endTime": end_ms,
        "filterPattern": FEEDBACK_PATTERN,
    }
    while True:
        try:
            page = logs.filter_log_events(**request)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                raise LogGroupNotFound(f"log group {group} does not exist") from None
            raise
        for event in page.get("events", []):
            feedback.add_line(event.get("message", ""), when=event["timestamp"])
        token = page.get("nextToken")
        if not token or token == request.get("nextToken"):  # the same token again: the end
            return
        if feedback.full:  # more to read and no room for it
            feedback.truncated = True
            return
        request["nextToken"] = token

"""Failures the ops tools report as one line: what went wrong and what to do about it."""

from __future__ import annotations

import botocore.exceptions as boto_errors

ACCESS_DENIED_CODES = {
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
}
EXPIRED_CODES = {"ExpiredToken", "ExpiredTokenException", "RequestExpired"}
THROTTLING_CODES = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "SlowDown",
    "RequestThrottled",
    "RequestThrottledException",
}


class OpsError(Exception):
    """A failure already explained in one line; the command prints it and exits non-zero."""

    exit_code = 1


class Interrupted(OpsError):
    """The user pressed Ctrl-C; exit like a shell does after SIGINT."""

    exit_code = 130


# Local failures of the SDK, in the order to test them (subclasses before their bases).
LOCAL_FAILURES: tuple[tuple[type[Exception] | tuple[type[Exception], ...], str], ...] = (
    (
        boto_errors.NoCredentialsError,
        "no AWS credentials found: run `aws configure` or `aws sso login`, "
        "or set AWS_PROFILE / AWS_ACCESS_KEY_ID",
    ),
    (
        boto_errors.PartialCredentialsError,
        "incomplete AWS credentials ({error}); set both the key id and the secret",
    ),
    (boto_errors.ProfileNotFound, "{error}; check AWS_PROFILE against ~/.aws/config"),
    (
        (boto_errors.SSOError, boto_errors.TokenRetrievalError),
        "AWS SSO session problem ({error}); run `aws sso login`",
    ),
    (
        (boto_errors.ConnectTimeoutError, boto_errors.ReadTimeoutError),
        "network timeout: {error}; check the connection and retry",
    ),
    (
        (boto_errors.EndpointConnectionError, boto_errors.ConnectionClosedError),
        "network error: {error}; check the connection (and any proxy or VPN)",
    ),
    (boto_errors.BotoCoreError, "AWS SDK error: {error}"),
)


def explain_aws_error(error: Exception) -> str | None:
    """One line for a botocore failure, or None if `error` is not one (let it surface)."""
    if isinstance(error, boto_errors.ClientError):
        return _explain_client_error(error)
    for kinds, template in LOCAL_FAILURES:
        if isinstance(error, kinds):
            return template.format(error=error)
    return None


def _explain_client_error(error: boto_errors.ClientError) -> str:
    details = error.response.get("Error", {})
    code = details.get("Code", "Unknown")
    message = details.get("Message", "").strip() or "no message"
    operation = error.operation_name
    attempts = error.response.get("ResponseMetadata", {}).get("RetryAttempts", 0)
    if code in ACCESS_DENIED_CODES:
        return (
            f"access denied to {operation} ({code}: {message}); use credentials whose role "
            "allows it"
        )
    if code in EXPIRED_CODES:
        return f"AWS credentials expired ({operation}: {message}); refresh them and retry"
    if code in THROTTLING_CODES:
        return (
            f"AWS throttled {operation} ({code}) after {attempts + 1} attempts; wait a minute "
            "and retry, or raise AWS_MAX_ATTEMPTS"
        )
    return f"{operation} failed ({code}): {message}"

"""boto3 clients for one environment: its region, standard retries, bounded timeouts."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

from infra.config import EnvironmentConfig

# Standard retry mode retries throttling and transient network errors with backoff; the number of
# attempts stays at botocore's default (or AWS_MAX_ATTEMPTS) because it is not set here.
CLIENT_CONFIG = Config(
    retries={"mode": "standard"},
    connect_timeout=10,
    read_timeout=60,
    user_agent_extra="torchlambda-ops",
)


class AwsClients:
    """Creates clients lazily in the environment's region (AWS_ENDPOINT_URL redirects them all)."""

    def __init__(self, config: EnvironmentConfig, session: boto3.Session | None = None) -> None:
        self.region = config.region
        self.session = session or boto3.Session()
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(
                service, region_name=self.region, config=CLIENT_CONFIG
            )
        return self._clients[service]

    @property
    def cloudformation(self) -> Any:
        return self.client("cloudformation")

    @property
    def s3(self) -> Any:
        return self.client("s3")

    @property
    def codebuild(self) -> Any:
        return self.client("codebuild")

    @property
    def logs(self) -> Any:
        return self.client("logs")

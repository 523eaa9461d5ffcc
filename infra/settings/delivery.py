"""The delivery pipeline: where it lives and the repository branch it ships (docs/lifecycle.md).

Not configured by default: a pipeline needs an AWS CodeConnections connection to the repository
host, which someone authorizes once in the console. The environments it deploys, and their order
(dev -> staging -> approval -> prod), are the shipped ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from infra.settings.retention import RetentionSettings

if TYPE_CHECKING:  # infra.config imports this module for its DELIVERY setting
    from infra.config import EnvironmentConfig

# CodeConnections ARNs, and those of its former name (CodeStar Connections), which still work.
CONNECTION_ARN = re.compile(
    r"arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]+:\d{12}:"
    r"connection/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
)
# The host's owner/name (GitLab's may nest groups: group/subgroup/name); no spaces.
REPOSITORY = re.compile(r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+")
# A branch name git accepts, conservatively: no spaces, `..`, `~^:?*[\`, leading `-` or `/`.
BRANCH = re.compile(r"(?!-|/)(?!.*(\.\.|//|@\{))[A-Za-z0-9._/-]+(?<![./])")
# The pipeline's build logs, and its artifact and access-log buckets, which it keeps.
PIPELINE_RETENTION = RetentionSettings(log_retention_days=90, retain_stateful_resources=True)


@dataclass(frozen=True)
class DeliverySettings:
    account: str  # where the pipeline lives, and where environments without an account deploy
    region: str
    connection_arn: str  # a CodeConnections connection, authorized in the console
    repository: str  # owner/name, as the connection's host spells it
    branch: str = "main"
    retention: RetentionSettings = PIPELINE_RETENTION

    def faults(self) -> Iterator[str]:
        # Local import: infra.config imports this module for its DELIVERY setting.
        from infra.config import ACCOUNT_PATTERN, known_regions

        if not ACCOUNT_PATTERN.fullmatch(self.account):
            yield (
                f"delivery account {self.account!r} is malformed; an AWS account id is exactly "
                "12 digits"
            )
        if self.region not in known_regions():
            yield (
                f"delivery region {self.region!r} is unknown; use an AWS region name such as "
                "us-west-2"
            )
        if not CONNECTION_ARN.fullmatch(self.connection_arn):
            yield (
                f"delivery connection_arn {self.connection_arn!r} is not a connection ARN: copy "
                "it from Developer Tools > Settings > Connections (arn:aws:codeconnections:"
                "<region>:<account>:connection/<uuid>)"
            )
        if not REPOSITORY.fullmatch(self.repository):
            yield (
                f"delivery repository {self.repository!r} must be owner/name, as the "
                "connection's host spells it"
            )
        if not BRANCH.fullmatch(self.branch):
            yield f"delivery branch {self.branch!r} is not a branch name git accepts"
        yield from (f"delivery {fault}" for fault in self.retention.faults())

    def environment_faults(self, environments: Sequence[EnvironmentConfig]) -> Iterator[str]:
        """What keeps the pipeline from shipping `environments`, the first one's champion."""
        for config in environments:
            if config.region != self.region:
                yield (
                    f"{config.name} deploys to {config.region} but the delivery pipeline lives "
                    f"in {self.region}: set the delivery region to {config.region!r} (a wave in "
                    "another region needs a support stack CDK Pipelines would add unchecked)"
                )
        first = environments[0]
        if first.account not in (None, self.account):
            yield (
                f"{first.name} deploys to account {first.account} but the delivery pipeline "
                f"lives in {self.account}: the pipeline reads {first.name}'s champion and hears "
                f"its promotions in its own account; set the delivery account to "
                f"{first.account!r}"
            )
        yield from self._experiment_faults(environments)

    def _experiment_faults(self, environments: Sequence[EnvironmentConfig]) -> Iterator[str]:
        """The pipeline builds one image, so it holds one challenger: that of the one environment
        running an experiment, fetched by the synth step in the pipeline's own account."""
        running = [config for config in environments if config.experiment.enabled]
        if len(running) > 1:
            yield (
                f"{', '.join(config.name for config in running)} each run an experiment, but "
                "the pipeline ships one image, which holds one challenger: run an experiment in "
                "one environment at a time"
            )
        for config in running[:1]:
            # The first environment's account is checked above: its champion is fetched too.
            if config is not environments[0] and config.account not in (None, self.account):
                yield (
                    f"{config.name} runs an experiment but deploys to account {config.account}: "
                    f"the pipeline fetches its challenger from {config.name}'s bucket in its own "
                    f"account {self.account}; run the experiment in an environment of that account"
                )

"""The batch functions' S3 client: standard retries (throttling and 5xx back off and retry), and
enough connections for a worker's reader and writer threads."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

S3_CONFIG = Config(retries={"mode": "standard", "max_attempts": 8}, max_pool_connections=4)


def s3_client() -> Any:
    # A session of its own: boto3's module-level default would keep this process's credentials
    # for every later boto3.client() call, whatever the environment says by then.
    return boto3.session.Session().client("s3", config=S3_CONFIG)

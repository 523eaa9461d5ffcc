"""AWS clients for the image's functions, each on a boto3 Session of its own.

A session of its own: boto3's module-level default would keep this process's credentials for
every later boto3.client() call, whatever the environment says by then.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config


def s3_client(config: Config) -> Any:
    return boto3.session.Session().client("s3", config=config)

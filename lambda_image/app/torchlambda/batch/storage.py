"""The batch functions' S3 client configuration: standard retries (throttling and 5xx back off
and retry), and enough connections for a worker's reader and writer threads."""

from __future__ import annotations

from botocore.config import Config

S3_CONFIG = Config(retries={"mode": "standard", "max_attempts": 8}, max_pool_connections=4)

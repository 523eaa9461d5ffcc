"""How model files travel from S3: the client's retries and timeouts, and the managed transfer's
parallel ranged GETs. Both are sized for init, which Lambda gives 10 s on demand."""

from __future__ import annotations

from typing import Any

from boto3.s3.transfer import TransferConfig
from botocore.config import Config

from torchlambda.aws_clients import s3_client

CONCURRENCY = 8  # ranged GETs at once: one stream from S3 runs far below a function's bandwidth
PART_BYTES = 8 << 20

# Standard retries: throttling (503 SlowDown) and 5xx back off with jitter, for throttling at
# most 1 + 2 + 4 s over 4 attempts; a stalled connection fails after its timeout and is retried.
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 4},
    connect_timeout=3,
    read_timeout=10,
    max_pool_connections=CONCURRENCY + 2,  # the GETs, and the HEADs beside them
)
# num_download_attempts: s3transfer's own retry of a stream that breaks mid-body, which the
# client's retries do not cover (the response had already begun).
TRANSFER_CONFIG = TransferConfig(
    multipart_threshold=PART_BYTES,
    multipart_chunksize=PART_BYTES,
    max_concurrency=CONCURRENCY,
    num_download_attempts=3,
)


def model_s3_client() -> Any:
    return s3_client(CLIENT_CONFIG)

"""The batch functions' S3 client: standard retries and a connection per thread."""

from __future__ import annotations

import pytest

from torchlambda.aws_clients import s3_client
from torchlambda.batch.storage import S3_CONFIG


def test_the_client_retries_and_pools(aws_env: pytest.MonkeyPatch) -> None:
    client = s3_client(S3_CONFIG)
    config = client.meta.config
    assert config.retries["mode"] == "standard"
    assert config.retries["total_max_attempts"] == 9  # 8 retries, whatever AWS_MAX_ATTEMPTS says
    assert config.max_pool_connections >= 3  # the reader, the writer and the errors sink

"""The batch job function's entry point (its CMD): init runs once, at import."""

from __future__ import annotations

import os

from torchlambda.batch.job import load_job

handler = load_job(os.environ)

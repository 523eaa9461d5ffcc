"""The batch worker function's entry point (its CMD): init runs once, at import."""

from __future__ import annotations

import os

from torchlambda.batch.worker import load_worker

handler = load_worker(os.environ)

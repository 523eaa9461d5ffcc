"""The model copy function's entry point (contract.MODEL_COPY_HANDLER): init runs at import."""

from __future__ import annotations

import os

from torchlambda.model_sources.copy_function import load_copy_function

handler = load_copy_function(os.environ)

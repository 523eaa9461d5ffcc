"""The evaluate function's entry point (contract.EVALUATE_HANDLER): init runs at import."""

from __future__ import annotations

import os

from torchlambda.lifecycle.evaluate_function import load_evaluate_function

handler = load_evaluate_function(os.environ)

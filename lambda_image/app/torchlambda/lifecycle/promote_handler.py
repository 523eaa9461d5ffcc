"""The promote function's entry point (contract.PROMOTE_HANDLER): init runs at import."""

from __future__ import annotations

import os

from torchlambda.lifecycle.promote_function import load_promote_function

handler = load_promote_function(os.environ)

"""Lambda entry point (``torchlambda.handler.handler``): init runs once, at import.

Everything expensive (settings, the verified model, the API) happens here, before the first
request; see `torchlambda.function`.
"""

from __future__ import annotations

import os

from torchlambda.function import load_function

handler = load_function(os.environ)

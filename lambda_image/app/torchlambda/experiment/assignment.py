"""Which variant answers a split request: a stable hash of the caller's key, never a coin flip.

The key (the sticky header's value, else the request id) is hashed with the challenger's version as
salt: a caller keeps their variant for as long as the experiment runs, and a new challenger draws a
fresh, independent share of callers instead of the same ones again.
"""

from __future__ import annotations

import hashlib

from torchlambda.contract import CHALLENGER, CHAMPION, Variant

HASH_BYTES = 8
HASH_RANGE = float(1 << (8 * HASH_BYTES))
MAX_SALT_BYTES = 64  # BLAKE2b's longest key


class Assignment:
    def __init__(self, weight: float, salt: str) -> None:
        # An integer threshold: the comparison per request is exact and allocation-free.
        self._threshold = int(weight * HASH_RANGE)
        self._salt = salt.encode("utf-8")[:MAX_SALT_BYTES]

    def variant(self, key: str) -> Variant:
        # A header may hold any text, lone surrogates included: hash its bytes, never fail on it.
        digest = hashlib.blake2b(
            key.encode("utf-8", "surrogatepass"), digest_size=HASH_BYTES, key=self._salt
        ).digest()
        return CHALLENGER if int.from_bytes(digest, "big") < self._threshold else CHAMPION

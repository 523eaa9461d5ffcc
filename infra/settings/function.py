"""The inference function: its size, timeout, concurrency reservation, threads and base image."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field

from infra import dlc
from infra.settings.images import ImageChoice
from torchlambda import contract

# Limits of the services, with where they come from.
MAX_FUNCTION_TIMEOUT_S = 28  # HTTP API integration timeout is at most 29 s and must exceed it.
MIN_MEMORY_MB, MAX_MEMORY_MB = 128, 10_240
MAX_VCPUS = 6
MIN_EPHEMERAL_MB, MAX_EPHEMERAL_MB = 512, 10_240  # /tmp


@dataclass(frozen=True)
class FunctionSettings:
    # 1,769 MB is one full vCPU: the model runs single-threaded, more memory buys nothing.
    memory_mb: int = 1769
    timeout_seconds: int = 10
    architecture: dlc.Architecture = "x86_64"
    reserved_concurrency: int | None = None
    torch_threads: int = contract.TORCH_THREADS
    # /tmp of every function that loads the model; a model downloaded at init lands there.
    ephemeral_storage_mb: int = MIN_EPHEMERAL_MB
    image: ImageChoice = field(default_factory=ImageChoice)

    def faults(self, today: dt.date) -> Iterator[str]:
        if not MIN_MEMORY_MB <= self.memory_mb <= MAX_MEMORY_MB:
            yield f"memory_mb={self.memory_mb} is outside Lambda's {MIN_MEMORY_MB}..{MAX_MEMORY_MB}"
        if not 1 <= self.timeout_seconds <= MAX_FUNCTION_TIMEOUT_S:
            yield (
                f"timeout_seconds={self.timeout_seconds} must be 1..{MAX_FUNCTION_TIMEOUT_S}: "
                "the HTTP API integration times out at 29 s at most (30 s hard limit) and must "
                "outlast it"
            )
        if self.reserved_concurrency is not None and self.reserved_concurrency < 1:
            yield (
                f"reserved_concurrency={self.reserved_concurrency} must be >= 1 "
                "(or None for unreserved)"
            )
        if not MIN_EPHEMERAL_MB <= self.ephemeral_storage_mb <= MAX_EPHEMERAL_MB:
            yield (
                f"ephemeral_storage_mb={self.ephemeral_storage_mb} is outside Lambda's "
                f"{MIN_EPHEMERAL_MB}..{MAX_EPHEMERAL_MB}"
            )
        if not 1 <= self.torch_threads <= MAX_VCPUS:
            yield (
                f"torch_threads={self.torch_threads} must be 1..{MAX_VCPUS} "
                f"(Lambda has at most {MAX_VCPUS} vCPUs)"
            )
        yield from self.image.faults("inference_image", "cpu", today)
        yield from self._architecture_faults()

    def _architecture_faults(self) -> Iterator[str]:
        try:
            architectures = self.image.spec.architectures
        except dlc.UnknownImageError:
            return  # already reported by the image's own faults
        if self.architecture not in architectures:
            yield (
                f"architecture={self.architecture} but {self.image.name} has no "
                f"{self.architecture} variant (only {', '.join(architectures)})"
            )

"""Cloud training: the DLC it runs in, on what compute, from which data, behind which gate."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from infra import dlc
from infra.settings.images import ImageChoice
from torchlambda import contract

TrainingCompute = Literal["small", "medium", "large", "gpu"]


@dataclass(frozen=True)
class TrainingSettings:
    image: ImageChoice = field(default_factory=ImageChoice)
    compute: TrainingCompute = "small"
    data_key: str = contract.DEFAULT_TRAINING_DATA_KEY
    # The default dataset's noise variance is 4 (the best possible MSE); 6 refuses a broken fit.
    max_validation_mse: float = 6.0

    @property
    def accelerator(self) -> dlc.Accelerator:
        return "gpu" if self.compute == "gpu" else "cpu"

    def faults(self, today: dt.date) -> Iterator[str]:
        yield from self.image.faults("training_image", self.accelerator, today)
        if self.compute == "gpu" and self.image.registry != "private":
            yield "training_compute='gpu' needs training_image registry='private' (GPU DLCs)"
        if not self.data_key.startswith(contract.DATA_PREFIX):
            yield (
                f"training_data_key {self.data_key!r} must live under "
                f"{contract.DATA_PREFIX} in the bucket"
            )
        if not self.max_validation_mse > 0:
            yield f"max_validation_mse={self.max_validation_mse} must be > 0"

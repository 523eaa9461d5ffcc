"""Which Deep Learning Container (DLC) image a role runs on, and the rules the choice must pass."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from infra import dlc


@dataclass(frozen=True)
class ImageChoice:
    """A DLC image from the catalog and the registry to pull it from."""

    name: str = dlc.DEFAULT_CPU_IMAGE
    registry: dlc.Registry = "public"
    # Set to a reason to knowingly use an image past its end of patch (no more security fixes).
    allow_past_end_of_patch: str | None = None

    @property
    def spec(self) -> dlc.DlcImageSpec:
        return dlc.lookup(self.name)

    def uri(self, region: str) -> str:
        return dlc.image_uri(self.name, self.registry, region)

    def faults(self, role: str, accelerator: dlc.Accelerator, today: dt.date) -> Iterator[str]:
        """What keeps this image from serving `role` on `accelerator` hardware as of `today`."""
        try:
            spec = self.spec
        except dlc.UnknownImageError as error:
            yield f"{role}: {error}"
            return
        if spec.accelerator != accelerator:
            yield f"{role} {spec.name} is a {spec.accelerator} image; this role needs {accelerator}"
        if self.registry == "public" and not spec.public:
            yield f"{role} {spec.name} is not on public ECR; use registry='private'"
        if spec.past_end_of_patch(today) and not self.allow_past_end_of_patch:
            yield (
                f"{role} {spec.name} passed its end of patch on {spec.end_of_patch}; pick a "
                "supported image or set allow_past_end_of_patch to the reason"
            )

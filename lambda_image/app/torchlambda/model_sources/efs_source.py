"""The efs source: the build is read in place from MODEL_DIR on the mounted file system.

Its weights are hashed once, by `load_artifact`, which refuses any but the pinned sha256; here
only the build's presence is checked, to say what is wrong when it is not there.
"""

from __future__ import annotations

from pathlib import Path

from torchlambda.contract import CARD_FILE, EFS_MOUNT_PATH, WEIGHTS_FILE
from torchlambda.model_sources.errors import ModelSourceError


def check_efs_build(model_dir: Path) -> None:
    missing = [name for name in (WEIGHTS_FILE, CARD_FILE) if not (model_dir / name).is_file()]
    if missing:
        raise ModelSourceError(
            f"{model_dir}: no {' and no '.join(missing)} on the file system; run the model copy "
            f"function for this build first, or check the mount at {EFS_MOUNT_PATH}"
        )

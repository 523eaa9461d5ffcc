"""The image's command (the Dockerfile's ENTRYPOINT, CMD and ENV) translated for this machine."""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from lambda_image.local.dockerfile import Runtime, image_runtime
from lambda_image.local.rie.errors import RieError
from torchlambda.contract import ENV_MODEL_DIR

APP_ROOT = Path(__file__).resolve().parents[2] / "app"  # the image's /var/task: torchlambda/


# ---- The image's command, on this machine ------------------------------------------------------


@dataclass(frozen=True)
class FunctionCommand:
    argv: list[str]
    cwd: Path
    env: dict[str, str]


@dataclass(frozen=True)
class Limits:
    """The function's configuration that the emulator reads (memory for the context and the
    REPORT line; the timeout it enforces on each invocation)."""

    memory_mb: int
    timeout_s: int


# The emulator runs init inside the first invocation and counts it against the timeout, where
# Lambda gives init its own phase (10 s on demand, longer ahead of traffic with provisioned
# concurrency). Locally, a cold `import torch` on a busy machine can take longer than the deployed
# timeout, so local runs allow this much; the deployed memory is kept.
LOCAL_TIMEOUT_S = 120


def deployed_limits(environment: str = "dev") -> Limits:
    """The memory an environment's function is deployed with, and a timeout that leaves room
    for init (see LOCAL_TIMEOUT_S)."""
    from infra.config import get_environment  # botocore, through the DLC catalog: only here

    function = get_environment(environment).function
    return Limits(function.memory_mb, max(function.timeout_seconds, LOCAL_TIMEOUT_S))


INTERPRETER = re.compile(r"python[0-9.]*")


def image_command(
    sandbox_tmp: Path,
    *,
    function_root: Path = APP_ROOT,
    model_dir: Path | None = None,
    handler: str | None = None,
    runtime: Runtime | None = None,
    python: str = sys.executable,
) -> FunctionCommand:
    """The Dockerfile's ENTRYPOINT + CMD as this machine runs it, in `function_root`.

    The image's interpreter becomes `python`; its ENV applies, with paths under its WORKDIR moved
    to `function_root` and its /tmp to `sandbox_tmp`; `model_dir`, if given, replaces MODEL_DIR;
    `handler`, if given, replaces the CMD, as a function's ImageConfig command does.
    """
    runtime = runtime or image_runtime()
    command = runtime.command
    if not command or not INTERPRETER.fullmatch(Path(command[0]).name):
        raise RieError(f"the image's command {command} does not start with a Python interpreter")
    arguments = command[1:] if handler is None else [*runtime.entrypoint[1:], handler]
    argv = [python, *arguments]

    def local(value: str) -> str:
        for image_dir, here in ((runtime.workdir, function_root), ("/tmp", sandbox_tmp)):
            if value == image_dir or value.startswith(image_dir.rstrip("/") + "/"):
                return str(here / value[len(image_dir) :].lstrip("/"))
        return value

    env = {name: local(value) for name, value in runtime.env.items()}
    env.update(PATH=os.environ.get("PATH", "/usr/bin:/bin"), LAMBDA_TASK_ROOT=str(function_root))
    if model_dir is not None:
        env[ENV_MODEL_DIR] = str(model_dir.absolute())  # the command runs elsewhere
    return FunctionCommand(argv=argv, cwd=function_root, env=env)

"""Reproduces lambda_image/Dockerfile's function directory in a tmp dir.

COPY instructions are replayed (stages map to directories, the build context to a directory the
test prepares); RUN steps are skipped (dependencies come from the local venv instead). The
Dockerfile is parsed by ``lambda_image.local.dockerfile``, which the local tools read too: the
final stage's WORKDIR, ENV, ENTRYPOINT and CMD become the runtime interface test's command line,
so the test and the image cannot drift apart.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from lambda_image.local import rie
from lambda_image.local.dockerfile import DOCKERFILE, runtime, stages

LAMBDA_IMAGE = DOCKERFILE.parent


@dataclass(frozen=True)
class Image:
    root: Path  # the final stage's filesystem, under a tmp dir
    workdir: Path
    env: dict[str, str]
    command: list[str]  # ENTRYPOINT + CMD, image paths as in the Dockerfile


def _inside(root: Path, image_path: str) -> Path:
    return root / image_path.lstrip("/")


def _copy(source: Path, destination: Path, into_directory: bool) -> None:
    if source.is_dir():
        shutil.copytree(
            source, destination, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__")
        )
    elif source.exists():
        target = destination / source.name if into_directory else destination
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


def assemble(context: Path, workspace: Path, dockerfile: Path = DOCKERFILE) -> Image:
    """Replay the Dockerfile's COPY steps from ``context`` into ``workspace``/<stage>."""
    all_stages = stages(dockerfile.read_text(encoding="utf-8"))
    roots: dict[str, Path] = {}
    root = workspace
    for index, stage in enumerate(all_stages):
        root = workspace / f"stage{index}"
        root.mkdir(parents=True)
        if stage.name:
            roots[stage.name] = root
        for keyword, arguments in stage.instructions:
            if keyword != "COPY":
                continue
            words = arguments.split()
            flags = [w for w in words if w.startswith("--")]
            *sources, destination = [w for w in words if not w.startswith("--")]
            origin = context
            for flag in flags:
                if flag.startswith("--from="):
                    origin = roots[flag.removeprefix("--from=")]
            for source in sources:
                from_path = _inside(origin, source) if origin is not context else origin / source
                _copy(from_path, _inside(root, destination), destination.endswith("/"))
    final = runtime(all_stages[-1])
    return Image(
        root=root, workdir=_inside(root, final.workdir), env=final.env, command=final.command
    )


def build_context(directory: Path, model: Path, challenger: Path | None = None) -> Path:
    """The Docker build context as the .dockerignore allowlist admits it, with a fixture model
    (and a fixture challenger; without one, the directory as a fresh clone has it)."""
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copy2(LAMBDA_IMAGE / "requirements.txt", directory / "requirements.txt")
    shutil.copytree(
        LAMBDA_IMAGE / "app" / "torchlambda",
        directory / "app" / "torchlambda",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    shutil.copytree(model, directory / "model")
    if challenger is None:
        (directory / "challenger").mkdir()
        shutil.copy2(LAMBDA_IMAGE / "challenger" / "README.md", directory / "challenger")
    else:
        shutil.copytree(challenger, directory / "challenger")
    return directory


def lay_out(
    workspace: Path, model: Path, handler: str | None = None
) -> tuple[Image, rie.FunctionCommand]:
    """The image's function directory, and its command as this machine runs it there (with
    `handler` as the CMD, as a function's ImageConfig command sets it, if given)."""
    image = assemble(build_context(workspace / "context", model), workspace / "image")
    sandbox_tmp = workspace / "tmp"
    sandbox_tmp.mkdir()
    return image, rie.image_command(sandbox_tmp, function_root=image.workdir, handler=handler)

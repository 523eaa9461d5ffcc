"""Reads lambda_image/Dockerfile and reproduces its function directory in a tmp dir.

COPY instructions are replayed (stages map to directories, the build context to a directory the
test prepares); RUN steps are skipped (dependencies come from the local venv instead). The final
stage's WORKDIR, ENV, ENTRYPOINT and CMD become the command line of the runtime interface test, so
the test and the image cannot drift apart.
"""

from __future__ import annotations

import json
import shlex
import shutil
from dataclasses import dataclass, field
from pathlib import Path

DOCKERFILE = Path(__file__).resolve().parents[2] / "lambda_image" / "Dockerfile"


@dataclass
class Stage:
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Image:
    root: Path  # the final stage's filesystem, under a tmp dir
    workdir: Path
    env: dict[str, str]
    command: list[str]  # ENTRYPOINT + CMD, image paths as in the Dockerfile


def instructions(text: str) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) pairs, with comments dropped and continuation lines joined."""
    result: list[tuple[str, str]] = []
    pending = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        keyword, _, arguments = (pending + stripped).partition(" ")
        result.append((keyword.upper(), arguments.strip()))
        pending = ""
    return result


def stages(text: str) -> list[Stage]:
    found: list[Stage] = []
    for keyword, arguments in instructions(text):
        if keyword == "FROM":
            words = arguments.split()
            found.append(Stage(words[2] if len(words) > 2 and words[1].upper() == "AS" else None))
        elif found:
            found[-1].instructions.append((keyword, arguments))
    return found


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


def _env_pairs(arguments: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for word in shlex.split(arguments):
        name, _, value = word.partition("=")
        pairs[name] = value
    return pairs


def assemble(context: Path, workspace: Path, dockerfile: Path = DOCKERFILE) -> Image:
    """Replay the Dockerfile's COPY steps from ``context`` into ``workspace``/<stage>."""
    all_stages = stages(dockerfile.read_text(encoding="utf-8"))
    roots: dict[str, Path] = {}
    env: dict[str, str] = {}
    workdir = "/"
    entrypoint: list[str] = []
    cmd: list[str] = []
    for index, stage in enumerate(all_stages):
        root = workspace / f"stage{index}"
        root.mkdir(parents=True)
        if stage.name:
            roots[stage.name] = root
        env, workdir, entrypoint, cmd = {}, "/", [], []
        for keyword, arguments in stage.instructions:
            if keyword == "COPY":
                words = arguments.split()
                flags = [w for w in words if w.startswith("--")]
                *sources, destination = [w for w in words if not w.startswith("--")]
                origin = context
                for flag in flags:
                    if flag.startswith("--from="):
                        origin = roots[flag.removeprefix("--from=")]
                for source in sources:
                    from_path = (
                        _inside(origin, source) if origin is not context else origin / source
                    )
                    _copy(from_path, _inside(root, destination), destination.endswith("/"))
            elif keyword == "ENV":
                env.update(_env_pairs(arguments))
            elif keyword == "WORKDIR":
                workdir = arguments
            elif keyword == "ENTRYPOINT":
                entrypoint = json.loads(arguments)
            elif keyword == "CMD":
                cmd = json.loads(arguments)
    return Image(root=root, workdir=_inside(root, workdir), env=env, command=entrypoint + cmd)

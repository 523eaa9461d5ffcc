"""Reads lambda_image/Dockerfile: its instructions, its stages, and what the final stage runs.

A Dockerfile cannot import Python, so the tools that run the image's entry point on this machine
(``lambda_image.local.rie``) and the tests that replay its layout read it here instead of
repeating its WORKDIR, ENV, ENTRYPOINT and CMD.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path

DOCKERFILE = Path(__file__).resolve().parents[1] / "Dockerfile"


@dataclass
class Stage:
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Runtime:
    """The final stage's run-time settings, with image paths as the Dockerfile writes them."""

    workdir: str
    env: dict[str, str]
    entrypoint: list[str]
    cmd: list[str]

    @property
    def command(self) -> list[str]:
        """ENTRYPOINT + CMD: what Lambda starts in the function's container."""
        return [*self.entrypoint, *self.cmd]


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


def env_pairs(arguments: str) -> dict[str, str]:
    """The variables of one ``ENV a=1 b="two words"`` instruction."""
    pairs: dict[str, str] = {}
    for word in shlex.split(arguments):
        name, _, value = word.partition("=")
        pairs[name] = value
    return pairs


def runtime(stage: Stage) -> Runtime:
    """A stage's WORKDIR, ENV, ENTRYPOINT and CMD (exec form), each as its last value wins."""
    env: dict[str, str] = {}
    workdir = "/"
    entrypoint: list[str] = []
    cmd: list[str] = []
    for keyword, arguments in stage.instructions:
        if keyword == "ENV":
            env.update(env_pairs(arguments))
        elif keyword == "WORKDIR":
            workdir = arguments
        elif keyword == "ENTRYPOINT":
            entrypoint = json.loads(arguments)
        elif keyword == "CMD":
            cmd = json.loads(arguments)
    return Runtime(workdir=workdir, env=env, entrypoint=entrypoint, cmd=cmd)


def image_runtime(dockerfile: Path = DOCKERFILE) -> Runtime:
    """What the image runs: the final stage's settings."""
    return runtime(stages(dockerfile.read_text(encoding="utf-8"))[-1])

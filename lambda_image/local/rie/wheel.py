"""The pinned aws-sam-cli wheel, downloaded once and hash-checked, and the two files taken from it:
the emulator binary and API Gateway's HTTP API (payload 2.0) sample event template."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import os
import platform
import re
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from lambda_image.local.rie.errors import RieError
from tooling.atomic import write_file_atomically

# ---- The pinned wheel, and the two files taken from it ----------------------------------------


@dataclass(frozen=True)
class Wheel:
    project: str
    version: str
    filename: str
    sha256: str


SAM_CLI = Wheel(
    project="aws-sam-cli",
    version="1.170.0",
    filename="aws_sam_cli-1.170.0-py3-none-any.whl",
    sha256="24ebaf5ecba38dc1758089968cb89ab61e124b84e92a344fc7a2771a47f4d0bf",
)
EMULATORS = {  # platform.machine() -> the wheel's binary for it
    "x86_64": "samcli/local/rapid/aws-lambda-rie-x86_64",
    "aarch64": "samcli/local/rapid/aws-lambda-rie-arm64",
    "arm64": "samcli/local/rapid/aws-lambda-rie-arm64",
}
HTTP_API_TEMPLATE = "samcli/lib/generated_sample_events/events/apigateway/HttpApi.json"
DOWNLOAD_TIMEOUT_S = 300


@dataclass(frozen=True)
class Installed:
    emulator: Path  # the RIE binary, executable
    http_api_template: Path  # API Gateway's payload 2.0 sample event, with {{{...}}} placeholders


def cache_dir(wheel: Wheel = SAM_CLI) -> Path:
    """``$XDG_CACHE_HOME/torchlambda/rie/<version>``, ``~/.cache`` when unset (or not absolute)."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    root = Path(base) if os.path.isabs(base) else Path.home() / ".cache"
    return root / "torchlambda" / "rie" / wheel.version


def ensure(
    directory: Path | None = None,
    wheel: Wheel = SAM_CLI,
    download: Callable[[Wheel, Path], Path] | None = None,
    machine: str | None = None,
) -> Installed:
    """The emulator and the template, from the cache, else from the pinned wheel (once)."""
    directory = directory or cache_dir(wheel)
    member = EMULATORS.get(machine or platform.machine())
    if member is None:
        raise RieError(f"no Lambda RIE for this machine ({machine or platform.machine()})")
    installed = Installed(directory / Path(member).name, directory / Path(HTTP_API_TEMPLATE).name)
    if os.access(installed.emulator, os.X_OK) and installed.http_api_template.is_file():
        return installed
    try:
        directory.mkdir(parents=True, exist_ok=True)
        archive = _cached_wheel(directory, wheel, download or pip_download)
        with zipfile.ZipFile(archive) as opened:
            record = _record_hashes(opened)
            write_file_atomically(
                installed.http_api_template, _member(opened, record, HTTP_API_TEMPLATE)
            )
            # Executable before it is in place: a concurrent session may run it at once.
            write_file_atomically(
                installed.emulator, _member(opened, record, member), executable=True
            )
    except (OSError, zipfile.BadZipFile) as error:
        raise RieError(f"cannot install the Lambda RIE in {directory}: {error}") from None
    return installed


def _cached_wheel(directory: Path, wheel: Wheel, download: Callable[[Wheel, Path], Path]) -> Path:
    """The wheel in the cache, downloaded to a private directory first and moved in once checked."""
    cached = directory / wheel.filename
    if cached.is_file() and sha256_file(cached) == wheel.sha256:
        return cached
    with tempfile.TemporaryDirectory(prefix=".download-", dir=directory) as staging:
        fetched = download(wheel, Path(staging))
        verify_sha256(fetched, wheel.sha256)
        os.replace(fetched, cached)
    return cached


def pip_download(wheel: Wheel, into: Path) -> Path:
    """Download the wheel with pip (its index settings apply), pip checking the pinned hash too."""
    requirements = into / "requirements.txt"
    requirements.write_text(
        f"{wheel.project}=={wheel.version} --hash=sha256:{wheel.sha256}\n", encoding="utf-8"
    )
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
    command += ["--disable-pip-version-check", "--quiet", "--dest", str(into)]
    try:
        result = subprocess.run(
            [*command, "--requirement", str(requirements)],
            capture_output=True,
            text=True,
            timeout=DOWNLOAD_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise RieError(
            f"cannot download {wheel.project} {wheel.version} (the Lambda RIE): "
            f"pip took more than {DOWNLOAD_TIMEOUT_S} s"
        ) from None
    if result.returncode != 0:
        raise RieError(
            f"cannot download {wheel.project} {wheel.version} (the Lambda RIE) with pip: "
            f"{pip_failure(result.stderr)}"
        )
    downloaded = into / wheel.filename
    if not downloaded.is_file():
        raise RieError(f"pip downloaded no {wheel.filename}")
    return downloaded


def pip_failure(stderr: str) -> str:
    """pip's reason for failing in one line: its hash report, else its error, else its last line."""
    expected = re.search(r"Expected sha256 ([0-9a-f]+)", stderr)
    got = re.search(r"Got\s+([0-9a-f]+)", stderr)
    if expected and got:
        return f"its sha256 is {got[1]}, not the pinned {expected[1]}"
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line.removeprefix("ERROR:").strip() for line in lines if line.startswith("ERROR:")]
    return (errors or lines or ["pip failed without a message"])[-1]


def sha256_file(path: Path) -> str:
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def verify_sha256(path: Path, expected: str) -> None:
    actual = sha256_file(path)
    if actual != expected:
        raise RieError(f"{path.name}: sha256 {actual} is not the pinned {expected}; not used")


def _record_hashes(wheel: zipfile.ZipFile) -> dict[str, str]:
    """The wheel's RECORD: each member's sha256, as urlsafe base64 without padding."""
    records = [name for name in wheel.namelist() if name.endswith(".dist-info/RECORD")]
    if len(records) != 1:
        raise RieError(f"the wheel has {len(records)} RECORD files, not one")
    rows = csv.reader(io.StringIO(wheel.read(records[0]).decode("utf-8")))
    return {row[0]: row[1].removeprefix("sha256=") for row in rows if len(row) >= 2 and row[1]}


def _member(wheel: zipfile.ZipFile, record: Mapping[str, str], name: str) -> bytes:
    """One member's bytes, checked against the RECORD of the (already verified) wheel."""
    try:
        data = wheel.read(name)
    except KeyError:
        raise RieError(f"the wheel has no {name}") from None
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    if record.get(name) != digest:
        raise RieError(f"{name} does not match the wheel's RECORD")
    return data

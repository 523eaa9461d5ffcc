"""The image's entry point under AWS's Lambda Runtime Interface Emulator (RIE), without Docker.

The RIE is the Runtime API and invoke front end that Lambda's container images are tested with. It
ships as a static binary inside the ``aws-sam-cli`` wheel on PyPI (with the API Gateway sample event
templates of ``sam local generate-event``), so no container runtime is needed: `ensure` downloads
the pinned wheel once with pip, checks its sha256, and extracts only the emulator and the HTTP API
(payload 2.0) event template into ``$XDG_CACHE_HOME/torchlambda/rie/<version>/``.

`image_command` reads the Dockerfile's ENTRYPOINT, CMD and ENV and translates them for this
machine: this interpreter instead of the image's, the sandbox's /tmp in a directory of its own,
MODEL_DIR at a local model. `start` runs that command under the emulator on 127.0.0.1 (ephemeral
ports for both its invoke endpoint and its Runtime API), and `Emulator.invoke` returns each answer
with the emulator's own REPORT line for it; INIT REPORT lines are collected too.

What the emulator reports, and what it does not: like Lambda, it initializes on the first invoke
of an on-demand environment; its INIT REPORT is the init's duration, while its REPORT's "Init
Duration" is not (the first invoke's Duration includes the init instead). "Max Memory Used" only
repeats AWS_LAMBDA_FUNCTION_MEMORY_SIZE: `Emulator.runtime_peak_rss_kib` measures the runtime.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import hashlib
import http.client
import io
import json
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from lambda_image.local.dockerfile import Runtime, image_runtime
from tooling.atomic import write_file_atomically
from torchlambda.contract import ENV_MODEL_DIR

APP_ROOT = Path(__file__).resolve().parents[1] / "app"  # the image's /var/task: torchlambda/


class RieError(RuntimeError):
    """The emulator cannot be fetched or started; the message is one line."""


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


# ---- API Gateway's sample event ------------------------------------------------------------------

PLACEHOLDER = re.compile(r"\{\{\{([A-Za-z0-9_]+)\}\}\}")
# The placeholders a request does not decide: `sam local generate-event`'s account and stage, and
# the domain of this project's region.
HTTP_API_DEFAULTS = {
    "account_id": "123456789012",
    "dns_suffix": "us-west-2.amazonaws.com",
    "stage": "$default",
}


def render_template(text: str, values: Mapping[str, str]) -> Any:
    """The template's JSON with every ``{{{name}}}`` replaced, as a string value, by ``values``.

    Every placeholder sits inside a JSON string, so each value is escaped as one (``sam`` inserts
    it raw). A placeholder without a value, or a value without a placeholder, is an error: a
    template that changes with the pinned wheel is noticed, not half rendered.
    """
    names = set(PLACEHOLDER.findall(text))
    if missing := sorted(names - set(values)):
        raise ValueError(f"no value for the template's {', '.join(missing)}")
    if unused := sorted(set(values) - names):
        raise ValueError(f"the template has no {', '.join(unused)}")
    rendered = PLACEHOLDER.sub(lambda match: json.dumps(values[match[1]])[1:-1], text)
    return json.loads(rendered)


def http_api_event(template: Path, method: str, path: str, body: str) -> Any:
    """A payload 2.0 event for one request, from the wheel's template (body base64, as there)."""
    values = {
        **HTTP_API_DEFAULTS,
        "method": method,
        "path": path.lstrip("/"),  # the template writes "/{{{path}}}"
        "body": base64.b64encode(body.encode("utf-8")).decode("ascii"),
    }
    return render_template(template.read_text(encoding="utf-8"), values)


# ---- The emulator's log --------------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    """One invocation's REPORT line."""

    request_id: str
    duration_ms: float
    billed_duration_ms: float
    memory_size_mb: int
    max_memory_used_mb: int  # the emulator repeats Memory Size here; it measures nothing
    init_duration_ms: float | None  # printed on the first invoke; not the init's duration here


@dataclass(frozen=True)
class InitReport:
    """One INIT REPORT line, with the phase and the runtime's status from the lines before it."""

    duration_ms: float
    phase: str | None  # "init" (the first try) or "invoke" (a retry inside an invocation)
    status: str | None  # "success" or "error" as the runtime ended init; None if it never did


REPORT_LINE = re.compile(r"^REPORT RequestId: (\S+)\s+(.*)$")
RAPID_LINE = re.compile(r"\(rapid\) INIT (START|RTDONE|REPORT)\((.*)\)\s*$")
REPORT_FIELD = re.compile(r"([A-Za-z ]+): ([0-9.]+) (ms|MB)")


def parse_report(line: str) -> Report | None:
    """The REPORT line's numbers; None for another line; ValueError if one is missing."""
    matched = REPORT_LINE.match(line.strip())
    if matched is None:
        return None
    fields = {name.strip(): float(value) for name, value, _ in REPORT_FIELD.findall(matched[2])}
    try:
        return Report(
            request_id=matched[1],
            duration_ms=fields["Duration"],
            billed_duration_ms=fields["Billed Duration"],
            memory_size_mb=int(fields["Memory Size"]),
            max_memory_used_mb=int(fields["Max Memory Used"]),
            init_duration_ms=fields.get("Init Duration"),
        )
    except KeyError as missing:
        raise ValueError(f"REPORT line without {missing}: {line.strip()!r}") from None


def _pairs(text: str) -> dict[str, str]:
    """``a: 1, b: two`` -> {"a": "1", "b": "two"}."""
    pairs = (part.partition(":") for part in text.split(","))
    return {name.strip(): value.strip() for name, _, value in pairs if value}


class LogParser:
    """Turns the emulator's lines into Reports and InitReports, one line at a time."""

    def __init__(self) -> None:
        self._phase: str | None = None
        self._status: str | None = None

    def feed(self, line: str) -> Report | InitReport | None:
        report = parse_report(line)
        if report is not None:
            return report
        matched = RAPID_LINE.search(line)
        if matched is None:
            return None
        kind, fields = matched[1], _pairs(matched[2])
        if kind == "START":
            self._phase, self._status = fields.get("phase"), None
            return None
        if kind == "RTDONE":
            self._status = fields.get("status")
            return None
        if "durationMs" not in fields:
            raise ValueError(f"INIT REPORT without durationMs: {line.strip()!r}")
        return InitReport(
            duration_ms=float(fields["durationMs"]),
            phase=fields.get("phase", self._phase),
            status=fields.get("status", self._status),
        )


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


# ---- Running it ----------------------------------------------------------------------------------

INVOKE_PATH = "/2015-03-31/functions/function/invocations"
READY_TIMEOUT_S = 10.0
REPORT_WAIT_S = 5.0  # after the answer, for the emulator's line about it
FAILED_INVOKE = re.compile(r"Invoke failed .*InvokeID=(\S+)")


@dataclass(frozen=True)
class Invocation:
    request_id: str
    status: int  # the emulator's HTTP status: 200, or 502 when the function could not answer
    headers: dict[str, str]
    body: bytes
    report: Report | None  # None when the invocation failed (an init error, a crash)

    @property
    def payload(self) -> Any:
        """The function's answer; the emulator's own plain-text answers (a timeout) are errors."""
        try:
            return json.loads(self.body)
        except ValueError:
            text = self.body[:200].decode("utf-8", "replace")
            raise RieError(f"the emulator answered {text!r}, not the function's JSON") from None


class Emulator:
    """One RIE process running one function; invocations one at a time, as in one sandbox."""

    def __init__(self, process: subprocess.Popen[str], port: int, sink: IO[str] | None) -> None:
        self.process, self.port, self.sink = process, port, sink
        self.log: list[str] = []
        self.reports: dict[str, Report] = {}  # by request id
        self.init_reports: list[InitReport] = []
        self._failed: set[str] = set()  # request ids of invocations that never ran
        self._changed = threading.Condition()
        self._one_at_a_time = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        parser = LogParser()
        for raw in self.process.stdout:
            if self.sink is not None:
                self.sink.write(raw)
            line = raw.rstrip("\n")
            try:
                record = parser.feed(line)
            except ValueError as unreadable:  # a format this module does not know: say so
                record, line = None, f"{line} [not understood: {unreadable}]"
            failed = FAILED_INVOKE.search(line)
            with self._changed:
                self.log.append(line)
                if isinstance(record, Report):
                    self.reports[record.request_id] = record
                elif isinstance(record, InitReport):
                    self.init_reports.append(record)
                if failed:
                    self._failed.add(failed[1])
                self._changed.notify_all()

    def invoke(self, event: Any, timeout: float = 120.0) -> Invocation:
        """POST the event as Lambda's Invoke API would; the answer with its REPORT line."""
        request_id = str(uuid.uuid4())  # the emulator takes it from X-Amzn-RequestId
        with self._one_at_a_time:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
            try:
                connection.request(
                    "POST",
                    INVOKE_PATH,
                    body=json.dumps(event).encode("utf-8"),
                    headers={"Content-Type": "application/json", "X-Amzn-RequestId": request_id},
                )
                response = connection.getresponse()
                headers, body = dict(response.getheaders()), response.read()
            finally:
                connection.close()
            with self._changed:
                self._changed.wait_for(
                    lambda: request_id in self.reports or request_id in self._failed,
                    timeout=REPORT_WAIT_S,
                )
                report = self.reports.get(request_id)
        return Invocation(request_id, response.status, headers, body, report)

    def wait_for_line(self, predicate: Callable[[str], bool], timeout: float) -> str | None:
        """The first log line that satisfies `predicate`, waiting up to `timeout` for it."""
        with self._changed:
            self._changed.wait_for(lambda: any(map(predicate, self.log)), timeout=timeout)
            return next(filter(predicate, self.log), None)

    def runtime_peak_rss_kib(self) -> int | None:
        """The peak resident memory (VmHWM) of the process the emulator runs (Linux only)."""
        with contextlib.suppress(OSError):  # each of the emulator's threads lists its children
            for task in Path(f"/proc/{self.process.pid}/task").iterdir():
                for child in (task / "children").read_text().split():
                    for line in Path(f"/proc/{child}/status").read_text().splitlines():
                        if line.startswith("VmHWM:"):
                            return int(line.split()[1])
        return None

    def close(self) -> None:
        """Stop the emulator (it kills the runtime); its whole process group if it lingers."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        self._reader.join(timeout=5)
        if self.process.stdout is not None:
            self.process.stdout.close()

    def __enter__(self) -> Emulator:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


def start(
    emulator: Path,
    command: FunctionCommand,
    limits: Limits,
    *,
    sink: IO[str] | None = None,
    attempts: int = 3,
) -> Emulator:
    """Run `command` under the emulator on 127.0.0.1, once it accepts connections.

    Both of the emulator's ports are picked free just before it binds them; if another process
    takes one in between, it is started again on new ones.
    """
    for attempt in range(1, attempts + 1):
        port, runtime_api = _free_port(), _free_port()
        env = {
            **command.env,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(limits.memory_mb),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(limits.timeout_s),
        }
        process = subprocess.Popen(
            [
                str(emulator),
                *("--runtime-interface-emulator-address", f"127.0.0.1:{port}"),
                *("--runtime-api-address", f"127.0.0.1:{runtime_api}"),
                *command.argv,
            ],
            cwd=command.cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            start_new_session=True,  # its own group: Ctrl-C reaches us, and close() reaches both
        )
        running = Emulator(process, port, sink)
        if _wait_until_ready(running, (port, runtime_api)):
            return running
        running.close()
        if attempt == attempts or not any("address already in use" in x for x in running.log):
            alarms = [x for x in running.log if re.search(r"\[(PANIC|FATAL|ERROR)\]", x)]
            why = (alarms or running.log or ["no output"])[-1]
            raise RieError(f"the Lambda RIE did not start (exit {process.returncode}): {why}")
    raise AssertionError("unreachable")


def _wait_until_ready(running: Emulator, ports: tuple[int, ...]) -> bool:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if running.process.poll() is not None:
            return False
        if all(_accepts(port) for port in ports):
            time.sleep(0.05)  # a bind that failed after the other succeeded ends it at once
            return running.process.poll() is None
        time.sleep(0.02)
    return False


@contextlib.contextmanager
def running_image(
    model_dir: Path, limits: Limits, *, sink: IO[str] | None = None
) -> Iterator[Emulator]:
    """The image's command for `model_dir` under the emulator (fetched on first use)."""
    installed = ensure()
    with tempfile.TemporaryDirectory(prefix="torchlambda-sandbox-") as sandbox:
        command = image_command(Path(sandbox), model_dir=model_dir)
        with start(installed.emulator, command, limits, sink=sink) as emulator:
            yield emulator

"""Running a function directory's command under the emulator on 127.0.0.1, and invoking it."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from lambda_image.local.rie.command import FunctionCommand, Limits, image_command
from lambda_image.local.rie.errors import RieError
from lambda_image.local.rie.reports import InitReport, LogParser, Report
from lambda_image.local.rie.wheel import ensure

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

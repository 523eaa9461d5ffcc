"""Local stand-ins for AWS on 127.0.0.1: what a deployed environment looks like to the ops tools."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field as dc_field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from infra.config import EnvironmentConfig
from infra.outputs import STACK_OUTPUTS

ACCOUNT = "123456789012"  # moto's default account


def stack_template(outputs: dict[str, str]) -> str:
    """A template whose only job is to publish `outputs` (moto needs at least one resource)."""
    return json.dumps(
        {
            "Resources": {"Placeholder": {"Type": "AWS::SNS::Topic"}},
            "Outputs": {name: {"Value": value} for name, value in outputs.items()},
        }
    )


def deploy_stacks(cloudformation: Any, config: EnvironmentConfig, values: dict[str, str]) -> None:
    """Create the environment's stacks, each publishing the outputs in `values` that it owns."""
    for component, names in STACK_OUTPUTS.items():
        outputs = {name: values[name] for name in names if name in values}
        if outputs:
            cloudformation.create_stack(
                StackName=config.stack_name(component), TemplateBody=stack_template(outputs)
            )


class AwsErrorServer(BaseHTTPRequestHandler):
    """Answers every AWS call with one error, counting the attempts: in the query protocol's XML
    (CloudFormation) or the JSON protocol's `__type` (CloudWatch Logs)."""

    status = 400
    code = "Throttling"
    protocol = "query"
    attempts = 0
    url = ""  # set once the server listens

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        type(self).attempts += 1
        if self.protocol == "json":
            content_type = "application/x-amz-json-1.1"
            body = json.dumps({"__type": self.code, "message": "stand-in refuses"}).encode()
        else:
            content_type = "text/xml"
            body = (
                "<ErrorResponse><Error><Type>Sender</Type>"
                f"<Code>{self.code}</Code><Message>stand-in refuses</Message>"
                "</Error><RequestId>stand-in</RequestId></ErrorResponse>"
            ).encode()
        self.send_response(self.status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def aws_error_server(
    status: int, code: str, protocol: str = "query"
) -> Iterator[type[AwsErrorServer]]:
    """A local endpoint that fails every call with `code`; yields the class holding the count."""
    fields = {"status": status, "code": code, "protocol": protocol, "attempts": 0}
    handler: type[AwsErrorServer] = type("Refusing", (AwsErrorServer,), fields)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    handler.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield handler
    finally:
        server.shutdown()
        server.server_close()


# ---- Step Functions ----------------------------------------------------------------------------
# moto cannot run a Distributed Map: this stand-in speaks the Step Functions JSON protocol
# (x-amz-json-1.0, `X-Amz-Target: AWSStepFunctions.<Operation>`) for the calls `make batch` makes,
# and runs each execution by calling the test's runner in a thread.

STATE_MACHINE_ARN = f"arn:aws:states:us-west-2:{ACCOUNT}:stateMachine:torchlambda-batch-dev"
ENDED = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})
STEP_TIMEOUT_S = 10.0  # no test waits longer for the other side of a step


class Abandoned(Exception):
    """The stand-in is closing: a runner still waiting for its next step stops here."""


@dataclass(frozen=True)
class RunResult:
    status: str  # SUCCEEDED, FAILED, TIMED_OUT or ABORTED
    error: str | None = None
    cause: str | None = None
    output: Any = None


@dataclass
class MapRun:
    arn: str
    started: float
    status: str = "RUNNING"
    counts: dict[str, int] = dc_field(default_factory=dict)


@dataclass
class Execution:
    arn: str
    name: str
    state_machine_arn: str
    input: str
    started: float
    status: str = "RUNNING"
    stopped: float | None = None
    error: str | None = None
    cause: str | None = None
    output: Any = None
    redrive_count: int = 0
    redrived: float | None = None
    redrivable: bool = True
    map_run: MapRun | None = None

    def describe(self) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "executionArn": self.arn,
            "stateMachineArn": self.state_machine_arn,
            "name": self.name,
            "status": self.status,
            "startDate": self.started,
            "input": self.input,
            "redriveCount": self.redrive_count,
        }
        optional = {
            "stopDate": self.stopped,
            "error": self.error,
            "cause": self.cause,
            "output": None if self.output is None else json.dumps(self.output),
            "redriveDate": self.redrived,
            "mapRunArn": self.map_run.arn if self.map_run else None,
        }
        answer |= {name: value for name, value in optional.items() if value is not None}
        if self.status in ENDED - {"SUCCEEDED"} and self.redrivable:
            answer["redriveStatus"] = "REDRIVABLE"
        else:
            answer["redriveStatus"] = "NOT_REDRIVABLE"
            answer["redriveStatusReason"] = f"Execution is {self.status} and cannot be redriven"
        return answer


class RunnerContext:
    """What a runner gets: the execution's input, its attempt, and ways to report progress."""

    def __init__(self, stand_in: StepFunctionsStandIn, execution: Execution) -> None:
        self.stand_in, self.execution = stand_in, execution
        self.job_input: dict[str, Any] = json.loads(execution.input)
        self.job_id = execution.name
        self.attempt = execution.redrive_count  # 0, then 1 after the first redrive, ...

    def items(self, *, total: int, succeeded: int = 0, failed: int = 0, running: int = 0) -> None:
        """Set the Distributed Map's item counts (its Map Run starts at the first call)."""
        pending = total - succeeded - failed - running
        counts = {"pending": pending, "running": running, "succeeded": succeeded,
                  "failed": failed, "timedOut": 0, "aborted": 0, "total": total,
                  "resultsWritten": succeeded + failed}  # fmt: skip
        with self.stand_in.lock:
            run = self.execution.map_run
            if run is None:
                suffix = f"{self.execution.name}:{uuid.uuid4()}"
                arn = STATE_MACHINE_ARN.replace(":stateMachine:", ":mapRun:") + f"/Score:{suffix}"
                run = self.execution.map_run = MapRun(arn, time.time())
            run.counts = counts
            run.status = "RUNNING"

    def step(self) -> None:
        """Wait until the test lets the job go on (StepFunctionsStandIn.advance): with the
        follower's pause stepping the job, each poll sees exactly one step's effect."""
        self.stand_in._wait_for_turn()


Runner = Callable[[RunnerContext], RunResult]


class StepFunctionsStandIn:
    """Executions by name, each run by `runner`; `calls` lists the operations received."""

    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self.url = ""
        self.lock = threading.Condition()
        self.executions: dict[str, Execution] = {}
        self.calls: list[str] = []
        self.failures: list[BaseException] = []
        self.threads: list[threading.Thread] = []
        self._active = 0  # runners started and not yet ended
        self._waiting = 0  # runners waiting in step()
        self._turns = 0  # steps granted and not yet taken
        self._closing = False

    # -- the test's side ------------------------------------------------------------------------

    def advance(self, seconds: float = 0.0) -> None:
        """Let one waiting runner take its next step and wait until it waits again or ends; with
        no runner waiting (or none started yet), wait briefly for the threads to move."""
        deadline = time.monotonic() + STEP_TIMEOUT_S
        with self.lock:
            if not self._waiting:
                self.lock.wait(0.005)
                return
            self._turns += 1
            self.lock.notify_all()
            while self._turns and not self._closing:
                self._wait_until(deadline, "a runner to take its step")
            while self._busy() and not self._closing:
                self._wait_until(deadline, "the runner's step to end")

    def execution(self, name: str) -> Execution:
        with self.lock:
            prefix = STATE_MACHINE_ARN.replace(":stateMachine:", ":execution:")
            return self.executions[f"{prefix}:{name}"]

    def operations(self, name: str) -> int:
        return self.calls.count(name)

    def close(self) -> None:
        with self.lock:
            self._closing = True
            self.lock.notify_all()
        for thread in self.threads:
            thread.join(STEP_TIMEOUT_S)
        alive = [thread.name for thread in self.threads if thread.is_alive()]
        assert not alive, f"runner threads still running: {alive}"
        if self.failures:
            raise self.failures[0]

    # -- the runner's side ----------------------------------------------------------------------

    def _busy(self) -> bool:
        return self._active > self._waiting

    def _wait_until(self, deadline: float, what: str) -> None:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"the Step Functions stand-in waited {STEP_TIMEOUT_S}s for {what}")
        self.lock.wait(left)

    def _wait_for_turn(self) -> None:
        deadline = time.monotonic() + STEP_TIMEOUT_S
        with self.lock:
            self._waiting += 1
            self.lock.notify_all()
            try:
                while not self._turns:
                    if self._closing:
                        raise Abandoned
                    self._wait_until(deadline, "the test to advance the job")
                self._turns -= 1
            finally:
                self._waiting -= 1
                self.lock.notify_all()

    def _run(self, execution: Execution) -> None:
        result: RunResult | None = None
        try:
            result = self.runner(RunnerContext(self, execution))
        except Abandoned:
            pass  # left RUNNING, as a job nobody follows any more
        except BaseException as error:  # the test's own bug: fail the execution, then the test
            self.failures.append(error)
            result = RunResult("FAILED", "Runner.Exception", repr(error))
        with self.lock:
            if result is not None:
                execution.status, execution.error = result.status, result.error
                execution.cause, execution.output = result.cause, result.output
                execution.stopped = time.time()
                if execution.map_run is not None:
                    execution.map_run.status = result.status
            self._active -= 1
            self.lock.notify_all()

    def _start(self, execution: Execution) -> None:
        name = f"runner {execution.name} #{execution.redrive_count}"
        thread = threading.Thread(target=self._run, args=(execution,), daemon=True, name=name)
        self.threads.append(thread)
        self._active += 1
        thread.start()

    # -- the API --------------------------------------------------------------------------------

    def call(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        handler = getattr(self, f"op_{operation}", None)
        if handler is None:
            raise StandInError("UnknownOperationException", f"{operation} is not implemented")
        with self.lock:
            self.calls.append(operation)
            answer: dict[str, Any] = handler(request)
            self.lock.notify_all()
            return answer

    def _find(self, arn: str) -> Execution:
        if arn not in self.executions:
            raise StandInError("ExecutionDoesNotExist", f"Execution Does Not Exist: '{arn}'")
        return self.executions[arn]

    def op_StartExecution(self, request: dict[str, Any]) -> dict[str, Any]:
        machine, name = request["stateMachineArn"], request["name"]
        if machine != STATE_MACHINE_ARN:
            raise StandInError("StateMachineDoesNotExist", f"no state machine {machine}")
        arn = machine.replace(":stateMachine:", ":execution:") + ":" + name
        existing = self.executions.get(arn)
        if existing is not None:
            # As Step Functions does: the same name and input while running is the same start.
            if existing.status == "RUNNING" and existing.input == request.get("input", "{}"):
                return {"executionArn": arn, "startDate": existing.started}
            raise StandInError("ExecutionAlreadyExists", f"Execution Already Exists: '{arn}'")
        execution = Execution(arn, name, machine, request.get("input", "{}"), time.time())
        self.executions[arn] = execution
        self._start(execution)
        return {"executionArn": arn, "startDate": execution.started}

    def op_DescribeExecution(self, request: dict[str, Any]) -> dict[str, Any]:
        return self._find(request["executionArn"]).describe()

    def op_ListMapRuns(self, request: dict[str, Any]) -> dict[str, Any]:
        execution = self._find(request["executionArn"])
        run = execution.map_run
        if run is None:
            return {"mapRuns": []}
        listed = {"executionArn": f"{execution.arn}/Score", "mapRunArn": run.arn,
                  "stateMachineArn": STATE_MACHINE_ARN, "startDate": run.started}  # fmt: skip
        return {"mapRuns": [listed]}

    def op_DescribeMapRun(self, request: dict[str, Any]) -> dict[str, Any]:
        runs = [e.map_run for e in self.executions.values() if e.map_run is not None]
        run = next((r for r in runs if r.arn == request["mapRunArn"]), None)
        if run is None:
            raise StandInError("ResourceNotFound", f"no Map Run {request['mapRunArn']}")
        execution = next(e for e in self.executions.values() if e.map_run is run)
        return {"mapRunArn": run.arn, "executionArn": execution.arn, "status": run.status,
                "startDate": run.started, "maxConcurrency": 0, "toleratedFailurePercentage": 0.0,
                "toleratedFailureCount": 0, "itemCounts": run.counts,
                "executionCounts": run.counts}  # fmt: skip

    def op_RedriveExecution(self, request: dict[str, Any]) -> dict[str, Any]:
        execution = self._find(request["executionArn"])
        if execution.status not in ENDED - {"SUCCEEDED"} or not execution.redrivable:
            raise StandInError(
                "ExecutionNotRedrivable",
                f"Execution is {execution.status} and cannot be redriven",
            )
        execution.status, execution.stopped = "RUNNING", None
        execution.error = execution.cause = None
        execution.redrive_count += 1
        execution.redrived = time.time()
        self._start(execution)
        return {"redriveDate": execution.redrived}


class StandInError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class StepFunctionsHandler(BaseHTTPRequestHandler):
    stand_in: StepFunctionsStandIn

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        target = self.headers.get("x-amz-target", "")
        service, _, operation = target.partition(".")
        try:
            if service != "AWSStepFunctions":
                raise StandInError("UnknownOperationException", f"no target {target!r}")
            status, answer = 200, self.stand_in.call(operation, json.loads(body or b"{}"))
        except StandInError as error:
            status, answer = 400, {"__type": error.code, "message": str(error)}
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("content-type", "application/x-amz-json-1.0")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def step_functions(runner: Runner) -> Iterator[StepFunctionsStandIn]:
    """A Step Functions endpoint on 127.0.0.1 running executions with `runner`; point boto3 at
    it with AWS_ENDPOINT_URL_SFN (the service's own variable outranks AWS_ENDPOINT_URL)."""
    stand_in = StepFunctionsStandIn(runner)
    handler = type("StepFunctions", (StepFunctionsHandler,), {"stand_in": stand_in})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    stand_in.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield stand_in
    finally:
        server.shutdown()
        server.server_close()
        stand_in.close()

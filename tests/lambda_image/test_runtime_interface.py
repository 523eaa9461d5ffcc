"""The image's command, ``python -m awslambdaric torchlambda.handler.handler``, under AWS's Lambda
Runtime Interface Emulator (RIE): the Runtime API that Lambda's container images are tested with.

This is what catches Runtime.ImportModuleError (a module missing from the function directory, a
wrong handler name) and init errors before a deploy: the function directory is laid out by
replaying the Dockerfile's COPY steps, and the command and its environment are the Dockerfile's
ENTRYPOINT, CMD and ENV, translated by `lambda_image.local.rie`. The emulator is pinned there and
downloaded once per machine (a session fixture); one warm emulator serves every test of the
working model, and the inits of the functions this module starts (seconds of torch import each)
run at the same time. Two of them are configured for the s3 source, as the CDK configures it:
they download the build from the session's moto at init.

The RIE answers a function error (the runtime's POST to /invocation/{id}/error) exactly as it
answers a response whose payload looks like one, so `runtime_api.RuntimeApi`, a stand-in for the
Runtime API, shows which of the two the handler sends; the last test shows why it is needed.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from lambda_image.local import rie
from tests.lambda_image.conftest import http_event
from tests.lambda_image.dockerfile_layout import lay_out
from tests.lambda_image.lambda_models import write_model
from tests.lambda_image.runtime_api import RuntimeApi
from torchlambda import contract
from torchlambda.predictor.digest import sha256_file

REPO = Path(__file__).resolve().parents[2]
LAMBDA_IMAGE = REPO / "lambda_image"
EVENTS = LAMBDA_IMAGE / "events"
IMAGE_PYTHON = "/opt/venv/bin/python"
INIT_TIMEOUT_S = rie.LOCAL_TIMEOUT_S  # a cold torch import on a loaded 2-core machine
Body = dict[str, Any]
# Each repository event's status code, and what its body must say.
EXPECTED: dict[str, tuple[int, Callable[[Body], bool]]] = {
    "bad-x.json": (400, lambda body: body["error"]["code"] == "invalid_x"),
    "book-test-event.json": (200, lambda body: body["x"] == 42.0 and isinstance(body["y"], float)),
    "health.json": (200, lambda body: body["status"] == "ok" and body["torch"]),
    "predict-get.json": (200, lambda body: body["x"] == 42.0 and isinstance(body["y"], float)),
    "predict-post-batch.json": (200, lambda body: len(body["y"]) == 3),
    "predict-post-scalar.json": (200, lambda body: isinstance(body["y"], float)),
}

MODEL_BUCKET = "torchlambda-artifacts-runtime-interface-test"

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def tampered_model(directory: Path) -> Path:
    """A model whose weights are not the ones its card records."""
    write_model(directory)
    other = write_model(directory.with_name(directory.name + "-other"), seed=1)
    shutil.copy2(other / contract.WEIGHTS_FILE, directory / contract.WEIGHTS_FILE)
    return directory


@dataclass
class Started:
    emulator: rie.Emulator
    first: Future[rie.Invocation]  # the first invocation: on demand, it runs the init


@dataclass
class StandIn:
    api: RuntimeApi
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)
        self.api.stop()


def start_stand_in(command: rie.FunctionCommand, limits: rie.Limits, log: Path) -> StandIn:
    """The command against the Runtime API stand-in, with the variables Lambda would set."""
    api = RuntimeApi().start()
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command.argv,
            cwd=command.cwd,
            env={
                **command.env,
                "AWS_LAMBDA_RUNTIME_API": api.address,
                "AWS_LAMBDA_FUNCTION_NAME": "test",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(limits.memory_mb),
                "AWS_REGION": "us-east-1",
            },
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    return StandIn(api, process, log)


@pytest.fixture(scope="session")
def installed() -> rie.Installed:
    """The pinned emulator and the gateway's event template, downloaded once per machine."""
    try:
        return rie.ensure()
    except rie.RieError as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture(scope="module")
def limits() -> rie.Limits:
    return rie.deployed_limits()


@pytest.fixture(scope="module")
def background() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="first-invoke") as pool:
        yield pool


def start_function(
    installed: rie.Installed,
    limits: rie.Limits,
    workspace: Path,
    model: Path,
    pool: ThreadPoolExecutor,
    *,
    env: dict[str, str] | None = None,
) -> Started:
    """The image with `model` baked in, and `env` added to its variables as a function's
    configuration adds them."""
    _, command = lay_out(workspace, model)
    command = dataclasses.replace(command, env={**command.env, **(env or {})})
    emulator = rie.start(installed.emulator, command, limits)
    first = pool.submit(emulator.invoke, json.loads((EVENTS / "health.json").read_text()))
    return Started(emulator, first)


def function_with(
    model: Callable[[Path], Path],
    request: pytest.FixtureRequest,
    background: ThreadPoolExecutor,
) -> Iterator[Started]:
    """The image with the model `model` writes, started under the emulator for the module."""
    installed = request.getfixturevalue("installed")
    limits = request.getfixturevalue("limits")
    workspace = request.getfixturevalue("tmp_path_factory").mktemp(model.__name__)
    started = start_function(installed, limits, workspace, model(workspace / "model"), background)
    yield started
    started.emulator.close()


@pytest.fixture(scope="module")
def function(request: pytest.FixtureRequest, background: ThreadPoolExecutor) -> Iterator[Started]:
    """The image with a working model, warm after its first invocation, shared by the tests."""
    yield from function_with(write_model, request, background)


@pytest.fixture(scope="module")
def tampered(request: pytest.FixtureRequest, background: ThreadPoolExecutor) -> Iterator[Started]:
    """The image with weights other than its card's: its first invocation is an init error."""
    yield from function_with(tampered_model, request, background)


@dataclass(frozen=True)
class PublishedBuild:
    """A build in the session's moto, and what a function needs to reach it."""

    endpoint: str
    prefix: str
    sha256: str
    other_sha256: str  # the weights of the model baked into the image beside it

    def environment(self, sandbox_tmp: Path, sha256: str) -> dict[str, str]:
        """What the CDK sets for the s3 source, and credentials for moto alone."""
        return {
            contract.ENV_MODEL_SOURCE: "s3",
            contract.ENV_MODEL_BUCKET: MODEL_BUCKET,
            contract.ENV_MODEL_PREFIX: self.prefix,
            contract.ENV_MODEL_SHA256: sha256,
            contract.ENV_MODEL_DIR: str(sandbox_tmp / "model"),  # /tmp/model in the sandbox
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
        }


@pytest.fixture(scope="module")
def published_build(moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> PublishedBuild:
    """The working model (the `function` fixture's) published to moto as training publishes it."""
    workspace = tmp_path_factory.mktemp("published")
    model, other = write_model(workspace / "model"), write_model(workspace / "other", seed=1)
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    s3 = session.client("s3", endpoint_url=moto_endpoint)
    s3.create_bucket(Bucket=MODEL_BUCKET)
    prefix = contract.model_prefix("test", "build-1")
    for name in (contract.CARD_FILE, contract.WEIGHTS_FILE):
        s3.put_object(Bucket=MODEL_BUCKET, Key=prefix + name, Body=(model / name).read_bytes())
    return PublishedBuild(
        moto_endpoint,
        prefix,
        sha256_file(model / contract.WEIGHTS_FILE),
        sha256_file(other / contract.WEIGHTS_FILE),
    )


def function_with_the_model_in_s3(
    request: pytest.FixtureRequest, background: ThreadPoolExecutor, *, pinned_right: bool
) -> Iterator[Started]:
    """The image with another model baked in, configured to download the published build."""
    build: PublishedBuild = request.getfixturevalue("published_build")
    workspace = request.getfixturevalue("tmp_path_factory").mktemp("s3-source")
    baked = write_model(workspace / "baked", seed=1)
    sha256 = build.sha256 if pinned_right else build.other_sha256
    started = start_function(
        request.getfixturevalue("installed"),
        request.getfixturevalue("limits"),
        workspace,
        baked,
        background,
        env=build.environment(workspace / "tmp", sha256),
    )
    yield started
    started.emulator.close()


@pytest.fixture(scope="module")
def from_s3(request: pytest.FixtureRequest, background: ThreadPoolExecutor) -> Iterator[Started]:
    yield from function_with_the_model_in_s3(request, background, pinned_right=True)


@pytest.fixture(scope="module")
def pinned_wrong(
    request: pytest.FixtureRequest, background: ThreadPoolExecutor
) -> Iterator[Started]:
    """Pinned to the baked model's weights, not the published build's: an init error."""
    yield from function_with_the_model_in_s3(request, background, pinned_right=False)


@pytest.fixture(scope="module")
def stand_in(limits: rie.Limits, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandIn]:
    """The image with a working model, against the Runtime API stand-in."""
    workspace = tmp_path_factory.mktemp("stand-in")
    _, command = lay_out(workspace, write_model(workspace / "model"))
    started = start_stand_in(command, limits, workspace / "function.log")
    yield started
    started.stop()


@pytest.fixture(scope="module")
def invoke_tool(
    installed: rie.Installed, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[subprocess.Popen[str]]:
    """``python -m lambda_image.local.invoke --rie`` on GET /predict?x=42, with a fixture model
    (the emulator already in the cache, which the tool shares)."""
    model = write_model(tmp_path_factory.mktemp("invoke") / "model")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lambda_image.local.invoke",
            "--rie",
            str(EVENTS / "predict-get.json"),
        ],
        cwd=REPO,
        env={**os.environ, contract.ENV_MODEL_DIR: str(model)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    yield process
    if process.poll() is None:
        process.kill()
    process.wait(timeout=10)


@pytest.fixture(scope="module", autouse=True)
def _inits_overlap(request: pytest.FixtureRequest) -> None:
    """Start each function the selected tests use before the first of them runs: their inits
    (a torch import each) then overlap instead of adding up."""
    used = {
        name
        for item in request.session.items
        if getattr(item, "module", None) is request.module
        for name in getattr(item, "fixturenames", ())
    }
    for name in ("function", "tampered", "from_s3", "pinned_wrong", "stand_in", "invoke_tool"):
        if name in used:
            request.getfixturevalue(name)


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: Body


def answer(emulator: rie.Emulator, event: Any) -> Answer:
    return answer_of(emulator, emulator.invoke(event, timeout=INIT_TIMEOUT_S))


def answer_of(emulator: rie.Emulator, invocation: rie.Invocation) -> Answer:
    log = "\n".join(emulator.log[-20:])
    assert invocation.status == 200 and invocation.report is not None, (invocation, log)
    payload = invocation.payload
    assert isinstance(payload, dict) and "statusCode" in payload, (payload, log)
    return Answer(payload["statusCode"], payload["headers"], json.loads(payload["body"]))


def test_the_image_command_is_the_runtime_interface_client_running_the_handler(
    tmp_path: Path,
) -> None:
    image, command = lay_out(tmp_path, write_model(tmp_path / "fixture"))
    assert image.command == [IMAGE_PYTHON, "-m", "awslambdaric", contract.HANDLER]
    assert (image.workdir / "torchlambda" / "handler.py").is_file()
    assert (image.workdir / "torchlambda" / "predictor" / "artifact.py").is_file()
    assert (
        Path(image.env["MODEL_DIR"]) == Path("/") / image.workdir.relative_to(image.root) / "model"
    )
    # Here: this interpreter, in the laid-out directory, the model where MODEL_DIR points there.
    assert command.argv == [sys.executable, "-m", "awslambdaric", contract.HANDLER]
    assert command.cwd == image.workdir == Path(command.env["LAMBDA_TASK_ROOT"])
    assert Path(command.env["MODEL_DIR"]) == image.workdir / "model"
    assert Path(command.env["HOME"]) == tmp_path / "tmp"


def test_init_runs_once_on_the_first_invocation_and_is_reported(
    function: Started, limits: rie.Limits
) -> None:
    first = answer_of(function.emulator, function.first.result(timeout=INIT_TIMEOUT_S))
    assert first.status == 200 and first.body["status"] == "ok"
    answer(function.emulator, http_event("GET", "/health"))
    (init,) = function.emulator.init_reports
    assert init.phase == "init" and init.status == "success" and init.duration_ms > 0
    report = function.first.result().report
    assert report is not None and report.memory_size_mb == limits.memory_mb
    peak = function.emulator.runtime_peak_rss_kib()  # torch and the model: well over 50 MiB
    assert peak is not None and peak > 50 * 1024


@pytest.mark.parametrize("event_file", sorted(EVENTS.glob("*.json")), ids=lambda p: p.name)
def test_each_repository_event_gets_its_answer(function: Started, event_file: Path) -> None:
    assert event_file.name in EXPECTED, f"say what {event_file.name} should get in EXPECTED"
    status, holds = EXPECTED[event_file.name]
    got = answer(function.emulator, json.loads(event_file.read_text(encoding="utf-8")))
    assert got.status == status and holds(got.body), got
    assert got.headers["content-type"] == "application/json"
    if status == 200:
        assert got.headers["x-model-version"] == got.body["model_version"]


def test_get_predict_through_the_runtime_interface(function: Started) -> None:
    got = answer(function.emulator, http_event("GET", "/predict?x=42"))
    assert got.status == 200
    assert got.body["x"] == 42.0 and isinstance(got.body["y"], float)
    assert got.headers["x-model-version"] == got.body["model_version"]
    assert got.headers["content-type"] == "application/json"


def test_post_predict_batch_and_scalar(function: Started) -> None:
    batch = answer(function.emulator, http_event("POST", "/predict", b'{"x": [1, 2.5, 3]}'))
    assert batch.status == 200 and len(batch.body["y"]) == 3
    scalar = answer(function.emulator, http_event("POST", "/predict", b'{"x": 2.5}'))
    assert scalar.status == 200 and scalar.body["y"] == pytest.approx(batch.body["y"][1], rel=1e-5)


def test_bad_input_is_a_400_and_an_unknown_route_a_404(function: Started) -> None:
    got = answer(function.emulator, http_event("GET", "/predict?x=abc"))
    assert got.status == 400 and got.body["error"]["code"] == "invalid_x"
    assert answer(function.emulator, http_event("DELETE", "/nowhere")).status == 404


def test_the_gateways_own_sample_event_reaches_post_predict(
    function: Started, installed: rie.Installed
) -> None:
    event = rie.http_api_event(
        installed.http_api_template, "POST", "/predict", '{"x": [1, 2.5, 3]}'
    )
    assert event["version"] == "2.0" and event["isBase64Encoded"] is True
    got = answer(function.emulator, event)
    assert got.status == 200
    direct = answer(function.emulator, http_event("POST", "/predict", b'{"x": [1, 2.5, 3]}'))
    assert got.body == direct.body


def test_an_invalid_request_in_the_gateways_sample_event_is_a_json_400(
    function: Started, installed: rie.Installed
) -> None:
    event = rie.http_api_event(installed.http_api_template, "POST", "/predict", "x=1")
    got = answer(function.emulator, event)
    assert got.status == 400 and got.headers["content-type"] == "application/json"
    assert got.body["error"]["code"] == "invalid_json" and got.body["error"]["message"]


def test_a_model_other_than_the_recorded_one_is_an_init_error(tampered: Started) -> None:
    invocation = tampered.first.result(timeout=INIT_TIMEOUT_S)
    log = "\n".join(tampered.emulator.log)
    # As Lambda's Invoke API reports it: the init error's type and message are the payload.
    error = invocation.payload
    assert error.get("errorType") == "InitError", (invocation, log)
    assert "does not match the model card" in error["errorMessage"]
    # In the emulator's log: the runtime ended init with an error and exited.
    assert tampered.emulator.wait_for_line(lambda line: "exit status 1" in line, timeout=10), log
    assert [(r.phase, r.status) for r in tampered.emulator.init_reports][:1] == [("init", "error")]
    # The function's own log: one line that names the problem.
    init_lines = [line for line in tampered.emulator.log if '"init failed' in line]
    assert len(init_lines) == 1 and "sha256" in init_lines[0]


def test_a_model_in_s3_is_downloaded_at_init_and_served_as_the_image_serves_it(
    function: Started, from_s3: Started
) -> None:
    image = answer_of(function.emulator, function.first.result(timeout=INIT_TIMEOUT_S))
    first = answer_of(from_s3.emulator, from_s3.first.result(timeout=INIT_TIMEOUT_S))
    version = image.body["model_version"]
    assert first.status == 200 and first.body["model_version"] == version
    got = answer(from_s3.emulator, http_event("GET", "/predict?x=42"))
    assert got.status == 200 and got.body["model_version"] == version
    assert got.headers["x-model-version"] == version
    (loaded,) = [line for line in from_s3.emulator.log if '"model loaded' in line]
    assert '"model_source":"s3"' in loaded and '"download_mb_per_s"' in loaded


def test_a_model_in_s3_with_another_sha256_than_the_pin_is_an_init_error(
    pinned_wrong: Started,
) -> None:
    invocation = pinned_wrong.first.result(timeout=INIT_TIMEOUT_S)
    log = "\n".join(pinned_wrong.emulator.log)
    error = invocation.payload
    assert error.get("errorType") == "InitError", (invocation, log)
    assert "refusing to serve a model other than the pinned one" in error["errorMessage"]
    init_lines = [line for line in pinned_wrong.emulator.log if '"init failed' in line]
    assert len(init_lines) == 1 and "model.json records sha256" in init_lines[0], log


def test_the_invoke_tool_answers_through_the_emulator_and_shows_its_report(
    invoke_tool: subprocess.Popen[str],
) -> None:
    out, err = invoke_tool.communicate(timeout=INIT_TIMEOUT_S)
    assert invoke_tool.returncode == 0, err
    response = json.loads(out)
    assert response["statusCode"] == 200 and json.loads(response["body"])["x"] == 42.0
    assert "INIT REPORT(durationMs: " in err and "\nREPORT RequestId: " in err, err


def test_every_answer_is_a_response_never_a_function_error(stand_in: StandIn) -> None:
    # A function error would reach API Gateway's client as a bare 500: every answer, bad input
    # included, must be posted to /invocation/{id}/response. Only the stand-in shows which.
    events = [
        json.loads((EVENTS / "bad-x.json").read_text(encoding="utf-8")),
        http_event("DELETE", "/nowhere"),
        http_event("POST", "/predict", b"{not json"),
        [1, 2],
        http_event("GET", "/predict?x=42"),
    ]
    for event in events:
        report = stand_in.api.invoke(event, timeout=INIT_TIMEOUT_S)
        assert report.kind == "response", (event, report, stand_in.log.read_text())
        assert report.body["statusCode"] in (200, 400, 404), report


HANDLERS = """
def fails(event, context):
    raise ValueError("boom")


def looks_like_an_error(event, context):
    return {"errorMessage": "boom", "errorType": "ValueError"}
"""


def test_only_the_stand_in_tells_a_function_error_from_a_response(
    installed: rie.Installed, limits: rie.Limits, tmp_path: Path
) -> None:
    (tmp_path / "handlers.py").write_text(HANDLERS, encoding="utf-8")
    (tmp_path / "tmp").mkdir()
    emulator_saw, stand_in_saw = {}, {}
    for name in ("fails", "looks_like_an_error"):
        command = rie.image_command(
            tmp_path / "tmp", function_root=tmp_path, handler=f"handlers.{name}"
        )
        with rie.start(installed.emulator, command, limits) as emulator:
            invocation = emulator.invoke({}, timeout=60)
        emulator_saw[name] = (
            invocation.status,
            sorted(header.lower() for header in invocation.headers),
            invocation.payload["errorType"],
        )
        stand_in = start_stand_in(command, limits, tmp_path / f"{name}.log")
        try:
            stand_in_saw[name] = stand_in.api.invoke({}, timeout=60).kind
        finally:
            stand_in.stop()
    assert emulator_saw["fails"] == emulator_saw["looks_like_an_error"], emulator_saw
    assert stand_in_saw == {"fails": "error", "looks_like_an_error": "response"}

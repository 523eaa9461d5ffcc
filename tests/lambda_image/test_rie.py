"""`lambda_image.local.rie` without the emulator: its log parsing, the sample event's rendering,
the translated image command, and the pinned download (a fake wheel and a fake pip)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import zipfile
from pathlib import Path

import pytest

from lambda_image.local import rie
from lambda_image.local.dockerfile import runtime, stages

# Lines as the pinned emulator prints them (tabs included).
FIRST_REPORT = (
    "REPORT RequestId: 88dc2712-1bd0-4072-b33d-777be020fac6\tInit Duration: 0.22 ms\t"
    "Duration: 2848.04 ms\tBilled Duration: 2849 ms\tMemory Size: 1769 MB\t"
    "Max Memory Used: 1769 MB\t\n"
)
WARM_REPORT = (
    "REPORT RequestId: 6f844a3b-aeef-4f0f-b32d-1398e1662b87\tDuration: 1.64 ms\t"
    "Billed Duration: 2 ms\tMemory Size: 1769 MB\tMax Memory Used: 1769 MB\t\n"
)
RAPID = "21 Nov 2026 17:42:04,238 [INFO] (rapid) "
SUCCESSFUL_INIT = [
    RAPID + "INIT START(type: on-demand, phase: init)",
    '{"level":"INFO","message":"model loaded"}',
    RAPID + "INIT RTDONE(status: success)",
    RAPID + "INIT REPORT(durationMs: 2845.933000)",
    RAPID + "INVOKE RTDONE(status: success, produced bytes: 0, duration: 1.940000ms)",
]
FAILED_INIT = [
    RAPID + "INIT START(type: on-demand, phase: init)",
    RAPID + "INIT RTDONE(status: error)",
    RAPID + "INIT REPORT(durationMs: 2597.394000)",
    RAPID.replace("INFO", "ERROR") + "Init failed error=Runtime exited with error: exit status 1",
    RAPID + "INIT START(type: on-demand, phase: invoke)",
    RAPID + "INIT REPORT(durationMs: 0.060000)",
]
PIP_HASH_MISMATCH = """\
ERROR: THESE PACKAGES DO NOT MATCH THE HASHES FROM THE REQUIREMENTS FILE. If you have updated \
the package versions, please update the hashes. Otherwise, examine the package contents \
carefully; someone may have tampered with them.
    aws-sam-cli==1.170.0 from https://files.pythonhosted.org/packages/aws_sam_cli-1.170.0-py3-none\
-any.whl (from -r req.txt (line 1)):
        Expected sha256 0000000000000000000000000000000000000000000000000000000000000000
             Got        24ebaf5ecba38dc1758089968cb89ab61e124b84e92a344fc7a2771a47f4d0bf

"""
TEMPLATE = """{
  "version": "2.0",
  "rawPath": "/{{{path}}}",
  "requestContext": {
    "accountId": "{{{account_id}}}",
    "domainName": "id.execute-api.{{{dns_suffix}}}",
    "http": {"method": "{{{method}}}", "path": "/{{{path}}}"},
    "stage": "{{{stage}}}"
  },
  "body": "{{{body}}}",
  "isBase64Encoded": true
}"""


def test_a_report_line_gives_its_durations_and_memory() -> None:
    first, warm = rie.parse_report(FIRST_REPORT), rie.parse_report(WARM_REPORT)
    assert first == rie.Report(
        request_id="88dc2712-1bd0-4072-b33d-777be020fac6",
        duration_ms=2848.04,
        billed_duration_ms=2849,
        memory_size_mb=1769,
        max_memory_used_mb=1769,
        init_duration_ms=0.22,
    )
    assert warm is not None and warm.duration_ms == 1.64 and warm.init_duration_ms is None
    assert rie.parse_report("END RequestId: 6f844a3b-aeef-4f0f-b32d-1398e1662b87") is None


def test_a_report_line_without_a_duration_is_an_error_not_a_zero() -> None:
    with pytest.raises(ValueError, match="Duration"):
        rie.parse_report("REPORT RequestId: abc\tBilled Duration: 2 ms\tMemory Size: 1769 MB")


def parse(lines: list[str]) -> list[rie.Report | rie.InitReport]:
    parser = rie.LogParser()
    return [record for line in lines if (record := parser.feed(line)) is not None]


def test_an_init_report_carries_its_phase_and_the_runtimes_status() -> None:
    assert parse([*SUCCESSFUL_INIT, FIRST_REPORT]) == [
        rie.InitReport(duration_ms=2845.933, phase="init", status="success"),
        rie.parse_report(FIRST_REPORT),
    ]
    # A failed init, then the emulator's retry inside the invocation, which never reached the
    # runtime: no status of its own.
    assert [(r.phase, r.status) for r in parse(FAILED_INIT) if isinstance(r, rie.InitReport)] == [
        ("init", "error"),
        ("invoke", None),
    ]


def test_an_init_report_that_says_its_own_status_is_read_as_it_says() -> None:
    line = RAPID + (
        "INIT REPORT(initType: on-demand, durationMs: 12.50, status: error, phase: init, "
        "errorType: Runtime.ExitError)"
    )
    assert parse([line]) == [rie.InitReport(duration_ms=12.5, phase="init", status="error")]


def test_the_template_is_rendered_with_every_value_escaped_as_a_json_string() -> None:
    values = {
        **rie.HTTP_API_DEFAULTS,
        "path": "predict",
        "method": "POST",
        "body": 'a "quoted" \\ line\n',
    }
    event = rie.render_template(TEMPLATE, values)
    assert event["body"] == 'a "quoted" \\ line\n'
    assert event["rawPath"] == event["requestContext"]["http"]["path"] == "/predict"
    assert event["requestContext"]["stage"] == "$default"


def test_a_placeholder_without_a_value_or_a_value_without_a_placeholder_is_an_error() -> None:
    values = {**rie.HTTP_API_DEFAULTS, "path": "p", "method": "GET", "body": ""}
    with pytest.raises(ValueError, match="no value for the template's method"):
        rie.render_template(TEMPLATE, {k: v for k, v in values.items() if k != "method"})
    with pytest.raises(ValueError, match="the template has no cookie"):
        rie.render_template(TEMPLATE, {**values, "cookie": "c"})


def test_the_sample_event_for_a_request_targets_its_route_with_a_base64_body(
    tmp_path: Path,
) -> None:
    template = tmp_path / "HttpApi.json"
    template.write_text(TEMPLATE, encoding="utf-8")
    event = rie.http_api_event(template, "POST", "/predict", '{"x": [1, 2.5]}')
    assert event["rawPath"] == "/predict" and event["requestContext"]["http"]["method"] == "POST"
    assert event["isBase64Encoded"] is True
    assert json.loads(base64.b64decode(event["body"])) == {"x": [1, 2.5]}


DOCKERFILE = """\
FROM base AS build
ENV BUILD_ONLY=1
FROM base
ENV MODEL_DIR=/var/task/model HOME=/tmp \\
    XDG_CACHE_HOME=/tmp/.cache GREETING="two words" THREADS=1
WORKDIR /var/task
ENTRYPOINT ["/opt/venv/bin/python3.12", "-m", "awslambdaric"]
CMD ["pkg.handler.handler"]
"""


def test_the_image_command_runs_here_with_this_interpreter_and_the_images_env(
    tmp_path: Path,
) -> None:
    image = runtime(stages(DOCKERFILE)[-1])
    command = rie.image_command(
        tmp_path / "tmp", function_root=tmp_path / "task", runtime=image, python="/here/python"
    )
    assert command.argv == ["/here/python", "-m", "awslambdaric", "pkg.handler.handler"]
    assert command.cwd == tmp_path / "task"
    assert command.env["MODEL_DIR"] == str(tmp_path / "task" / "model")
    assert command.env["HOME"] == str(tmp_path / "tmp")
    assert command.env["XDG_CACHE_HOME"] == str(tmp_path / "tmp" / ".cache")
    assert command.env["GREETING"] == "two words" and command.env["THREADS"] == "1"
    assert command.env["LAMBDA_TASK_ROOT"] == str(tmp_path / "task")
    assert "BUILD_ONLY" not in command.env


def test_a_model_dir_and_a_handler_replace_the_images(tmp_path: Path) -> None:
    image = runtime(stages(DOCKERFILE)[-1])
    command = rie.image_command(
        tmp_path, runtime=image, model_dir=tmp_path / "m", handler="floor.handler", python="py"
    )
    assert command.argv == ["py", "-m", "awslambdaric", "floor.handler"]
    assert command.env["MODEL_DIR"] == str(tmp_path / "m")
    # The command runs in the function's directory: a relative model directory would be lost.
    relative = rie.image_command(tmp_path, runtime=image, model_dir=Path("lambda_image/model"))
    assert relative.env["MODEL_DIR"] == str(Path.cwd() / "lambda_image" / "model")


def test_an_image_that_does_not_start_python_is_refused(tmp_path: Path) -> None:
    image = runtime(stages(DOCKERFILE.replace("/opt/venv/bin/python3.12", "/bootstrap"))[-1])
    with pytest.raises(rie.RieError, match="does not start with a Python interpreter"):
        rie.image_command(tmp_path, runtime=image)


def test_the_cache_is_under_xdg_cache_home_or_home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", "/somewhere/cache")
    assert rie.cache_dir() == Path("/somewhere/cache/torchlambda/rie") / rie.SAM_CLI.version
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")  # the XDG spec says: ignore it
    assert rie.cache_dir() == Path.home() / ".cache/torchlambda/rie" / rie.SAM_CLI.version


# ---- The download, with a wheel built here -----------------------------------------------------

MEMBERS = {
    rie.EMULATORS["x86_64"]: b"\x7fELF an emulator",
    rie.HTTP_API_TEMPLATE: TEMPLATE.encode(),
}


def record_hash(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def build_wheel(path: Path, members: dict[str, bytes], record: dict[str, bytes]) -> rie.Wheel:
    """A wheel holding `members`, whose RECORD lists the hashes of `record`'s contents."""
    with zipfile.ZipFile(path, "w") as wheel:
        for name, data in members.items():
            wheel.writestr(name, data)
        rows = [f"{name},sha256={record_hash(data)},{len(data)}" for name, data in record.items()]
        wheel.writestr("aws_sam_cli-0.0.0.dist-info/RECORD", "\n".join(rows) + "\n")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return rie.Wheel("aws-sam-cli", "0.0.0", "aws_sam_cli-0.0.0-py3-none-any.whl", digest)


class FakePip:
    """Stands in for `rie.pip_download`: hands over a prepared file, counting the calls."""

    def __init__(self, source: Path) -> None:
        self.source, self.calls = source, 0

    def __call__(self, wheel: rie.Wheel, into: Path) -> Path:
        self.calls += 1
        target = into / wheel.filename
        target.write_bytes(self.source.read_bytes())
        return target


def test_the_pinned_wheel_is_fetched_once_and_only_its_two_files_are_kept(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path / "built.whl", {**MEMBERS, "samcli/other.py": b""}, MEMBERS)
    fetch, cache = FakePip(tmp_path / "built.whl"), tmp_path / "cache"
    installed = rie.ensure(cache, wheel, fetch, machine="x86_64")
    assert installed.emulator.read_bytes() == MEMBERS[rie.EMULATORS["x86_64"]]
    assert installed.emulator.stat().st_mode & stat.S_IXUSR
    assert installed.http_api_template.read_text(encoding="utf-8") == TEMPLATE
    assert sorted(p.name for p in cache.iterdir()) == sorted(
        [wheel.filename, "aws-lambda-rie-x86_64", "HttpApi.json"]
    )
    assert rie.ensure(cache, wheel, fetch, machine="x86_64") == installed
    installed.emulator.unlink()  # extracted again from the cached wheel, not downloaded again
    rie.ensure(cache, wheel, fetch, machine="x86_64")
    assert fetch.calls == 1 and os.access(installed.emulator, os.X_OK)


def test_a_download_with_another_hash_is_one_line_and_leaves_nothing(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path / "built.whl", MEMBERS, MEMBERS)
    (tmp_path / "tampered.whl").write_bytes((tmp_path / "built.whl").read_bytes() + b"\0")
    cache = tmp_path / "cache"
    with pytest.raises(rie.RieError) as refused:
        rie.ensure(cache, wheel, FakePip(tmp_path / "tampered.whl"), machine="x86_64")
    message = str(refused.value)
    assert "\n" not in message and f"is not the pinned {wheel.sha256}" in message
    assert list(cache.iterdir()) == []


def test_a_member_that_does_not_match_the_wheels_record_is_refused(tmp_path: Path) -> None:
    lying = {**MEMBERS, rie.EMULATORS["x86_64"]: b"something else"}
    wheel = build_wheel(tmp_path / "built.whl", MEMBERS, lying)
    with pytest.raises(rie.RieError, match="does not match the wheel's RECORD"):
        rie.ensure(tmp_path / "cache", wheel, FakePip(tmp_path / "built.whl"), machine="x86_64")
    assert not (tmp_path / "cache" / "aws-lambda-rie-x86_64").exists()


def test_a_machine_without_an_emulator_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(rie.RieError, match=r"no Lambda RIE for this machine \(riscv64\)"):
        rie.ensure(tmp_path, machine="riscv64")


def test_pips_failures_become_one_line() -> None:
    assert rie.pip_failure(PIP_HASH_MISMATCH) == (
        "its sha256 is 24ebaf5ecba38dc1758089968cb89ab61e124b84e92a344fc7a2771a47f4d0bf, "
        "not the pinned 0000000000000000000000000000000000000000000000000000000000000000"
    )
    offline = (
        "WARNING: Retrying (Retry(total=4)) after connection broken\n"
        "ERROR: Could not find a version that satisfies the requirement aws-sam-cli==1.170.0\n"
        "ERROR: No matching distribution found for aws-sam-cli==1.170.0\n"
    )
    assert rie.pip_failure(offline) == "No matching distribution found for aws-sam-cli==1.170.0"
    assert rie.pip_failure("") == "pip failed without a message"

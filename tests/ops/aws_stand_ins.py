"""Local stand-ins for AWS on 127.0.0.1: what a deployed environment looks like to the ops tools."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
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
    handler = type("Refusing", (AwsErrorServer,), fields)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    handler.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield handler
    finally:
        server.shutdown()
        server.server_close()

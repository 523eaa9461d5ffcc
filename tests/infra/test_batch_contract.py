"""The documents the state machine hands its functions, from the synthesized definition itself.

moto cannot run a Distributed Map, so this walks the dev definition's data flow by hand: each
state's ``Parameters`` (and the Map's ``ItemReader``, ``ItemBatcher`` and ``ResultWriter``) are
resolved as Step Functions resolves reference paths, against the real documents the real
functions answer, on S3 served by moto. A renamed field on either side, a path to a field that is
not there, or an item shape the worker cannot parse fails here, not in a deployed job.
"""

from __future__ import annotations

import gzip
import json
from typing import Any

import boto3
import pytest
from aws_lambda_powertools import Logger

from lambda_image.local.function import DEFAULT_MODEL_DIR
from tests.infra.conftest import SynthesizedEnvironment
from tests.infra.test_batch_stack import definition
from torchlambda import contract
from torchlambda.batch import job
from torchlambda.batch.model import load_batch_model
from torchlambda.batch.worker import BatchWorker
from torchlambda.settings import Settings

BUCKET = "artifacts"
EXECUTION = {"Name": "job-0123", "StartTime": "2026-11-21T10:00:00.000Z"}
# Five rows in two objects, two of them bad: "oops" is no x, "1" is a string.
INPUTS = {
    "batch/in/job/a.csv": b"1,2\n3,4\n5,oops\n",
    "batch/in/job/b.jsonl.gz": gzip.compress(b'{"x": 1.5, "id": 7}\n{"x": "1"}\n'),
}
MAP_RUN = "a1b2c3d4-0000-4000-8000-000000000000"


def lookup(path: str, state: Any, context: dict[str, Any]) -> Any:
    """A reference path (`$.a.b`, or `$$.Execution.Name` for the context object)."""
    document, rest = (context, path[2:]) if path.startswith("$$") else (state, path[1:])
    for name in filter(None, rest.split(".")):
        if not isinstance(document, dict) or name not in document:
            pytest.fail(f"{path} names a field the document does not have: {document}")
        document = document[name]
    return document


def resolve(template: Any, state: Any, context: dict[str, Any]) -> Any:
    """A Parameters template resolved: `"key.$": path` becomes `"key": <value at path>`."""
    if not isinstance(template, dict):
        return template
    resolved = {}
    for key, value in template.items():
        if key.endswith(".$"):
            resolved[key[:-2]] = lookup(value, state, context)
        else:
            resolved[key] = resolve(value, state, context)
    return resolved


def with_result(state: dict[str, Any], result_path: str, result: Any) -> dict[str, Any]:
    assert result_path.startswith("$.") and "." not in result_path[2:], result_path
    return {**state, result_path[2:]: result}


@pytest.fixture
def s3(moto: str) -> Any:
    client = boto3.client("s3", region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    for key, body in INPUTS.items():
        client.put_object(Bucket=BUCKET, Key=key, Body=body)
    return client


def test_the_functions_understand_every_document_the_definition_builds(
    synthesized: dict[str, SynthesizedEnvironment], s3: Any
) -> None:
    states = definition(synthesized["dev"])["States"]
    context = {"Execution": EXECUTION}

    state = resolve(states["Prepare"]["Parameters"], {"input": "batch/in/job/"}, context)
    validate = states["Validate"]
    job_document = job.validate(resolve(validate["Parameters"], state, context), s3, BUCKET)
    state = with_result(state, validate["ResultPath"], job_document)

    score = states["ScoreObjects"]
    reader = resolve(score["ItemReader"]["Parameters"], state, context)
    assert score["ItemReader"]["ReaderConfig"]["InputType"] == "JSONL"
    manifest = s3.get_object(Bucket=BUCKET, Key=reader["Key"])["Body"].read().splitlines()
    items = [json.loads(line) for line in manifest]
    batch_input = resolve(score["ItemBatcher"]["BatchInput"], state, context)
    size = score["ItemBatcher"]["MaxItemsPerBatch"]
    child_inputs = [
        {"Items": items[start : start + size], "BatchInput": batch_input}
        for start in range(0, len(items), size)
    ]
    # The child's one state passes its whole input to the worker (no Parameters of its own).
    (processor,) = score["ItemProcessor"]["States"].values()
    assert "Parameters" not in processor and "InputPath" not in processor

    logger = Logger(service=contract.BATCH_SERVICE_NAME)
    model = load_batch_model(Settings(model_dir=DEFAULT_MODEL_DIR, metrics_disabled=True), logger)
    worker = BatchWorker(model=model, s3=s3, bucket=BUCKET, logger=logger)
    outputs = [worker(child, None) for child in child_inputs]

    # What the result writer writes below its prefix: a manifest naming files of child records.
    prefix = resolve(score["ResultWriter"]["Parameters"], state, context)["Prefix"]
    records = [
        {"Input": json.dumps(child), "Output": json.dumps(output), "Status": "SUCCEEDED"}
        for child, output in zip(child_inputs, outputs, strict=True)
    ]
    results_key = f"{prefix}/{MAP_RUN}/SUCCEEDED_0.json"
    s3.put_object(Bucket=BUCKET, Key=results_key, Body=json.dumps(records))
    s3.put_object(
        Bucket=BUCKET,
        Key=f"{prefix}/{MAP_RUN}/manifest.json",
        Body=json.dumps({"ResultFiles": {"SUCCEEDED": [{"Key": results_key, "Size": 1}]}}),
    )
    state = with_result(state, score["ResultPath"], {"MapRunArn": "arn"})

    summarize = states["Summarize"]
    verdict = job.summarize(
        resolve(summarize["Parameters"], state, context),
        s3,
        BUCKET,
        tolerated_failure_percentage=50,
    )
    state = with_result(state, summarize["ResultPath"], verdict)
    (rule,) = states["Verdict"]["Choices"]
    assert lookup(rule["Variable"], state, context) == rule["StringEquals"]
    assert states[rule["Next"]]["Type"] == "Succeed"

    summary = json.loads(s3.get_object(Bucket=BUCKET, Key=verdict["summary_key"])["Body"].read())
    assert summary["job_id"] == EXECUTION["Name"]
    assert summary["objects"] == {"total": 2, "succeeded": 2, "failed": 0}
    assert summary["rows"]["read"] == 5 and summary["rows"]["rejected"] == 2
    assert summary["model_versions"] == [model.version]
    for report in summary["outputs"]:
        s3.head_object(Bucket=BUCKET, Key=report["output_key"])

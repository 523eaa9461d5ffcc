"""Batch scoring, per environment: the state machine's definition as synthesized inside the stage,
the workers beside (not instead of) the online alias, IAM scoped to the batch/ prefixes, the one
image asset, logs and alarms. The definition is also checked by a real ASL validator."""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from infra.model_version import model_version
from infra.outputs import BatchOutput, Component
from tests.infra.conftest import ROOT, TEST_ACCOUNT, SynthesizedEnvironment
from tests.infra.test_iam_and_logs import as_list
from tests.infra.test_serving_stack import only
from torchlambda import contract
from torchlambda.batch import events

BATCH = Component.BATCH
ASL_VALIDATOR = ROOT / "node_modules" / ".bin" / "asl-validator"
STATES_IN_ORDER = ["Prepare", "Validate", "ScoreObjects", "Summarize", "Verdict"]
PSEUDO = {
    "AWS::Partition": "aws",
    "AWS::AccountId": TEST_ACCOUNT,
    "AWS::URLSuffix": "amazonaws.com",
}


# ---- Reading the templates -----------------------------------------------------------------------


def functions_by_command(env: SynthesizedEnvironment) -> dict[str, tuple[str, dict[str, Any]]]:
    """The batch functions by their image CMD override: handler -> (logical id, resource)."""
    found = {}
    for logical_id, function in env.resources(BATCH, "AWS::Lambda::Function").items():
        (command,) = function["Properties"]["ImageConfig"]["Command"]
        found[command] = (logical_id, function)
    assert set(found) == {contract.BATCH_WORKER_HANDLER, contract.BATCH_JOB_HANDLER}
    return found


def worker(env: SynthesizedEnvironment) -> tuple[str, dict[str, Any]]:
    return functions_by_command(env)[contract.BATCH_WORKER_HANDLER]


def job_function(env: SynthesizedEnvironment) -> tuple[str, dict[str, Any]]:
    return functions_by_command(env)[contract.BATCH_JOB_HANDLER]


def state_machine(env: SynthesizedEnvironment) -> tuple[str, dict[str, Any]]:
    return only(env.resources(BATCH, "AWS::StepFunctions::StateMachine"))


def rendered(value: Any, env: SynthesizedEnvironment) -> str:
    """A template value as text, with plausible values for its tokens: pseudo parameters,
    `arn:...:function:<logical id>` for a function's ARN, `<output name>` for another stack's."""
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(rendered(part, env) for part in parts)
    if "Ref" in value:
        ref = value["Ref"]
        return env.config.region if ref == "AWS::Region" else PSEUDO.get(ref, f"<{ref}>")
    if "Fn::GetStackOutput" in value:  # another stack's value, e.g. the training project
        return f"<{value['Fn::GetStackOutput']['OutputName']}>"
    if "Fn::GetAtt" in value:
        logical_id, attribute = value["Fn::GetAtt"]
        assert attribute == "Arn", value
        return f"arn:aws:lambda:{env.config.region}:{TEST_ACCOUNT}:function:{logical_id}"
    raise AssertionError(f"unexpected token {value}")


def definition(env: SynthesizedEnvironment) -> dict[str, Any]:
    """The state machine's definition as deployed (DefinitionString, tokens substituted)."""
    return dict(json.loads(rendered(state_machine(env)[1]["Properties"]["DefinitionString"], env)))


def bucket_name(env: SynthesizedEnvironment) -> str:
    return f"torchlambda-artifacts-{env.config.name}-{TEST_ACCOUNT}-{env.config.region}"


def statements_of(env: SynthesizedEnvironment, role_id: str) -> list[dict[str, Any]]:
    found = []
    for policy in env.resources(BATCH, "AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            found += policy["Properties"]["PolicyDocument"]["Statement"]
    assert found, role_id
    return found


def s3_grants(env: SynthesizedEnvironment, role_id: str) -> dict[str, set[str]]:
    """S3 action -> the resources (as text) the role is granted it on."""
    grants: dict[str, set[str]] = {}
    for statement in statements_of(env, role_id):
        for action in as_list(statement["Action"]):
            if action.startswith("s3:"):
                resources = {rendered(r, env) for r in as_list(statement["Resource"])}
                grants.setdefault(action, set()).update(resources)
    return grants


def role_of(resource: dict[str, Any]) -> str:
    role = resource["Properties"].get("Role") or resource["Properties"]["RoleArn"]
    return str(role["Fn::GetAtt"][0])


# ---- The state machine's definition --------------------------------------------------------------


def test_states_run_prepare_validate_map_summarize_verdict(
    environment: SynthesizedEnvironment,
) -> None:
    states = definition(environment)["States"]
    chain, name = [], definition(environment)["StartAt"]
    while name in states and "Next" in states[name]:
        chain.append(name)
        name = states[name]["Next"]
    chain.append(name)
    assert chain == STATES_IN_ORDER
    assert states["Prepare"]["Parameters"] == {f"{events.REQUEST}.$": "$", events.MAP_ERROR: {}}
    verdict = states["Verdict"]
    assert verdict["Choices"] == [
        {
            "Variable": f"$.verdict.{events.STATUS}",
            "StringEquals": events.SUCCEEDED,
            "Next": "JobSucceeded",
        }
    ]
    assert states["JobSucceeded"]["Type"] == "Succeed"
    failed = states[verdict["Default"]]
    assert (failed["Type"], failed["ErrorPath"], failed["CausePath"]) == (
        "Fail",
        f"$.verdict.{events.ERROR}",
        f"$.verdict.{events.CAUSE}",
    )


def test_validate_and_summarize_invoke_the_job_function(
    environment: SynthesizedEnvironment,
) -> None:
    states = definition(environment)["States"]
    job_arn = rendered({"Fn::GetAtt": [job_function(environment)[0], "Arn"]}, environment)
    validate, summarize = states["Validate"], states["Summarize"]
    for task in (validate, summarize):
        assert task["Resource"] == job_arn  # payload only: the function's answer is the result
    assert validate["Parameters"] == {
        events.STEP: events.VALIDATE,
        f"{events.REQUEST}.$": f"$.{events.REQUEST}",
        f"{events.JOB_ID}.$": "$$.Execution.Name",
    }
    assert validate["ResultPath"] == f"$.{events.JOB}"
    (catch,) = validate["Catch"]
    assert catch["ErrorEquals"] == ["States.ALL"]
    invalid = states[catch["Next"]]
    assert invalid["Type"] == "Fail"
    assert invalid["ErrorPath"] == f"{catch['ResultPath']}.Error"
    assert invalid["CausePath"] == f"{catch['ResultPath']}.Cause"
    assert summarize["Parameters"] == {
        events.STEP: events.SUMMARIZE,
        f"{events.JOB}.$": f"$.{events.JOB}",
        f"{events.STARTED_AT}.$": "$$.Execution.StartTime",
        f"{events.MAP_ERROR}.$": f"$.{events.MAP_ERROR}",
    }
    assert summarize["ResultPath"] == "$.verdict"


def test_the_map_reads_the_manifest_batches_and_writes_its_results(
    environment: SynthesizedEnvironment,
) -> None:
    """Everything the Distributed Map needs, in the definition synthesized inside the stage: a
    ResultWriter (or ItemBatcher input) that silently drops out is a job that loses its results."""
    batch = environment.config.batch
    score = definition(environment)["States"]["ScoreObjects"]
    assert score["Type"] == "Map"
    assert score["ItemProcessor"]["ProcessorConfig"] == {
        "Mode": "DISTRIBUTED",
        "ExecutionType": "STANDARD",
    }
    assert score["ItemReader"] == {
        "Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": {"InputType": "JSONL"},
        "Parameters": {
            "Bucket": bucket_name(environment),
            "Key.$": f"$.{events.JOB}.{events.MANIFEST_KEY}",
        },
    }
    assert score["ItemBatcher"] == {
        "MaxItemsPerBatch": batch.max_items_per_batch,
        "BatchInput": {f"{events.JOB_ID}.$": f"$.{events.JOB}.{events.JOB_ID}"},
    }
    assert score["ResultWriter"] == {
        "Resource": "arn:aws:states:::s3:putObject",
        "Parameters": {
            "Bucket": bucket_name(environment),
            "Prefix.$": f"$.{events.JOB}.{events.RESULTS_PREFIX}",
        },
    }
    assert score["MaxConcurrency"] == batch.max_concurrency
    assert score["ToleratedFailurePercentage"] == batch.tolerated_failure_percentage
    assert score["ResultPath"] == "$.map"
    (catch,) = score["Catch"]
    assert catch == {
        "ErrorEquals": ["States.ALL"],
        "ResultPath": f"$.{events.MAP_ERROR}",
        "Next": "Summarize",
    }


def test_each_item_batch_goes_to_the_worker_with_jittered_retries(
    environment: SynthesizedEnvironment,
) -> None:
    processor = definition(environment)["States"]["ScoreObjects"]["ItemProcessor"]
    (name,) = processor["States"]
    task = processor["States"][name]
    assert processor["StartAt"] == name
    assert task["Resource"] == rendered(
        {"Fn::GetAtt": [worker(environment)[0], "Arn"]}, environment
    )
    assert "Parameters" not in task  # the item batch itself is the worker's event
    (retry,) = task["Retry"]
    assert "Lambda.TooManyRequestsException" in retry["ErrorEquals"]
    assert "Lambda.ServiceException" in retry["ErrorEquals"]
    assert retry["BackoffRate"] > 1 and retry["JitterStrategy"] == "FULL"


def test_the_map_never_needs_more_workers_than_reserved(
    environment: SynthesizedEnvironment,
) -> None:
    score = definition(environment)["States"]["ScoreObjects"]
    reserved = worker(environment)[1]["Properties"]["ReservedConcurrentExecutions"]
    assert reserved == environment.config.batch.worker_reserved_concurrency
    assert 0 < score["MaxConcurrency"] < reserved


def asl_validator(*paths: Path) -> subprocess.CompletedProcess[str]:
    arguments = [arg for path in paths for arg in ("--json-path", str(path))]
    return subprocess.run(
        [str(ASL_VALIDATOR), *arguments],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


@pytest.mark.slow
@pytest.mark.skipif(not ASL_VALIDATOR.exists(), reason="run `make setup` (npm ci) first")
def test_the_definition_is_valid_amazon_states_language(
    synthesized: dict[str, SynthesizedEnvironment], tmp_path: Path
) -> None:
    paths = []
    for name, env in synthesized.items():
        path = tmp_path / f"{name}.asl.json"
        path.write_text(json.dumps(definition(env)))
        paths.append(path)
    result = asl_validator(*paths)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("is valid") == len(paths)


@pytest.mark.slow
@pytest.mark.skipif(not ASL_VALIDATOR.exists(), reason="run `make setup` (npm ci) first")
def test_the_asl_validator_bites(
    synthesized: dict[str, SynthesizedEnvironment], tmp_path: Path
) -> None:
    """A Map without its ItemProcessor, and a misspelled field, are refused."""
    good = definition(synthesized["dev"])
    no_processor = copy.deepcopy(good)
    del no_processor["States"]["ScoreObjects"]["ItemProcessor"]
    misspelled = copy.deepcopy(good)
    score = misspelled["States"]["ScoreObjects"]
    score["ResultWritter"] = score.pop("ResultWriter")
    for name, broken in (("no-processor", no_processor), ("misspelled", misspelled)):
        path = tmp_path / f"{name}.asl.json"
        path.write_text(json.dumps(broken))
        result = asl_validator(path)
        assert result.returncode != 0, name
        assert "is invalid" in result.stdout + result.stderr, name


# ---- The functions -------------------------------------------------------------------------------


def test_the_stage_builds_one_image_for_every_function(environment: SynthesizedEnvironment) -> None:
    """Serving and Batch list the same image asset (same directory, build args and platform): the
    stage's assembly holds one Docker image, built once; the CMD override is not part of it."""
    stage_dir = environment.template_files[BATCH].parent
    images: dict[str, list[str]] = {}
    for manifest in stage_dir.glob("*.assets.json"):
        for asset_hash in json.loads(manifest.read_text()).get("dockerImages", {}):
            images.setdefault(asset_hash, []).append(manifest.name)
    assert len(images) == 1, images
    for component in (Component.SERVING, BATCH):
        assert list(environment.assets_manifest(component)["dockerImages"]) == list(images)
    inference = only(environment.resources(Component.SERVING, "AWS::Lambda::Function"))[1]
    assert "ImageConfig" not in inference["Properties"]  # the image's own CMD: the handler
    code = {
        json.dumps(fn["Properties"]["Code"])
        for fn in [inference, worker(environment)[1], job_function(environment)[1]]
    }
    assert len(code) == 1


def test_the_worker_runs_the_worker_handler_and_the_job_its_own(
    environment: SynthesizedEnvironment,
) -> None:
    config = environment.config
    props = worker(environment)[1]["Properties"]
    assert props["ImageConfig"] == {"Command": [contract.BATCH_WORKER_HANDLER]}
    assert props["MemorySize"] == config.batch.worker_memory_mb
    assert props["Timeout"] == config.batch.worker_timeout_seconds
    assert props["Architectures"] == [config.function.architecture]
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert props["LoggingConfig"]["LogFormat"] == "JSON"
    variables = props["Environment"]["Variables"]
    threads = str(config.function.torch_threads)
    assert {name: variables[name] for name in variables if name != "ARTIFACTS_BUCKET"} == {
        contract.ENV_MODEL_SOURCE: "image",
        contract.ENV_MODEL_DIR: str(contract.MODEL_DIR_IN_IMAGE),
        contract.ENV_TORCH_THREADS: threads,
        **dict.fromkeys(contract.LIBRARY_THREAD_VARIABLES, threads),
        contract.ENV_SERVICE_NAME: contract.BATCH_SERVICE_NAME,
        contract.ENV_METRIC_NAMESPACE: contract.METRIC_NAMESPACE,
    }
    assert rendered(variables[contract.ENV_ARTIFACTS_BUCKET], environment) == bucket_name(
        environment
    )

    job = job_function(environment)[1]["Properties"]
    assert job["ImageConfig"] == {"Command": [contract.BATCH_JOB_HANDLER]}
    assert job["MemorySize"] == config.batch.job_memory_mb
    assert job["Timeout"] == config.batch.job_timeout_seconds
    assert "ReservedConcurrentExecutions" not in job
    job_variables = job["Environment"]["Variables"]
    assert set(job_variables) == {
        contract.ENV_SERVICE_NAME,
        contract.ENV_ARTIFACTS_BUCKET,
        contract.ENV_TOLERATED_FAILURE_PERCENTAGE,
    }
    assert job_variables[contract.ENV_SERVICE_NAME] == contract.BATCH_SERVICE_NAME
    assert float(job_variables[contract.ENV_TOLERATED_FAILURE_PERCENTAGE]) == (
        config.batch.tolerated_failure_percentage
    )


def test_the_worker_is_not_the_online_alias(environment: SynthesizedEnvironment) -> None:
    """The API keeps invoking the inference alias; the worker is another function, with its own
    reservation and no alias, version or provisioned concurrency to take from the API."""
    serving_function_id, _ = only(environment.resources(Component.SERVING, "AWS::Lambda::Function"))
    alias_id, _ = only(environment.resources(Component.SERVING, "AWS::Lambda::Alias"))
    for integration in environment.resources(
        Component.SERVING, "AWS::ApiGatewayV2::Integration"
    ).values():
        assert integration["Properties"]["IntegrationUri"] == {"Ref": alias_id}
    worker_id, _ = worker(environment)
    assert worker_id != serving_function_id
    for resource_type in ("AWS::Lambda::Alias", "AWS::Lambda::Version"):
        assert environment.resources(BATCH, resource_type) == {}
    for _, function in functions_by_command(environment).values():
        assert "ProvisionedConcurrencyConfig" not in function["Properties"]
    # The state machine invokes the batch functions only, unqualified.
    text = json.dumps(state_machine(environment)[1]["Properties"]["DefinitionString"])
    assert f":{contract.ALIAS_NAME}" not in text and "GetStackOutput" not in text


# ---- IAM -----------------------------------------------------------------------------------------


def test_the_worker_reads_only_batch_in_and_writes_only_batch_out(
    environment: SynthesizedEnvironment,
) -> None:
    arn = f"arn:aws:s3:::{bucket_name(environment)}"
    grants = s3_grants(environment, role_of(worker(environment)[1]))
    assert grants == {
        "s3:GetObject": {f"{arn}/{contract.BATCH_INPUT_PREFIX}*"},
        "s3:PutObject": {f"{arn}/{contract.BATCH_OUTPUT_PREFIX}*"},
        "s3:AbortMultipartUpload": {f"{arn}/{contract.BATCH_OUTPUT_PREFIX}*"},
    }


def test_the_job_function_lists_batch_in_and_reads_and_writes_batch_out(
    environment: SynthesizedEnvironment,
) -> None:
    arn = f"arn:aws:s3:::{bucket_name(environment)}"
    role_id = role_of(job_function(environment)[1])
    assert s3_grants(environment, role_id) == {
        "s3:ListBucket": {arn},
        "s3:GetObject": {f"{arn}/batch/out/*"},
        "s3:PutObject": {f"{arn}/batch/out/*"},
    }
    (listing,) = [
        s for s in statements_of(environment, role_id) if "s3:ListBucket" in as_list(s["Action"])
    ]
    # Its input (validate), its Map's results (summarize): never models/ or data/.
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["batch/in/*", "batch/out/*"]}}


def test_the_state_machine_reads_manifests_writes_map_results_and_invokes_its_functions(
    environment: SynthesizedEnvironment,
) -> None:
    arn = f"arn:aws:s3:::{bucket_name(environment)}"
    role_id = role_of(state_machine(environment)[1])
    results = f"{arn}/batch/out/*/map/*"
    assert s3_grants(environment, role_id) == {
        "s3:GetObject": {f"{arn}/batch/out/*/manifest.jsonl", results},
        "s3:PutObject": {results},
        "s3:ListMultipartUploadParts": {results},
        "s3:AbortMultipartUpload": {results},
    }
    statements = statements_of(environment, role_id)
    (invoke,) = [s for s in statements if "lambda:InvokeFunction" in as_list(s["Action"])]
    assert as_list(invoke["Action"]) == ["lambda:InvokeFunction"]
    assert sorted(r["Fn::GetAtt"][0] for r in invoke["Resource"]) == sorted(
        [worker(environment)[0], job_function(environment)[0]]
    )
    name = environment.config.stack_name(BATCH)
    executions = {
        rendered(resource, environment)
        for s in statements
        if "states:DescribeExecution" in as_list(s["Action"])
        for resource in as_list(s["Resource"])
    }
    assert executions == {
        f"arn:aws:states:{environment.config.region}:{TEST_ACCOUNT}:execution:{name}/ScoreObjects:*"
    }
    # Exactly these policies: nothing the CDK would have granted besides (the whole bucket).
    assert len(statements) == 6


# ---- Logs, alarms, outputs -----------------------------------------------------------------------


def test_logs_keep_the_environments_retention_and_the_state_machine_logs_all(
    environment: SynthesizedEnvironment,
) -> None:
    groups = environment.resources(BATCH, "AWS::Logs::LogGroup")
    assert len(groups) == 3  # worker, job function, state machine
    for group in groups.values():
        assert (
            group["Properties"]["RetentionInDays"]
            == environment.config.retention.log_retention_days
        )
    for _, function in functions_by_command(environment).values():
        assert function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"] in groups
    props = state_machine(environment)[1]["Properties"]
    logging = props["LoggingConfiguration"]
    assert logging["Level"] == "ALL"
    assert logging["IncludeExecutionData"] is False
    (destination,) = logging["Destinations"]
    assert destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0] in groups
    assert props["TracingConfiguration"] == {"Enabled": True}
    assert props["StateMachineType"] == "STANDARD"


def test_alarms_go_to_the_serving_alarm_topic(environment: SynthesizedEnvironment) -> None:
    alarms = environment.resources(BATCH, "AWS::CloudWatch::Alarm")
    by_metric = {
        (a["Properties"]["Namespace"], a["Properties"]["MetricName"]): a for a in alarms.values()
    }
    assert set(by_metric) == {
        ("AWS/States", "ExecutionsFailed"),
        ("AWS/Lambda", "Errors"),
        ("AWS/Lambda", "Throttles"),
    }
    worker_id, _ = worker(environment)
    for (namespace, _), alarm in by_metric.items():
        props = alarm["Properties"]
        assert props["Threshold"] == 1
        assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        if namespace == "AWS/Lambda":
            assert props["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": worker_id}}]
        (action,) = props["AlarmActions"]
        assert props["OKActions"] == [action]
        reference = action["Fn::GetStackOutput"]
        assert reference["StackName"] == environment.config.stack_name(Component.SERVING)
        topic_id, _ = only(environment.resources(Component.SERVING, "AWS::SNS::Topic"))
        outputs = environment.template(Component.SERVING).to_json()["Outputs"]
        assert outputs[reference["OutputName"]]["Value"] == {"Ref": topic_id}
    dependencies = {stack.stack_name for stack in environment.stage.batch.dependencies}
    assert dependencies == {
        environment.config.stack_name(Component.ARTIFACTS),
        environment.config.stack_name(Component.SERVING),
    }


def test_dashboard_shows_jobs_workers_and_rows(environment: SynthesizedEnvironment) -> None:
    _, dashboard = only(environment.resources(BATCH, "AWS::CloudWatch::Dashboard"))
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for signal in (
        "ExecutionsStarted",
        "ExecutionsSucceeded",
        "ExecutionsFailed",
        "Errors",
        "Throttles",
        "Duration",
        "ConcurrentExecutions",
        "rows_read",
        "rows_predicted",
        "rows_rejected",
        "objects_scored",
    ):
        assert signal in body, signal
    assert (
        f'\\"{contract.METRIC_NAMESPACE}\\",\\"rows_read\\",\\"service\\",'
        f'\\"{contract.BATCH_SERVICE_NAME}\\"' in body
    )


def test_outputs_name_the_state_machine_the_model_and_the_worker(
    environment: SynthesizedEnvironment,
) -> None:
    outputs = environment.template(BATCH).to_json()["Outputs"]
    machine_id, _ = state_machine(environment)
    assert outputs[BatchOutput.STATE_MACHINE_ARN]["Value"] == {"Ref": machine_id}
    assert outputs[BatchOutput.MODEL_VERSION]["Value"] == model_version()
    assert outputs[BatchOutput.WORKER_FUNCTION_NAME]["Value"] == {"Ref": worker(environment)[0]}
    assert "dashboards:name=" in json.dumps(outputs[BatchOutput.DASHBOARD_URL]["Value"])

"""The model lifecycle, per environment: the retrain workflow's definition as synthesized inside
the stage (states, retries, catches, the gate's thresholds from config), the gate state run by a
Step Functions interpreter against ``Gate.judge``, the triggers, and least-privilege roles. The
definitions are also checked by a real ASL validator."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core.config import default_user_config

from infra.config import DEV, ENVIRONMENTS
from infra.outputs import Component, LifecycleOutput
from infra.settings.lifecycle import LifecycleSettings
from tests.infra.conftest import SynthesizedEnvironment, synthesize
from tests.infra.test_batch_stack import (
    ASL_VALIDATOR,
    asl_validator,
    bucket_name,
    rendered,
)
from tests.infra.test_iam_and_logs import as_list
from tests.infra.test_serving_stack import only
from torchlambda import contract
from torchlambda.lifecycle import events
from torchlambda.lifecycle.gate import Gate

LIFECYCLE = Component.LIFECYCLE
TASKS_CAUGHT = ["Train", "Evaluate", "Promote", "Announce"]
# An environment with every trigger on and a holdout evaluation set, beside the shipped ones.
SCHEDULED = dataclasses.replace(
    DEV,
    lifecycle=LifecycleSettings(
        schedule="rate(7 days)",
        retrain_on_new_data=True,
        evaluation_set=contract.DEFAULT_HOLDOUT_KEY,
        gate=Gate(max_mse=5.5, min_relative_improvement=0.02),
        training_timeout_minutes=90,
    ),
)


@pytest.fixture(scope="module")
def scheduled(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedEnvironment:
    synthesized = synthesize([SCHEDULED], tmp_path_factory.mktemp("cdk.out-lifecycle"))
    assert synthesized.nag_failure is None, synthesized.nag_failure
    return synthesized.environments["dev"]


@pytest.fixture(params=["shipped", "scheduled"])
def each(
    request: pytest.FixtureRequest,
    environment: SynthesizedEnvironment,
    scheduled: SynthesizedEnvironment,
) -> SynthesizedEnvironment:
    """Each shipped environment, and the one with every lifecycle setting changed."""
    return environment if request.param == "shipped" else scheduled


def definition(env: SynthesizedEnvironment) -> dict[str, Any]:
    _, machine = only(env.resources(LIFECYCLE, "AWS::StepFunctions::StateMachine"))
    return dict(json.loads(rendered(machine["Properties"]["DefinitionString"], env)))


def functions_by_command(env: SynthesizedEnvironment) -> dict[str, tuple[str, dict[str, Any]]]:
    found = {}
    for logical_id, function in env.resources(LIFECYCLE, "AWS::Lambda::Function").items():
        (command,) = function["Properties"]["ImageConfig"]["Command"]
        found[command] = (logical_id, function)
    assert set(found) == {contract.EVALUATE_HANDLER, contract.PROMOTE_HANDLER}
    return found


def statements_of_role(env: SynthesizedEnvironment, role_id: str) -> list[dict[str, Any]]:
    found = []
    for policy in env.resources(LIFECYCLE, "AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            found += policy["Properties"]["PolicyDocument"]["Statement"]
    assert found, role_id
    return found


def role_of(resource: dict[str, Any]) -> str:
    role = resource["Properties"].get("Role") or resource["Properties"]["RoleArn"]
    return str(role["Fn::GetAtt"][0])


def grants(env: SynthesizedEnvironment, role_id: str) -> list[tuple[str, str, Any]]:
    """(action, resource as text, condition) for every statement of the role."""
    return [
        (action, rendered(resource, env), statement.get("Condition"))
        for statement in statements_of_role(env, role_id)
        if statement["Effect"] == "Allow"
        for action in as_list(statement["Action"])
        for resource in as_list(statement["Resource"])
    ]


# ---- The definition ------------------------------------------------------------------------------


def test_the_workflow_trains_evaluates_gates_then_promotes_or_rejects(
    each: SynthesizedEnvironment,
) -> None:
    states = definition(each)["States"]
    assert definition(each)["StartAt"] == "Train"
    assert states["Train"]["Next"] == "Evaluate"
    assert states["Evaluate"]["Next"] == "Gate"
    assert states["Promote"]["Next"] == "Announce"
    assert states["Announce"]["Next"] == "RecordPromotion"
    assert states["RecordPromotion"]["Next"] == "NotifyPromoted"
    assert states["NotifyPromoted"]["Next"] == "Promoted"
    for rejection in ("RejectAboveMax", "RejectNoImprovement"):
        assert states[rejection]["Next"] == "NotifyRejected"
        assert states[rejection]["Parameters"][f"{events.STATUS}"] == events.REJECTED
        assert states[rejection]["ResultPath"] == f"$.{events.VERDICT}"
    assert states["NotifyRejected"]["Next"] == "Rejected"
    assert states["NotifyFailure"]["Next"] == "RetrainFailed"
    assert {name for name, state in states.items() if state["Type"] == "Succeed"} == {
        "Promoted",
        "Rejected",
    }
    assert states["RetrainFailed"]["Type"] == "Fail"


def test_training_runs_the_project_to_completion_with_retries_and_a_timeout(
    each: SynthesizedEnvironment,
) -> None:
    train = definition(each)["States"]["Train"]
    assert train["Resource"] == "arn:aws:states:::codebuild:startBuild.sync"
    assert "TrainingProject" in train["Parameters"]["ProjectName"]  # the Training stack's
    assert train["TimeoutSeconds"] == each.config.lifecycle.training_timeout_minutes * 60
    assert train["ResultSelector"] == {f"{events.BUILD_ID}.$": "$.Build.Id"}
    assert train["ResultPath"] == f"$.{events.TRAINING}"
    (retry,) = train["Retry"]
    assert "CodeBuild.AccountLimitExceededException" in retry["ErrorEquals"]
    assert "States.TaskFailed" not in retry["ErrorEquals"]  # a failed build is not transient
    assert retry["JitterStrategy"] == "FULL"


def test_every_task_failure_is_caught_and_notified(each: SynthesizedEnvironment) -> None:
    states = definition(each)["States"]
    for name in TASKS_CAUGHT:
        (catch,) = states[name]["Catch"]
        assert catch == {
            "ErrorEquals": ["States.ALL"],
            "ResultPath": f"$.{events.ERROR}",
            "Next": "NotifyFailure",
        }, name
    notify = states["NotifyFailure"]
    assert notify["Resource"] == "arn:aws:states:::sns:publish"
    assert f"$.{events.ERROR}.Cause" in notify["Parameters"]["Message.$"]
    failed = states["RetrainFailed"]
    assert failed["CausePath"] == f"$.{events.ERROR}.Cause"


def test_the_functions_get_their_payloads_from_the_event_names(
    each: SynthesizedEnvironment,
) -> None:
    states = definition(each)["States"]
    commands = functions_by_command(each)
    for state, handler, payload in (
        ("Evaluate", contract.EVALUATE_HANDLER, {f"{events.BUILD_ID}.$": "$.training.build_id"}),
        (
            "Promote",
            contract.PROMOTE_HANDLER,
            {
                f"{events.EVALUATION}.$": f"$.{events.EVALUATION}",
                f"{events.PROMOTED_BY}.$": "$$.Execution.Id",
            },
        ),
    ):
        task = states[state]
        assert task["Resource"].endswith(f":function:{commands[handler][0]}"), state
        assert task["Parameters"] == payload, state
        assert "Lambda.TooManyRequestsException" in task["Retry"][0]["ErrorEquals"]
    assert states["Evaluate"]["ResultPath"] == f"$.{events.EVALUATION}"
    assert states["Promote"]["ResultPath"] == f"$.{events.CHAMPION}"


def test_a_promotion_is_announced_on_the_default_bus(each: SynthesizedEnvironment) -> None:
    (entry,) = definition(each)["States"]["Announce"]["Parameters"]["Entries"]
    assert entry["Source"] == contract.LIFECYCLE_EVENT_SOURCE
    assert entry["DetailType"] == contract.CHAMPION_PROMOTED
    assert "EventBusName" not in entry
    assert entry["Detail"] == {
        **{f"{name}.$": f"$.{events.CHAMPION}.{name}" for name in events.ANNOUNCED_CHAMPION_FIELDS},
        f"{events.SUMMARY}.$": f"$.{events.EVALUATION}.{events.SUMMARY}",
    }


def test_the_gate_takes_its_thresholds_from_config(each: SynthesizedEnvironment) -> None:
    gate = each.config.lifecycle.gate
    choices = definition(each)["States"]["Gate"]["Choices"]
    above, first, no_improvement = choices
    assert above == {
        "Variable": f"$.{events.EVALUATION}.{events.CANDIDATE}.{events.MSE}",
        "NumericGreaterThan": gate.max_mse,
        "Next": "RejectAboveMax",
    }
    assert first == {
        "Variable": f"$.{events.EVALUATION}.{events.CHAMPION}",
        "IsNull": True,
        "Next": "Promote",
    }
    assert no_improvement == {
        "Variable": f"$.{events.EVALUATION}.{events.IMPROVEMENT}",
        "NumericLessThan": gate.min_relative_improvement,
        "Next": "RejectNoImprovement",
    }
    assert definition(each)["States"]["Gate"]["Default"] == "Promote"


def evaluation(candidate: float, champion: float | None) -> dict[str, Any]:
    from torchlambda.lifecycle.gate import relative_improvement

    return {
        events.CANDIDATE: {events.MSE: candidate},
        events.CHAMPION: None if champion is None else {events.MSE: champion},
        events.IMPROVEMENT: None if champion is None else relative_improvement(champion, candidate),
    }


GATE_CASES = [
    evaluation(candidate, champion)
    for candidate, champion in (
        (4.0, None),  # first model, within the gate
        (7.0, None),  # first model, above it
        (5.5, None),  # exactly at the gate
        (4.0, 5.0),  # clearly better
        (4.99, 5.0),  # better by 0.2%: below a 1-2% minimum
        (4.9, 5.0),  # better by exactly 2%
        (5.2, 5.0),  # worse
        (6.5, 9.0),  # much better, but above the gate
        (0.0, 0.0),  # a perfect model again: no improvement
    )
]


@pytest.mark.slow
def test_the_gate_state_decides_as_gate_judge_does(scheduled: SynthesizedEnvironment) -> None:
    """The synthesized Choice, run by moto's Step Functions interpreter (in process), against
    `Gate.judge` on the same evaluations: the one gate, defined once, decides the same way."""
    gate_state = definition(scheduled)["States"]["Gate"]
    outcomes = {"RejectAboveMax": False, "RejectNoImprovement": False, "Promote": True}
    machine = {
        "StartAt": "Gate",
        "States": {
            "Gate": gate_state,
            **{name: {"Type": "Pass", "Result": {"took": name}, "End": True} for name in outcomes},
        },
    }
    gate = scheduled.config.lifecycle.gate
    with mock_aws():
        default_user_config["stepfunctions"] = {"execute_state_machine": True}
        try:
            client = boto3.client("stepfunctions", region_name="us-east-1")
            arn = client.create_state_machine(
                name="gate",
                definition=json.dumps(machine),
                roleArn="arn:aws:iam::123456789012:role/gate",
            )["stateMachineArn"]
            for index, case in enumerate(GATE_CASES):
                execution = client.start_execution(
                    stateMachineArn=arn,
                    name=f"case-{index}",
                    input=json.dumps({"evaluation": case}),
                )["executionArn"]
                deadline = time.monotonic() + 10
                while (described := client.describe_execution(executionArn=execution))[
                    "status"
                ] == "RUNNING" and time.monotonic() < deadline:
                    time.sleep(0.05)
                assert described["status"] == "SUCCEEDED", described
                took = json.loads(described["output"])["took"]
                assert outcomes[took] == gate.judge(case).promote, (case, took)
        finally:
            default_user_config["stepfunctions"] = {"execute_state_machine": False}


# ---- Triggers ------------------------------------------------------------------------------------


def rules(env: SynthesizedEnvironment) -> dict[str, dict[str, Any]]:
    return env.resources(LIFECYCLE, "AWS::Events::Rule")


def test_each_trigger_exists_only_where_config_turns_it_on(each: SynthesizedEnvironment) -> None:
    lifecycle = each.config.lifecycle
    found = rules(each).values()
    schedules = [rule for rule in found if "ScheduleExpression" in rule["Properties"]]
    data = [rule for rule in found if "EventPattern" in rule["Properties"]]
    assert [rule["Properties"]["ScheduleExpression"] for rule in schedules] == (
        [lifecycle.schedule] if lifecycle.schedule else []
    )
    assert len(data) == int(lifecycle.retrain_on_new_data)
    bucket = each.resources(Component.ARTIFACTS, "AWS::S3::Bucket")
    sends_events = [
        resource
        for resource in bucket.values()
        if resource["Properties"]
        .get("NotificationConfiguration", {})
        .get("EventBridgeConfiguration", {})
        .get("EventBridgeEnabled")
    ]
    assert len(sends_events) == int(lifecycle.retrain_on_new_data)


def test_new_data_under_data_starts_a_retrain_naming_the_object(
    scheduled: SynthesizedEnvironment,
) -> None:
    (rule,) = [r for r in rules(scheduled).values() if "EventPattern" in r["Properties"]]
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["source"] == ["aws.s3"]
    assert pattern["detail-type"] == ["Object Created"]
    (name,) = pattern["detail"]["bucket"]["name"]
    assert rendered(name, scheduled) == bucket_name(scheduled)
    assert pattern["detail"]["object"]["key"] == [{"prefix": contract.DATA_PREFIX}]
    (target,) = rule["Properties"]["Targets"]
    machine_id, _ = only(scheduled.resources(LIFECYCLE, "AWS::StepFunctions::StateMachine"))
    assert target["Arn"] == {"Ref": machine_id}
    transformer = target["InputTransformer"]
    assert transformer["InputPathsMap"] == {"detail-object-key": "$.detail.object.key"}
    # EventBridge puts the key in as a JSON string where the placeholder stands.
    template = transformer["InputTemplate"].replace("<detail-object-key>", '"data/x.csv"')
    request = json.loads(template)
    assert request == {events.TRIGGER: events.DATA, events.KEY: "data/x.csv"}


def test_a_trigger_that_cannot_start_a_retrain_raises_an_alarm(
    scheduled: SynthesizedEnvironment,
) -> None:
    alarms = scheduled.resources(LIFECYCLE, "AWS::CloudWatch::Alarm").values()
    failed = [a for a in alarms if a["Properties"]["MetricName"] == "FailedInvocations"]
    assert len(failed) == len(rules(scheduled)) == 2


# ---- Roles ---------------------------------------------------------------------------------------


def test_the_evaluator_reads_this_environments_models_and_creates_only_evaluations(
    each: SynthesizedEnvironment,
) -> None:
    _, evaluator = functions_by_command(each)[contract.EVALUATE_HANDLER]
    env = each.config.name
    bucket = f"arn:aws:s3:::{bucket_name(each)}"
    found = grants(each, role_of(evaluator))
    reads = {resource for action, resource, _ in found if action == "s3:GetObject"}
    holdout = (
        {f"{bucket}/{each.config.lifecycle.evaluation_set}"}
        if each.config.lifecycle.evaluates_on_holdout
        else set()
    )
    assert reads == {f"{bucket}/models/{env}/*"} | holdout
    writes = [
        (resource, condition) for action, resource, condition in found if action == "s3:PutObject"
    ]
    assert writes == [
        (
            f"{bucket}/{contract.evaluation_key(env, '*')}",
            {"StringEquals": {"s3:if-none-match": "*"}},
        )
    ]
    assert not [action for action, _, _ in found if action.startswith("s3:Delete")]
    variables = evaluator["Properties"]["Environment"]["Variables"]
    assert variables[contract.ENV_EVALUATION_SET] == each.config.lifecycle.evaluation_set
    assert variables[contract.ENV_ENVIRONMENT_NAME] == env
    assert evaluator["Properties"]["MemorySize"] == each.config.lifecycle.evaluator_memory_mb


def test_the_promoter_writes_only_the_champion_pointer_and_only_conditionally(
    each: SynthesizedEnvironment,
) -> None:
    _, promoter = functions_by_command(each)[contract.PROMOTE_HANDLER]
    bucket = f"arn:aws:s3:::{bucket_name(each)}"
    writes = [
        (resource, condition)
        for action, resource, condition in grants(each, role_of(promoter))
        if action == "s3:PutObject"
    ]
    champion = f"{bucket}/{contract.champion_key(each.config.name)}"
    assert writes == [
        (champion, {"StringEquals": {"s3:if-none-match": "*"}}),
        (champion, {"Null": {"s3:if-match": "false"}}),
    ]


def test_training_may_never_name_a_champion(each: SynthesizedEnvironment) -> None:
    denied = [
        rendered(statement["Resource"], each)
        for policy in each.resources(Component.TRAINING, "AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Effect"] == "Deny"
    ]
    assert denied == [f"arn:aws:s3:::{bucket_name(each)}/{contract.champion_key(each.config.name)}"]


def test_the_state_machine_invokes_exactly_its_two_functions_unqualified(
    each: SynthesizedEnvironment,
) -> None:
    _, machine = only(each.resources(LIFECYCLE, "AWS::StepFunctions::StateMachine"))
    found = grants(each, role_of(machine))
    invoked = {resource for action, resource, _ in found if action == "lambda:InvokeFunction"}
    assert invoked == {
        f"arn:aws:lambda:{each.config.region}:123456789012:function:{logical_id}"
        for logical_id, _ in functions_by_command(each).values()
    }
    actions = {action for action, _, _ in found}
    assert {"codebuild:StartBuild", "events:PutEvents", "sns:Publish"} <= actions
    assert not [a for a in actions if a.startswith("s3:") or a == "iam:PassRole"]


def test_the_stack_publishes_the_state_machine_for_make_retrain(
    each: SynthesizedEnvironment,
) -> None:
    outputs = each.template(LIFECYCLE).to_json()["Outputs"]
    machine_id, _ = only(each.resources(LIFECYCLE, "AWS::StepFunctions::StateMachine"))
    assert outputs[LifecycleOutput.STATE_MACHINE_ARN]["Value"] == {"Ref": machine_id}


@pytest.mark.slow
@pytest.mark.skipif(not ASL_VALIDATOR.exists(), reason="run `make setup` (npm ci) first")
def test_the_definitions_are_valid_amazon_states_language(
    synthesized: dict[str, SynthesizedEnvironment],
    scheduled: SynthesizedEnvironment,
    tmp_path: Path,
) -> None:
    paths = []
    for name, env in [*synthesized.items(), ("scheduled", scheduled)]:
        path = tmp_path / f"{name}.asl.json"
        path.write_text(json.dumps(definition(env)))
        paths.append(path)
    result = asl_validator(*paths)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("is valid") == len(paths) == len(ENVIRONMENTS) + 1

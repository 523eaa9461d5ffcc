"""Cross-cutting rules over every stack of every environment: IAM scope and log retention."""

from __future__ import annotations

from typing import Any

from tests.infra.conftest import SynthesizedEnvironment

# Actions AWS offers no resource-level permission for; `Resource: *` is the only option.
RESOURCELESS_ACTIONS = {
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "ecr:GetAuthorizationToken",
    # A state machine's execution log: CloudWatch Logs' log delivery API.
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def identity_statements(env: SynthesizedEnvironment) -> list[dict[str, Any]]:
    found = []
    for component in env.templates:
        for policy in env.resources(component, "AWS::IAM::Policy").values():
            found += policy["Properties"]["PolicyDocument"]["Statement"]
        for role in env.resources(component, "AWS::IAM::Role").values():
            for inline in role["Properties"].get("Policies", []):
                found += inline["PolicyDocument"]["Statement"]
    return found


def test_no_wildcard_actions(environment: SynthesizedEnvironment) -> None:
    for statement in identity_statements(environment):
        for action in as_list(statement["Action"]):
            assert action != "*" and not action.endswith(":*"), statement


def test_resource_star_only_where_aws_offers_nothing_narrower(
    environment: SynthesizedEnvironment,
) -> None:
    for statement in identity_statements(environment):
        if "*" in as_list(statement.get("Resource", [])):
            assert set(as_list(statement["Action"])) <= RESOURCELESS_ACTIONS, statement


def test_no_managed_policies_on_our_own_roles(environment: SynthesizedEnvironment) -> None:
    for component in environment.templates:
        for logical_id, role in environment.resources(component, "AWS::IAM::Role").items():
            managed = role["Properties"].get("ManagedPolicyArns", [])
            if "DeploymentGroupServiceRole" in logical_id:
                continue  # CodeDeploy's AWS-maintained, Lambda-limited policy (acknowledged)
            if "AutoDeleteObjects" in logical_id:
                continue  # the CDK's own bucket-emptying provider in non-retained envs
            assert managed == [], logical_id


def test_every_log_group_has_the_configured_retention(environment: SynthesizedEnvironment) -> None:
    groups = {
        logical_id: group
        for component in environment.templates
        for logical_id, group in environment.resources(component, "AWS::Logs::LogGroup").items()
    }
    # function, API access logs, training, the batch worker, job function and state machine, the
    # evaluator, promoter and retrain state machine; where buckets are emptied on delete, that
    # function too
    assert len(groups) == (9 if environment.config.retention.retain_stateful_resources else 10)
    for logical_id, group in groups.items():
        assert (
            group["Properties"]["RetentionInDays"]
            == environment.config.retention.log_retention_days
        ), logical_id
        expected = "Retain" if environment.config.retention.retain_stateful_resources else "Delete"
        assert group["DeletionPolicy"] == expected


def test_every_lambda_function_logs_to_a_group_with_retention(
    environment: SynthesizedEnvironment,
) -> None:
    """Ours and the CDK's own (the bucket-emptying provider): none may fall back to the implicit
    /aws/lambda/<name> group, which Lambda creates on first run and keeps forever."""
    functions = 0
    for component in environment.templates:
        groups = environment.resources(component, "AWS::Logs::LogGroup")
        for logical_id, function in environment.resources(
            component, "AWS::Lambda::Function"
        ).items():
            functions += 1
            target = function["Properties"].get("LoggingConfig", {}).get("LogGroup")
            assert isinstance(target, dict) and set(target) == {"Ref"}, (logical_id, target)
            group = groups[target["Ref"]]
            assert (
                group["Properties"]["RetentionInDays"]
                == environment.config.retention.log_retention_days
            )
    # inference, batch worker, batch job, evaluator, promoter; where buckets are emptied on
    # delete, that function too
    assert functions == (5 if environment.config.retention.retain_stateful_resources else 6)

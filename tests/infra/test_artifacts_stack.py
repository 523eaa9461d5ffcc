"""The stateful stack: bucket properties and retention per environment."""

from __future__ import annotations

from aws_cdk.assertions import Match

from tests.infra.conftest import SynthesizedEnvironment


def test_bucket_is_versioned_encrypted_private_and_logged(
    environment: SynthesizedEnvironment,
) -> None:
    environment.template("Artifacts").has_resource_properties(
        "AWS::S3::Bucket",
        {
            "VersioningConfiguration": {"Status": "Enabled"},
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                ]
            },
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "LoggingConfiguration": {
                "DestinationBucketName": {"Ref": "ModelArtifactsAccessLogs261D498C"},
                "LogFilePrefix": "artifacts/",
            },
            "LifecycleConfiguration": {
                "Rules": [
                    Match.object_like(
                        {
                            "NoncurrentVersionExpiration": {
                                "NoncurrentDays": 90,
                                "NewerNoncurrentVersions": 10,
                            },
                            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
                            "Status": "Enabled",
                        }
                    )
                ]
            },
        },
    )


def test_access_log_bucket_is_versioned_and_expires_old_versions(
    environment: SynthesizedEnvironment,
) -> None:
    """A deleted or overwritten log stays recoverable, and no version outlives its expiry."""
    logs = environment.template("Artifacts").to_json()["Resources"][
        "ModelArtifactsAccessLogs261D498C"
    ]["Properties"]
    assert logs["VersioningConfiguration"] == {"Status": "Enabled"}
    days = max(environment.config.retention.log_retention_days, 30)
    assert logs["LifecycleConfiguration"]["Rules"] == [
        {
            "ExpirationInDays": days,
            "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
            "Status": "Enabled",
        },
        {"ExpiredObjectDeleteMarker": True, "Status": "Enabled"},
    ]


def test_every_bucket_denies_plain_http(environment: SynthesizedEnvironment) -> None:
    policies = environment.template("Artifacts").find_resources("AWS::S3::BucketPolicy")
    assert len(policies) == 2
    for policy in policies.values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for s in statements
        )


def test_retention_follows_the_environment(environment: SynthesizedEnvironment) -> None:
    template = environment.template("Artifacts")
    buckets = template.find_resources("AWS::S3::Bucket")
    auto_delete = template.find_resources("Custom::S3AutoDeleteObjects")
    if environment.config.retention.retain_stateful_resources:
        assert {b["DeletionPolicy"] for b in buckets.values()} == {"Retain"}
        assert auto_delete == {}
    else:
        assert {b["DeletionPolicy"] for b in buckets.values()} == {"Delete"}
        assert len(auto_delete) == 2


def test_prod_stacks_have_termination_protection(environment: SynthesizedEnvironment) -> None:
    for stack in environment.stage.stacks.values():
        assert stack.termination_protection == (environment.config.name == "prod")


def test_bucket_name_is_an_output(environment: SynthesizedEnvironment) -> None:
    environment.template("Artifacts").has_output(
        "ArtifactsBucketName", {"Value": {"Ref": "ModelArtifactsBucket2C3831B7"}}
    )

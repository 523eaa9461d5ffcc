"""How a function that loads the model reaches it, for each model source (docs/model-sources.md).

One object per function: the environment variables the runtime's loader reads, the function's
own properties (/tmp size; for EFS the VPC, its security group and the read-only mount), and the
grant of exactly what it reads (the build's two objects in S3, or a mount through the access
point). The inference function and the batch worker both take one, so they load alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_cdk import Acknowledgment, Size, Validations
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_efs as efs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3

from infra.settings.function import FunctionSettings
from infra.settings.model_source import EfsSource, ImageSource, ModelSource, S3Source
from torchlambda import contract

# Read-only: the functions that serve may mount the file system, never write to it.
MOUNT_ACTIONS = ["elasticfilesystem:ClientMount"]
WRITE_ACTIONS = ["elasticfilesystem:ClientWrite"]
VPC_ACCESS_POLICY = "service-role/AWSLambdaVPCAccessExecutionRole"


@dataclass(frozen=True)
class ModelMount:
    """The model store's file system as its clients attach to it (built by ModelStore)."""

    vpc: ec2.IVpc
    subnets: ec2.SubnetSelection
    client_security_group: ec2.ISecurityGroup
    file_system: efs.IFileSystem
    access_point: efs.IAccessPoint

    def statement(self, actions: list[str]) -> iam.PolicyStatement:
        """`actions` on the file system, through the model store's access point only."""
        return iam.PolicyStatement(
            actions=actions,
            resources=[self.file_system.file_system_arn],
            conditions={
                "StringEquals": {
                    "elasticfilesystem:AccessPointArn": self.access_point.access_point_arn
                }
            },
        )

    def function_props(self, role: iam.Role, actions: list[str]) -> dict[str, Any]:
        """A function's VPC placement and its mount at EFS_MOUNT_PATH, granted `actions`; its
        `role` gets what Lambda needs to attach it to the VPC."""
        # A role the CDK does not create gets no managed policy by itself: AWS's own policy for
        # functions in a VPC, the network-interface actions Lambda attaches the function with.
        role.add_managed_policy(iam.ManagedPolicy.from_aws_managed_policy_name(VPC_ACCESS_POLICY))
        Validations.of(role).acknowledge(
            Acknowledgment(
                id=f"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/{VPC_ACCESS_POLICY}]",
                reason="AWS's managed policy for a function in a VPC: only the EC2 "
                "network-interface actions Lambda uses to attach it, kept current by AWS.",
            )
        )
        return {
            "vpc": self.vpc,
            "vpc_subnets": self.subnets,
            "security_groups": [self.client_security_group],
            "filesystem": lambda_.FileSystem(
                arn=self.access_point.access_point_arn,
                local_mount_path=str(contract.EFS_MOUNT_PATH),
                # Lambda refuses a mount before every mount target is available.
                dependency=[self.file_system.mount_targets_available],
                # The model store's security groups already allow NFS from the clients'.
                connections=None,
                policies=[self.statement(actions)],
            ),
        }


class ModelBinding:
    def __init__(
        self,
        *,
        environment_name: str,
        function: FunctionSettings,
        source: ModelSource,
        bucket: s3.IBucket | None = None,
        mount: ModelMount | None = None,
    ) -> None:
        if isinstance(source, S3Source) and bucket is None:
            raise ValueError("model_source s3 needs the artifacts bucket")
        if isinstance(source, EfsSource) and mount is None:
            raise ValueError("model_source efs needs the model store's mount")
        self._environment_name = environment_name
        self._function = function
        self.source = source
        self._bucket = bucket
        self._mount = mount

    @property
    def model_dir(self) -> str:
        """Where the function loads the model from (MODEL_DIR)."""
        source = self.source
        if isinstance(source, S3Source):
            return str(contract.MODEL_DOWNLOAD_DIR)
        if isinstance(source, EfsSource):
            return str(contract.efs_model_dir(source.build_id))
        return str(contract.MODEL_DIR_IN_IMAGE)

    def environment(self) -> dict[str, str]:
        """What the loader reads: the source, where the model is, its pinned sha256, threads."""
        threads = str(self._function.torch_threads)
        variables = {
            contract.ENV_MODEL_SOURCE: self.source.kind,
            contract.ENV_MODEL_DIR: self.model_dir,
            contract.ENV_TORCH_THREADS: threads,
            **dict.fromkeys(contract.LIBRARY_THREAD_VARIABLES, threads),
        }
        source = self.source
        if isinstance(source, ImageSource):
            return variables
        variables[contract.ENV_MODEL_SHA256] = source.sha256
        if isinstance(source, S3Source):
            assert self._bucket is not None  # checked in __init__
            variables[contract.ENV_MODEL_BUCKET] = self._bucket.bucket_name
            variables[contract.ENV_MODEL_PREFIX] = source.prefix(self._environment_name)
        return variables

    def function_props(self, role: iam.Role) -> dict[str, Any]:
        """DockerImageFunction properties: /tmp for a download, the VPC and mount for EFS."""
        props: dict[str, Any] = {
            "ephemeral_storage_size": Size.mebibytes(self._function.ephemeral_storage_mb)
        }
        if self._mount is not None and isinstance(self.source, EfsSource):
            props.update(self._mount.function_props(role, MOUNT_ACTIONS))
        return props

    def grant_read(self, role: iam.IRole) -> None:
        """Read exactly the pinned build's objects (s3); the mount's grant comes with its props."""
        source = self.source
        if isinstance(source, S3Source):
            assert self._bucket is not None
            prefix = source.prefix(self._environment_name)
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["s3:GetObject"],
                    resources=[
                        self._bucket.arn_for_objects(prefix + name)
                        for name in (contract.WEIGHTS_FILE, contract.CARD_FILE)
                    ],
                )
            )
